"""EinsumDense, MultiHeadAttention, GroupQueryAttention: Keras's outputs with Keras's weights,
masks from Embedding(mask_zero=True), config and save/load round trips, a gradient for every
weight, float64 gradient checks."""
import numpy as np
import pytest

import shendu
from shendu import config, layers
from shendu.layers.layer import Layer
from shendu.testing import run_layer_test
from shendu.testing.layer_test import layer_gradcheck
from shendu.testing.tolerances import assert_allclose_normwise

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 5, 8)).astype("float32")
V = RNG.standard_normal((2, 7, 6)).astype("float32")
ATT_MASK = RNG.random((2, 5, 7)) > 0.3

EINSUM_CASES = [
    ("ab,bc->ac", 4, "c", (2, 3)),
    ("abc,cde->abde", (None, 5, 6), "de", (2, 3, 4)),
    ("...b,bc->...c", 7, "c", (2, 3, 5)),
    ("abcd,cde->abe", (None, 8), "e", (2, 3, 4, 5)),
    ("ab...,bc->ac...", 4, "c", (2, 3, 5)),
    ("abc,cd->abd", (None, 6), None, (2, 3, 4)),
]


def _keras():
    return pytest.importorskip("keras", reason="the Keras comparison needs keras installed")


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EINSUM_CASES)
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, shape):
    keras = _keras()
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    ref = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes,
                                   bias_initializer="normal")
    want = np.asarray(ref(x))
    layer = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    layer(x)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in ref.get_weights()]
    assert [w.path.split("/")[-1] for w in layer.weights] == [w.name for w in ref.weights]
    layer.set_weights(ref.get_weights())
    assert_allclose_normwise(layer(x).numpy(), want, rtol=1e-6)


def test_einsum_dense_layer_check():
    run_layer_test(layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (None, 2, 3),
                                        "bias_axes": "de", "activation": "tanh"},
                   input_shape=(2, 3, 4), expected_output_shape=(2, 3, 2, 3),
                   expected_num_trainable_weights=2, gradcheck_shape=(1, 2, 4))


def test_einsum_dense_errors():
    with pytest.raises(ValueError, match="invalid einsum equation"):
        layers.EinsumDense("ab->b", 3)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="bias axes"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z")(np.ones((2, 3), "float32"))


MHA_CASES = [
    ({}, {}),
    (dict(value_dim=3, output_shape=5), dict(return_attention_scores=True)),
    ({}, dict(use_causal_mask=True)),
    (dict(dropout=0.1), dict(return_attention_scores=True)),
    ({}, dict(attention_mask=ATT_MASK)),
    (dict(value_dim=2), dict(key=RNG.standard_normal((2, 7, 3)).astype("float32"),
                             return_attention_scores=True)),
    (dict(use_gate=True, use_bias=False),
     dict(use_causal_mask=True, attention_mask=ATT_MASK[:, :, :5])),
]


def _compare(ref, layer, q, v, call_kw):
    want = ref(q, v, **call_kw)
    layer(q, v, **call_kw)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in ref.get_weights()]
    assert [w.path for w in layer.weights] == [w.path.split("/", 1)[1] for w in ref.weights]
    layer.set_weights(ref.get_weights())
    got = layer(q, v, **call_kw)
    if not isinstance(want, tuple):
        want, got = (want,), (got,)
    for a, b in zip(got, want):
        assert_allclose_normwise(a.numpy(), np.asarray(b), rtol=1e-5)
    assert set(layer.get_config()) == set(ref.get_config())


@pytest.mark.parametrize("flash", [None, False])
@pytest.mark.parametrize("init_kw,call_kw", MHA_CASES)
def test_multi_head_attention_matches_keras(init_kw, call_kw, flash):
    keras = _keras()
    v = Q if call_kw.get("use_causal_mask") else V
    ref = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, **init_kw)
    try:
        if flash is False:
            config.disable_flash_attention()
        _compare(ref, layers.MultiHeadAttention(num_heads=3, key_dim=4, **init_kw), Q, v, call_kw)
    finally:
        config.enable_flash_attention()


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
@pytest.mark.parametrize("call_kw", [{}, dict(return_attention_scores=True),
                                     dict(use_causal_mask=True)])
def test_group_query_attention_matches_keras(kv_heads, call_kw):
    keras = _keras()
    v = Q if call_kw.get("use_causal_mask") else V
    kw = dict(head_dim=4, num_query_heads=4, num_key_value_heads=kv_heads)
    _compare(keras.layers.GroupQueryAttention(**kw), layers.GroupQueryAttention(**kw), Q, v,
             call_kw)


def test_masks_from_embedding_match_keras():
    keras = _keras()
    ids_q = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]])
    ids_v = np.array([[5, 9, 0, 0, 0, 0, 0], [2, 6, 5, 3, 5, 0, 0]])
    k_emb = keras.layers.Embedding(10, 8, mask_zero=True)
    k_mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    want = k_mha(k_emb(ids_q), k_emb(ids_v))
    emb = layers.Embedding(10, 8, mask_zero=True)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    emb(ids_q)
    emb.set_weights(k_emb.get_weights())
    xq, xv = emb(ids_q), emb(ids_v)
    mha(xq, xv)
    mha.set_weights(k_mha.get_weights())
    out = mha(xq, xv)
    assert_allclose_normwise(out.numpy(), np.asarray(want), rtol=1e-5)
    np.testing.assert_array_equal(out._keras_mask, ids_q != 0)  # the query's mask goes on


class _SelfAttention(Layer):
    """x -> attention(x, x): lets the one-input layer checks drive an attention layer."""

    def __init__(self, make, call_kw=None, **kwargs):
        super().__init__(**kwargs)
        self.inner = make(self.dtype)
        self.call_kw = call_kw or {}

    def call(self, x, training=None):
        return self.inner(x, x, training=training, **self.call_kw)


@pytest.mark.parametrize("flash", [True, False])
@pytest.mark.parametrize("call_kw", [{}, dict(use_causal_mask=True)])
def test_multi_head_attention_gradcheck(flash, call_kw):
    layer = _SelfAttention(lambda dt: layers.MultiHeadAttention(
        num_heads=2, key_dim=3, value_dim=2, flash_attention=flash, dtype=dt), call_kw,
        dtype="float64")
    errors = layer_gradcheck(layer, np.random.default_rng(2).standard_normal((2, 4, 5)))
    assert len(errors) == 1 + 8


def test_group_query_attention_gradcheck():
    layer = _SelfAttention(lambda dt: layers.GroupQueryAttention(
        head_dim=3, num_query_heads=4, num_key_value_heads=2, dtype=dt), dtype="float64")
    assert len(layer_gradcheck(layer, np.random.default_rng(3).standard_normal((2, 4, 5)))) == 9


@pytest.mark.parametrize("cls,kw", [
    (layers.MultiHeadAttention, dict(num_heads=2, key_dim=4, dropout=0.2, seed=1)),
    (layers.GroupQueryAttention, dict(head_dim=4, num_query_heads=4, num_key_value_heads=2,
                                      use_gate=True)),
])
def test_training_step_config_and_save_load(tmp_path, cls, kw):
    q_in = shendu.Input((5, 8))
    v_in = shendu.Input((7, 6))
    out = cls(**kw)(q_in, v_in, use_causal_mask=False)
    model = shendu.Model([q_in, v_in], out)
    layer = model.layers[-1]
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == {**layer.get_config(), "name": clone.name}
    y = model([Q, V], training=True)
    (y * y).mean().backward()
    missing = [w.path for w in model.trainable_weights if w.grad is None]
    assert not missing and len(model.trainable_weights) == len(layer.weights) > 0
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = shendu.models.load_model(path)
    np.testing.assert_array_equal(loaded([Q, V]).numpy(), model([Q, V]).numpy())


def test_functional_scores_and_errors():
    q_in = shendu.Input((5, 8))
    out, scores = layers.MultiHeadAttention(num_heads=3, key_dim=2)(
        q_in, q_in, return_attention_scores=True)
    assert tuple(out.shape) == (None, 5, 8) and tuple(scores.shape) == (None, 3, 5, 5)
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(ValueError, match="multiple of"):
        layers.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2)
    with pytest.raises(ValueError, match="same length"):
        layers.MultiHeadAttention(num_heads=1, key_dim=2)(Q, V, key=Q)
    with pytest.raises(ValueError, match="flash_attention=True"):
        layers.MultiHeadAttention(num_heads=1, key_dim=2, flash_attention=True)(
            Q, V, return_attention_scores=True)


QM = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
VM = np.array([[1, 1, 0, 0, 0, 0, 0], [1] * 6 + [0]], bool)
K4 = RNG.standard_normal((2, 7, 4)).astype("float32")


@pytest.mark.parametrize("cls,init_kw", [
    ("Attention", {}), ("Attention", dict(use_scale=True)),
    ("Attention", dict(score_mode="concat", use_scale=True)),
    ("Attention", dict(score_mode="concat")),
    ("AdditiveAttention", {}), ("AdditiveAttention", dict(use_scale=False)),
])
@pytest.mark.parametrize("call_kw", [{}, dict(mask=[QM, VM]),
                                     dict(use_causal_mask=True, return_attention_scores=True)])
def test_dot_and_additive_attention_match_keras(cls, init_kw, call_kw):
    keras = _keras()
    q, v = Q[..., :4], V[..., :4]
    inputs = [q, q] if call_kw.get("use_causal_mask") else [q, v, K4]
    ref, layer = getattr(keras.layers, cls)(**init_kw), getattr(layers, cls)(**init_kw)
    ref(inputs, **call_kw)
    layer(inputs, **call_kw)
    rng = np.random.default_rng(4)  # weights away from their initial ones
    weights = [w + 0.3 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()]
    ref.set_weights(weights)
    layer.set_weights(weights)
    want, got = ref(inputs, **call_kw), layer(inputs, **call_kw)
    if not isinstance(want, tuple):
        want, got = (want,), (got,)
    for a, b in zip(got, want):
        assert_allclose_normwise(a.numpy(), np.asarray(b), rtol=1e-5)
    assert [w.path.split("/")[-1] for w in layer.weights] == [w.name for w in ref.weights]
    assert set(layer.get_config()) == set(ref.get_config())


class _ListCall(Layer):
    """x -> layer([x, x]) (one input for the shared gradient check)."""

    def __init__(self, make, **kwargs):
        super().__init__(**kwargs)
        self.inner = make(self.dtype)

    def call(self, x, training=None):
        return self.inner([x, x * 0.5], training=training, use_causal_mask=True)


@pytest.mark.parametrize("cls,kw", [(layers.Attention, dict(use_scale=True)),
                                    (layers.Attention, dict(score_mode="concat", use_scale=True)),
                                    (layers.AdditiveAttention, {})])
def test_dot_and_additive_attention_gradcheck(cls, kw):
    layer = _ListCall(lambda dt: cls(dtype=dt, **kw), dtype="float64")
    errors = layer_gradcheck(layer, np.random.default_rng(5).standard_normal((2, 3, 4)))
    assert len(errors) == 1 + len(layer.trainable_weights)


@pytest.mark.parametrize("cls,kw", [(layers.Attention, dict(use_scale=True, dropout=0.3,
                                                            seed=2)),
                                    (layers.AdditiveAttention, {})])
def test_dot_and_additive_attention_training_config_save(tmp_path, cls, kw):
    q_in, v_in = shendu.Input((5, 4)), shendu.Input((7, 4))
    model = shendu.Model([q_in, v_in], cls(**kw)([q_in, v_in]))
    layer = model.layers[-1]
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == {**layer.get_config(), "name": clone.name}
    x = [Q[..., :4], V[..., :4]]
    y = model(x, training=True)
    (y * y).mean().backward()
    assert all(w.grad is not None for w in model.trainable_weights) and model.trainable_weights
    model.save(tmp_path / "att.keras")
    loaded = shendu.models.load_model(tmp_path / "att.keras")
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    with pytest.raises(ValueError, match="must be called on a list"):
        cls(**kw)(Q)


@pytest.mark.torch
@pytest.mark.parametrize("flash", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(flash, causal):
    """Weights copied from torch.nn.MultiheadAttention: outputs and every gradient agree."""
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    E, h, T = 8, 2, 5
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, h, batch_first=True)
    with torch.no_grad():
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    x = np.random.default_rng(6).standard_normal((2, T, E)).astype("float32")
    layer = layers.MultiHeadAttention(num_heads=h, key_dim=E // h, flash_attention=flash)
    layer(x, x)
    Wq, Wk, Wv = ref.in_proj_weight.detach().numpy().reshape(3, E, E)
    bq, bk, bv = ref.in_proj_bias.detach().numpy().reshape(3, E)
    Wo, bo = ref.out_proj.weight.detach().numpy(), ref.out_proj.bias.detach().numpy()
    layer.set_weights([Wq.T.reshape(E, h, E // h), bq.reshape(h, -1),
                       Wk.T.reshape(E, h, E // h), bk.reshape(h, -1),
                       Wv.T.reshape(E, h, E // h), bv.reshape(h, -1),
                       Wo.T.reshape(h, E // h, E), bo])
    xt = shendu.Tensor(x, requires_grad=True)
    out = layer(xt, xt, use_causal_mask=causal)
    tx = torch.from_numpy(x).requires_grad_(True)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None
    tout, _ = ref(tx, tx, tx, attn_mask=mask, need_weights=False)
    assert_allclose_normwise(out.numpy(), tout.detach().numpy(), rtol=1e-5)
    r = np.random.default_rng(7).standard_normal(out.shape).astype("float32")
    (out * shendu.Tensor(r)).sum().backward()
    (tout * torch.from_numpy(r)).sum().backward()
    assert_allclose_normwise(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
    g = [w.grad.numpy() for w in layer.weights]
    gW = ref.in_proj_weight.grad.numpy().reshape(3, E, E)
    gb = ref.in_proj_bias.grad.numpy().reshape(3, E)
    for i in range(3):
        assert_allclose_normwise(g[2 * i].reshape(E, E).T, gW[i], rtol=1e-5)
    # The key bias adds one constant per softmax row: its true gradient is 0 (both give
    # rounding noise), so it is compared on the scale of the query bias's gradient.
    for i in (0, 2):
        assert_allclose_normwise(g[2 * i + 1].reshape(E), gb[i], rtol=1e-5)
    np.testing.assert_allclose(g[3].reshape(E), gb[1], atol=1e-5 * np.linalg.norm(gb[0]))
    assert_allclose_normwise(g[6].reshape(E, E).T, ref.out_proj.weight.grad.numpy(), rtol=1e-5)
    assert_allclose_normwise(g[7], ref.out_proj.bias.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("flash", [True, False])
def test_causal_output_ignores_later_positions(flash):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, flash_attention=flash)
    x = np.random.default_rng(8).standard_normal((2, 6, 5)).astype("float32")
    changed = x.copy()
    changed[:, 4:] += 1.0
    a = layer(x, x, use_causal_mask=True).numpy()
    b = layer(changed, changed, use_causal_mask=True).numpy()
    np.testing.assert_array_equal(a[:, :4], b[:, :4])
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 1e-3
