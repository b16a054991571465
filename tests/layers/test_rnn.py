"""Recurrent layers: gradients (fused BPTT and the generic step loop), PyTorch agreement,
masking, statefulness, wrappers, shapes and configs."""
import time

import numpy as np
import pytest

import shendu
from shendu.layers import (GRU, LSTM, RNN, Bidirectional, Dense, Embedding, GRUCell, LSTMCell,
                           Masking, SimpleRNN, SimpleRNNCell, TimeDistributed)
from shendu.testing import assert_allclose_normwise, gradcheck, layer_gradcheck, run_layer_test

LAYERS = [SimpleRNN, LSTM, GRU]
CELLS = [SimpleRNNCell, LSTMCell, GRUCell]
MASK = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]], bool)


class _WithMask(shendu.layers.Layer):
    """Calls an RNN layer with a fixed mask (layer_gradcheck passes only the input)."""

    def __init__(self, inner, mask):
        super().__init__(dtype=inner.dtype)
        self.inner, self.mask = inner, mask

    def call(self, x, training=None):
        return self.inner(x, mask=self.mask, training=training)


def _unfused(layer):
    layer.cell._fusable = lambda: False  # force the generic per-step loop
    return layer


def _x(shape=(3, 4, 2), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- gradients ----------------------------------------------------------------------------
@pytest.mark.parametrize("cell_cls", CELLS)
def test_cell_step_gradcheck(cell_cls):
    """One step of each cell (ops path): gradients of output and states w.r.t. x, states, weights."""
    cell = cell_cls(3, dtype="float64", bias_initializer="random_normal")
    n_states = 2 if cell_cls is LSTMCell else 1
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4))
    states = [rng.standard_normal((2, 3)) for _ in range(n_states)]
    cell(x, states)

    def fn(x, *states):
        out, new = cell(x, list(states))
        return shendu.ops.concatenate([out] + list(new), axis=-1)

    errs = gradcheck(fn, x, *states)
    assert max(errs) < 1e-6

    class Step(shendu.layers.Layer):
        def __init__(self):
            super().__init__(dtype="float64")
            self.cell = cell

        def call(self, x, training=None):
            out, new = self.cell(x, [shendu.Tensor(s) for s in states])
            return shendu.ops.concatenate([out] + list(new), axis=-1)
    layer_gradcheck(Step(), x)


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("fused", [True, False])
def test_layer_gradcheck(layer_cls, go_backwards, masked, fused):
    layer = layer_cls(3, return_sequences=True, go_backwards=go_backwards, dtype="float64",
                      bias_initializer="random_normal")
    if not fused:
        _unfused(layer)
    layer_gradcheck(_WithMask(layer, MASK if masked else None), _x())


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_gradcheck_last_output_and_states(layer_cls):
    """Gradients through the last output and the final states (return_state), masked."""
    layer = layer_cls(3, return_state=True, dtype="float64", bias_initializer="random_normal")

    class Cat(shendu.layers.Layer):
        def __init__(self):
            super().__init__(dtype="float64")
            self.inner = layer

        def call(self, x, training=None):
            return shendu.ops.concatenate(self.inner(x, mask=MASK), axis=-1)
    layer_gradcheck(Cat(), _x())


@pytest.mark.parametrize("kw", [dict(activation="relu"), dict(activation="linear"),
                                dict(recurrent_activation="hard_sigmoid"),
                                dict(activation="sigmoid", recurrent_activation="tanh")])
@pytest.mark.parametrize("layer_cls", [LSTM, GRU])
def test_fused_other_activations(layer_cls, kw):
    """The general (non tanh/sigmoid) fused path: gradcheck and equality with the step loop."""
    x = _x(seed=3)
    layer = layer_cls(3, return_sequences=True, dtype="float64", bias_initializer="random_normal", **kw)
    a = layer(x, mask=MASK).data
    b = _unfused(layer)(x, mask=MASK).data
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    layer = layer_cls(3, return_sequences=True, dtype="float64", bias_initializer="random_normal", **kw)
    layer_gradcheck(_WithMask(layer, MASK), x)


def test_simple_rnn_relu_fused():
    x = _x(seed=4)
    layer = SimpleRNN(3, activation="relu", return_sequences=True, dtype="float64",
                      bias_initializer="random_normal")
    layer_gradcheck(layer, x)


@pytest.mark.parametrize("layer_cls", LAYERS + [lambda *a, **k: GRU(*a, reset_after=False, **k)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_fused_matches_step_loop(layer_cls, go_backwards, return_sequences):
    x = _x((4, 6, 3), seed=2)
    mask = np.random.default_rng(5).random((4, 6)) > 0.3
    for zero_out in (False, True):
        layer = layer_cls(5, return_sequences=return_sequences, return_state=True,
                          go_backwards=go_backwards, zero_output_for_mask=zero_out, dtype="float64")
        a = [t.data for t in layer(x, mask=mask)]
        b = [t.data for t in _unfused(layer)(x, mask=mask)]
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_dropout_masks_fixed_over_time_and_training_only(layer_cls):
    """Fused and step-loop paths draw the same per-sequence masks: equal outputs in training."""
    x = _x((4, 5, 3), seed=6)

    def run(fused):
        layer = layer_cls(4, dropout=0.3, recurrent_dropout=0.4, seed=7, return_sequences=True,
                          dtype="float64")
        if not fused:
            _unfused(layer)
        layer.build((4, 5, 3))
        return layer
    a_layer, b_layer = run(True), run(False)
    b_layer.set_weights(a_layer.get_weights())
    a = a_layer(x, training=True).data
    b = b_layer(x, training=True).data
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    inf1 = a_layer(x, training=False).data
    inf2 = a_layer(x).data
    np.testing.assert_array_equal(inf1, inf2)
    assert not np.allclose(a, inf1)
    layer_gradcheck(a_layer, x, training=False)


def test_masked_steps_carry_state_and_get_no_gradient():
    x = _x((3, 4, 2), seed=8)
    layer = LSTM(3, return_sequences=True, dtype="float64")
    xt = shendu.Tensor(x, requires_grad=True)
    y = layer(xt, mask=MASK)
    y.sum().backward()
    g = xt.grad.data
    assert np.all(g[~MASK] == 0) and np.all(np.abs(g[MASK]).sum(-1) > 0)
    # sample 0, step 2 is masked: its output repeats step 1's
    np.testing.assert_array_equal(y.data[0, 2], y.data[0, 1])
    # a leading masked step outputs zeros (no output yet), as Keras
    np.testing.assert_array_equal(y.data[1, 0], 0)
    # skipping masked steps == running on the unmasked steps only
    short = layer(x[:1, [0, 1, 3]]).data
    np.testing.assert_allclose(y.data[0, -1], short[0, -1], rtol=1e-12)


# ---- PyTorch agreement ----------------------------------------------------------------------
def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)) /
                 max(np.linalg.norm(np.asarray(b, np.float64)), 1e-30))


def _torch_weights(kind, kernel, rec, bias, n):
    """Keras (in, gates*n) layout -> torch weight_ih (gates*n, in), weight_hh, b_ih, b_hh."""
    if kind == "GRU":  # Keras gate order z, r, h  ->  torch r, z, n
        perm = np.concatenate([np.arange(n, 2 * n), np.arange(0, n), np.arange(2 * n, 3 * n)])
        return kernel[:, perm].T, rec[:, perm].T, bias[0][perm], bias[1][perm]
    # LSTM: Keras i, f, c, o == torch i, f, g, o;  SimpleRNN: one gate
    return kernel.T, rec.T, bias, np.zeros_like(bias)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_agrees_with_pytorch(kind, go_backwards):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check needs torch")
    B, T, D, n = 5, 7, 4, 6
    rng = np.random.default_rng(11)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    layer = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[kind](
        n, return_sequences=True, return_state=True, go_backwards=go_backwards,
        bias_initializer="random_normal")
    xt = shendu.Tensor(x, requires_grad=True)
    outs = layer(xt)
    kernel, rec, bias = [w.data for w in layer.weights]
    w_ih, w_hh, b_ih, b_hh = _torch_weights(kind, kernel, rec, bias, n)
    mod = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind](
        D, n, batch_first=True)
    with torch.no_grad():
        for name, v in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih),
                        ("bias_hh_l0", b_hh)):
            getattr(mod, name).copy_(torch.tensor(np.ascontiguousarray(v)))
    tx = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    seq, st = mod(tx)
    t_outs = [seq, st[0][0], st[1][0]] if kind == "LSTM" else [seq, st[0]]
    rs = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
    loss = sum((o * r).sum() for o, r in zip(outs, rs))
    loss.backward()
    t_loss = sum((o * torch.tensor(r)).sum() for o, r in zip(t_outs, rs))
    t_loss.backward()
    errors = {}
    for i, (o, to) in enumerate(zip(outs, t_outs)):
        errors[f"out{i}"] = _rel(o.data, to.detach().numpy())
    gx_t = tx.grad.numpy()[:, ::-1] if go_backwards else tx.grad.numpy()
    errors["gx"] = _rel(xt.grad.data, gx_t)
    gk, gr, gb = [w.grad.data for w in layer.weights]
    t_gih, t_ghh, t_gbi, t_gbh = [getattr(mod, nm).grad.numpy() for nm in
                                  ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    m_gih, m_ghh, m_gbi, m_gbh = _torch_weights(kind, gk, gr, gb if kind == "GRU" else gb, n)
    errors["g_kernel"] = _rel(m_gih, t_gih)
    errors["g_recurrent_kernel"] = _rel(m_ghh, t_ghh)
    if kind == "GRU":
        errors["g_bias"] = max(_rel(m_gbi, t_gbi), _rel(m_gbh, t_gbh))
    else:  # one Keras bias == b_ih + b_hh: both torch biases get the same gradient
        errors["g_bias"] = max(_rel(gb, t_gbi), _rel(gb, t_gbh))
    print(kind, "go_backwards" if go_backwards else "", {k: f"{v:.2e}" for k, v in errors.items()})
    assert max(errors.values()) <= 1e-5, errors


# ---- state, shapes, wrappers, configs ------------------------------------------------------
@pytest.mark.parametrize("layer_cls", LAYERS)
def test_stateful_carries_state_and_reset_clears_it(layer_cls):
    x = _x((2, 6, 3), seed=9).astype(np.float32)
    ref = layer_cls(4, return_sequences=True)
    full = ref(x).data
    layer = layer_cls(4, return_sequences=True, stateful=True)
    layer.build((2, 6, 3))
    layer.set_weights(ref.get_weights())
    a = layer(x[:, :3]).data
    b = layer(x[:, 3:]).data
    assert_allclose_normwise(np.concatenate([a, b], 1), full, rtol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(layer(x[:, :3]).data, a, rtol=1e-6)
    assert all(np.any(s != 0) for s in layer.states)
    layer.reset_states()
    assert all(np.all(s == 0) for s in layer.states)
    with pytest.raises(ValueError, match="batch size"):
        layer(x[:1, :3])
    with pytest.raises(AttributeError, match="stateful"):
        layer_cls(4).reset_states()


def test_initial_state_eager_and_functional():
    x = _x((2, 5, 3), seed=10).astype(np.float32)
    h0 = np.full((2, 4), 0.5, np.float32)
    c0 = np.full((2, 4), -0.3, np.float32)
    layer = LSTM(4)
    a = layer(x, initial_state=[h0, c0]).data
    assert not np.allclose(a, layer(x).data)
    inp = shendu.Input((5, 3))
    hi, ci = shendu.Input((4,)), shendu.Input((4,))
    out = layer(inp, initial_state=[hi, ci])
    model = shendu.Model([inp, hi, ci], out)
    assert_allclose_normwise(model.predict([x, h0, c0], verbose=0), a, rtol=1e-5)


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_output_shapes(layer_cls, return_sequences, return_state):
    layer = layer_cls(4, return_sequences=return_sequences, return_state=return_state)
    out = layer(np.zeros((2, 5, 3), np.float32))
    expected = layer.compute_output_shape((2, 5, 3))
    if return_state:
        assert [tuple(o.shape) for o in out] == [tuple(e) for e in expected]
        assert len(out) == 1 + (2 if layer_cls is LSTM else 1)
    else:
        assert tuple(out.shape) == ((2, 5, 4) if return_sequences else (2, 4))
    sym = layer_cls(4, return_sequences=return_sequences, return_state=return_state)(shendu.Input((5, 3)))
    sym = sym if isinstance(sym, list) else [sym]
    real = out if isinstance(out, list) else [out]
    assert [s.shape[1:] for s in sym] == [tuple(r.shape[1:]) for r in real]


def test_keras_weight_layout_and_defaults():
    lstm = LSTM(5)
    lstm(np.zeros((2, 3, 7), np.float32))
    k, r, b = lstm.weights
    assert (k.shape, r.shape, b.shape) == ((7, 20), (5, 20), (20,))
    assert [w.path for w in lstm.weights] == [f"{lstm.name}/{lstm.cell.name}/{n}"
                                              for n in ("kernel", "recurrent_kernel", "bias")]
    np.testing.assert_array_equal(b.data, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    np.testing.assert_allclose(r.data @ r.data.T, np.eye(5), atol=1e-5)  # orthogonal rows
    gru = GRU(5)
    gru(np.zeros((2, 3, 7), np.float32))
    assert [w.shape for w in gru.weights] == [(7, 15), (5, 15), (2, 15)]
    assert GRU(5, reset_after=False).cell._bias_shape() == (15,)
    srnn = SimpleRNN(5)
    srnn(np.zeros((2, 3, 7), np.float32))
    assert [w.shape for w in srnn.weights] == [(7, 5), (5, 5), (5,)]
    assert LSTM(5, unit_forget_bias=False).get_config()["unit_forget_bias"] is False
    with pytest.raises(ValueError, match="units=0"):
        LSTM(0)
    with pytest.raises(ValueError, match="3-D"):
        LSTM(3)(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merge_modes(merge_mode, return_sequences):
    x = _x((2, 5, 3), seed=12).astype(np.float32)
    bi = Bidirectional(LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode)
    out = bi(x)
    width = 8 if merge_mode == "concat" else 4
    shape = (2, 5, width) if return_sequences else (2, width)
    if merge_mode is None:
        assert [tuple(o.shape) for o in out] == [(2, 5, 4) if return_sequences else (2, 4)] * 2
        f, b = out
    else:
        assert tuple(out.shape) == shape
        assert tuple(bi.compute_output_shape((2, 5, 3))) == shape
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.go_backwards
    # the merged result is made of a forward pass and a time-reversed backward pass
    fwd = bi.forward_layer(x).data
    bwd = bi.backward_layer(x).data
    if return_sequences:
        bwd = bwd[:, ::-1]
    expect = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd, "mul": fwd * bwd,
              "ave": (fwd + bwd) / 2, None: None}[merge_mode]
    if expect is not None:
        assert_allclose_normwise(out.data, expect, rtol=1e-5)
    sym = Bidirectional(LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode)(
        shendu.Input((5, 3)))
    assert (len(sym) == 2) if merge_mode is None else (sym.shape == (None,) + shape[1:])


def test_bidirectional_return_state_and_gradcheck():
    bi = Bidirectional(GRU(3, return_state=True))
    out = bi(_x((2, 4, 2)).astype(np.float32))
    assert [tuple(o.shape) for o in out] == [(2, 6), (2, 3), (2, 3)]
    inner = LSTM(2, return_sequences=True, dtype="float64")
    bi64 = Bidirectional(inner, dtype="float64")
    layer_gradcheck(_WithMask(bi64, MASK), _x())


def test_layer_tests_config_round_trip():
    for cls, kw in ((SimpleRNN, {"units": 3}), (LSTM, {"units": 3, "return_sequences": True}),
                    (GRU, {"units": 3, "go_backwards": True}),
                    (GRU, {"units": 3, "reset_after": False, "return_sequences": True}),
                    (LSTM, {"units": 3, "dropout": 0.2, "recurrent_dropout": 0.2, "seed": 1})):
        run_layer_test(cls, kw, (2, 4, 3), gradcheck_shape=(2, 3, 2))
    run_layer_test(RNN, {"cell": LSTMCell(3), "return_sequences": True}, (2, 4, 3),
                   expected_output_shape=(2, 4, 3), run_gradcheck=False)
    run_layer_test(Bidirectional, {"layer": LSTM(3, return_sequences=True), "merge_mode": "sum"},
                   (2, 4, 3), expected_output_shape=(2, 4, 3), run_gradcheck=False)
    run_layer_test(TimeDistributed, {"layer": Dense(5)}, (2, 4, 3), expected_output_shape=(2, 4, 5),
                   run_gradcheck=False)
    run_layer_test(Masking, {"mask_value": 0.0}, (2, 4, 3), expected_output_shape=(2, 4, 3))


def test_generic_rnn_with_a_user_cell():
    class MinimalCell(shendu.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight((self.units, self.units), name="recurrent_kernel")

        def call(self, inputs, states):
            h = shendu.ops.matmul(inputs, self.kernel) + shendu.ops.matmul(states[0], self.recurrent_kernel)
            return h, [h]
    layer = RNN(MinimalCell(3, dtype="float64"), return_sequences=True, dtype="float64")
    layer_gradcheck(_WithMask(layer, MASK), _x())


def test_time_distributed_gradcheck():
    td = TimeDistributed(Dense(3, dtype="float64"), dtype="float64")
    out = td(_x())
    assert out.shape == (3, 4, 3)
    layer_gradcheck(td, _x())


def test_mask_propagation_in_sequential():
    """Embedding(mask_zero=True) / Masking -> LSTM: padded steps are skipped."""
    tokens = np.array([[3, 5, 2, 0, 0], [4, 1, 0, 0, 0]])
    model = shendu.Sequential([Embedding(8, 4, mask_zero=True), LSTM(3)])
    out = model(tokens).data
    emb, lstm = model.layers
    short0 = lstm(emb(tokens[:1, :3])).data
    assert_allclose_normwise(out[0], short0[0], rtol=1e-5)
    unmasked = lstm(emb(tokens[:1]).data).data  # a plain array carries no mask
    assert not np.allclose(out[0], unmasked[0])

    x = np.zeros((2, 5, 3), np.float32)
    x[:, :3] = _x((2, 3, 3), seed=13)
    seq = shendu.Sequential([Masking(), LSTM(3, return_sequences=True), LSTM(2)])
    y = seq(x).data
    l1, l2 = seq.layers[1], seq.layers[2]
    assert_allclose_normwise(y, l2(l1(x[:, :3])).data, rtol=1e-5)


def test_masked_lstm_trains_with_fit():
    rng = np.random.default_rng(14)
    lengths = rng.integers(1, 7, 64)
    x = np.zeros((64, 6), np.int64)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(1, 5, n)
    y = (lengths > 3).astype(np.int64)
    model = shendu.Sequential([Embedding(5, 4, mask_zero=True), LSTM(8), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


# ---- the sequential-MNIST acceptance run ----------------------------------------------------
@pytest.mark.slow
def test_sequential_mnist_lstm():
    """Row-by-row MNIST: LSTM(128) -> Dense(10, softmax), Adam, batch 128, >= 92% held out."""
    from shendu.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_sample()
    x_train = (x_train.reshape(-1, 28, 28) / 255.0).astype(np.float32)
    x_test = (x_test.reshape(-1, 28, 28) / 255.0).astype(np.float32)
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([shendu.Input((28, 28)), LSTM(128), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    accs = []
    for epoch in range(10):
        model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0)
        _, acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        accs.append(acc)
        if acc >= 0.92:
            break
    print(f"sequential MNIST: held-out accuracy per epoch {[round(a, 4) for a in accs]}, "
          f"{time.perf_counter() - start:.1f} s")
    assert max(accs) >= 0.92


# ---- the Numba gate kernels against the NumPy reference --------------------------------------
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("rdrop", [False, True])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("blas_in_numba", ["1", "0"])
def test_numba_lstm_kernels_match_numpy(monkeypatch, masked, reverse, rdrop, sequences,
                                        blas_in_numba, fast_kernels):
    """The per-step Numba kernels, and the whole-sequence ones that call BLAS from Numba
    (unmasked, no recurrent dropout), against the NumPy loop."""
    pytest.importorskip("numba", reason="the Numba kernels need numba")
    from shendu.kernels.blas import sgemm
    from shendu.ops import recurrent as fused
    monkeypatch.setenv("SHENDU_RNN_BLAS_IN_NUMBA", blas_in_numba)
    rng = np.random.default_rng(15)
    T, B, n = 6, 5, 7
    xw = rng.standard_normal((T, B, 4 * n)).astype(np.float32)
    U = (rng.standard_normal((n, 4 * n)) * 0.4).astype(np.float32)
    h0, c0 = [rng.standard_normal((B, n)).astype(np.float32) for _ in range(2)]
    bias = rng.standard_normal(4 * n).astype(np.float32)
    kw = dict(mask=rng.random((B, T)) > 0.3 if masked else None, reverse=reverse,
              rmask=(rng.random((B, n)) > 0.3).astype(np.float32) * 1.4 if rdrop else None,
              sequences=sequences, bias=bias)
    gy = None
    results = []
    for flag in ("1", "0"):
        monkeypatch.setenv("SHENDU_RNN_NUMBA", flag)
        ctx = fused.LSTMSequence()
        out = ctx.forward(xw, U, h0, c0, **kw)
        assert (ctx.nb is not None) == (flag == "1")
        whole = flag == "1" and blas_in_numba == "1" and not masked and not rdrop
        assert (ctx.sgemm is not None) == (whole and sgemm() is not None)
        gy = rng.standard_normal(out.shape).astype(np.float32) if gy is None else gy
        results.append([out] + list(ctx.backward(gy)))
    for a, b in zip(*results):
        assert _rel(a, b) < 1e-6


# ---- the batch split over threads (fused.LSTMBatchSplit) -----------------------------------
def _lstm_run(parts, x, mask, training, **kw):
    """Outputs and every gradient of a float32 LSTM forced to split into ``parts`` (1: no split)."""
    shendu.utils.set_random_seed(4)
    layer = LSTM(6, return_state=True, dtype="float32", bias_initializer="random_normal", **kw)
    layer.cell._batch_parts = lambda x, p: parts
    xt = shendu.Tensor(x, requires_grad=True)
    h0 = shendu.Tensor(np.full((len(x), 6), 0.1, np.float32), requires_grad=True)
    c0 = shendu.Tensor(np.full((len(x), 6), -0.2, np.float32), requires_grad=True)
    outs = layer(xt, initial_state=[h0, c0], mask=mask, training=training)
    w = np.random.default_rng(9)
    loss = sum(shendu.ops.sum(o * w.standard_normal(o.shape).astype(np.float32)) for o in outs)
    loss.backward()
    return [o.numpy() for o in outs] + [xt.grad, h0.grad, c0.grad] + \
        [np.asarray(v.grad) for v in layer.trainable_weights]


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("kw, masked, training", [
    ({}, False, False),
    (dict(return_sequences=True, go_backwards=True), True, False),
    (dict(recurrent_dropout=0.3, dropout=0.2), False, True),
    (dict(use_bias=False, return_sequences=True, zero_output_for_mask=True), True, False)])
def test_lstm_batch_split_equals_the_whole_batch(parts, kw, masked, training):
    x = _x((7, 5, 3), seed=3).astype(np.float32)  # 7 rows: unequal parts
    mask = (np.random.default_rng(6).random((7, 5)) > 0.3) if masked else None
    whole, split = (_lstm_run(p, x, mask, training, **kw) for p in (1, parts))
    assert len(whole) == len(split)
    for a, b in zip(whole, split):
        assert_allclose_normwise(b, a, rtol=1e-5)


def test_lstm_splits_only_where_it_pays(monkeypatch, fast_kernels):
    from shendu.kernels import threads
    monkeypatch.setattr(threads, "split_parallelism", lambda: 2)
    cell = LSTM(8).cell
    p = dict(activation="tanh", recurrent_activation="sigmoid")
    assert cell._batch_parts(np.zeros((128, 3, 2), np.float32), p) == 2
    assert cell._batch_parts(np.zeros((40, 3, 2), np.float32), p) == 1  # < 32 rows per part
    assert cell._batch_parts(np.zeros((128, 3, 2), np.float64), p) == 1  # no Numba kernel
    assert cell._batch_parts(np.zeros((128, 3, 2), np.float32),
                             dict(p, activation="relu")) == 1


def test_lstm_batch_split_gradcheck():
    from shendu.ops import recurrent as fused
    rng = np.random.default_rng(11)
    B, T, D, n = 5, 3, 2, 3
    args = [rng.standard_normal(s) * 0.5 for s in
            [(B, T, D), (D, 4 * n), (4 * n,), (n, 4 * n), (B, n), (B, n)]]
    gradcheck(lambda *a: fused.LSTMBatchSplit.apply(*a, parts=2, sequences=True), *args)


# ---- a list of cells: StackedRNNCells ---------------------------------------------------------
def _structure(out):
    """Nested lists of shapes (batch dropped), and the arrays in order."""
    if isinstance(out, (list, tuple)):
        parts = [_structure(o) for o in out]
        return [p[0] for p in parts], [a for p in parts for a in p[1]]
    arr = np.asarray(out.data if isinstance(out, shendu.Tensor) else out)
    return tuple(arr.shape[1:]), [arr]


STACKS = [lambda m: [m.LSTMCell(4), m.LSTMCell(3)],
          lambda m: [m.SimpleRNNCell(4), m.GRUCell(3)],
          lambda m: [m.GRUCell(5), m.LSTMCell(2), m.SimpleRNNCell(3)]]


@pytest.mark.parametrize("stack", range(len(STACKS)))
@pytest.mark.parametrize("kw", [{}, {"return_sequences": True, "go_backwards": True},
                                {"mask": True, "zero_output_for_mask": True,
                                 "return_sequences": True},
                                {"initial_state": True}])
def test_stacked_cells_match_keras(stack, kw):
    keras = pytest.importorskip("keras", reason="the Keras cross-check needs keras")
    kw = dict(kw)
    masked, init = kw.pop("mask", False), kw.pop("initial_state", False)
    x = _x((3, 5, 6), seed=stack).astype(np.float32)
    ours = RNN(STACKS[stack](shendu.layers), return_state=True, **kw)
    theirs = keras.layers.RNN(STACKS[stack](keras.layers), return_state=True, **kw)
    call = {}
    if masked:
        call["mask"] = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    if init:
        rng = np.random.default_rng(7)
        call["initial_state"] = [
            [rng.normal(size=(3, s)).astype(np.float32) for s in c.state_size]
            if isinstance(c.state_size, list) else rng.normal(size=(3, c.state_size)).astype(np.float32)
            for c in ours.cell.cells]
    expected = theirs(x, **call)
    ours(x, **call)  # build
    assert [(w.path.rsplit("/", 1)[1], w.shape) for w in ours.weights] == \
        [(w.path.rsplit("/", 1)[1], tuple(w.shape)) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())  # Keras's order
    got_shapes, got = _structure(ours(x, **call))
    _, want = _structure(expected)
    # the structure Keras's compute_output_shape gives (its eager call wraps the state of
    # a one-state cell in a list of one; shendu returns the array, as Keras's symbolic call)
    want_shapes = _structure_of_shapes(theirs.compute_output_shape((3, 5, 6)))
    assert got_shapes == want_shapes
    assert len(got) == len(want)
    for a, b in zip(got, want):
        b = np.asarray(b)
        assert a.shape == b.shape and np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)


def _structure_of_shapes(shapes):
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        return [_structure_of_shapes(s) for s in shapes]
    return tuple(shapes[1:])


def test_stacked_cells_keras_weight_names_and_nested_states():
    rnn = RNN([LSTMCell(4), GRUCell(3)], return_state=True, name="rnn_s")
    out, (h1, c1), h2 = rnn(_x((2, 5, 6)).astype(np.float32))
    assert isinstance(rnn.cell, shendu.layers.StackedRNNCells)
    cells = [c.name for c in rnn.cell.cells]
    assert [w.path for w in rnn.weights] == [
        f"rnn_s/{rnn.cell.name}/{c}/{n}" for c in cells
        for n in ("kernel", "recurrent_kernel", "bias")]
    assert (out.shape, h1.shape, c1.shape, h2.shape) == ((2, 3), (2, 4), (2, 4), (2, 3))
    np.testing.assert_array_equal(out.data, h2.data)
    assert rnn.cell.state_size == [[4, 4], 3] and rnn.cell.output_size == 3
    # the same layer in a Functional model: the states come grouped the same way
    inp = shendu.Input((5, 6))
    sym = rnn(inp)
    assert [sym[0].shape, [t.shape for t in sym[1]], sym[2].shape] == \
        [(None, 3), [(None, 4), (None, 4)], (None, 3)]
    model = shendu.Model(inp, sym)
    res = model.predict(_x((2, 5, 6)).astype(np.float32), verbose=0)
    assert_allclose_normwise(res[1], h1.data, rtol=1e-5)  # outputs flattened by predict
    # StackedRNNCells called as a cell, with states grouped by cell or flat
    stack = rnn.cell
    x = _x((2, 6)).astype(np.float32)
    h0 = [np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32)]
    y, nested = stack(x, [h0, np.zeros((2, 3), np.float32)])
    y2, flat = stack(x, h0 + [np.zeros((2, 3), np.float32)])
    assert isinstance(nested[0], list) and len(nested) == 2 and len(flat) == 3
    np.testing.assert_array_equal(y.data, y2.data)
    with pytest.raises(ValueError, match="StackedRNNCells"):
        stack(x, h0)
    with pytest.raises(ValueError, match="non-empty list"):
        shendu.layers.StackedRNNCells([])
    with pytest.raises(ValueError, match="state_size"):
        shendu.layers.StackedRNNCells([Dense(3)])


def test_stacked_cells_config_save_and_gradients(tmp_path):
    run_layer_test(RNN, {"cell": [LSTMCell(3), SimpleRNNCell(2)], "return_sequences": True},
                   (2, 4, 3), expected_output_shape=(2, 4, 2), run_gradcheck=False)
    layer = RNN([GRUCell(3), LSTMCell(2)], return_sequences=True, go_backwards=True)
    x = _x((2, 4, 3)).astype(np.float32)
    y = layer(x).data
    again = RNN.from_config(layer.get_config())
    again(x)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(x).data, y)
    cfg = layer.get_config()["cell"]
    assert cfg["class_name"] == "StackedRNNCells"
    assert [c["class_name"] for c in cfg["config"]["cells"]] == ["GRUCell", "LSTMCell"]
    model = shendu.Sequential([shendu.Input((4, 3)), layer])
    model.save(tmp_path / "m.keras")
    loaded = shendu.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)
    # float64 gradients through both cells, masked, stepped in Python
    stacked = RNN([LSTMCell(3, dtype="float64"), GRUCell(2, dtype="float64")],
                  return_sequences=True, dtype="float64")
    layer_gradcheck(_WithMask(stacked, MASK), _x())


def test_stacked_cells_stateful_and_trains():
    layer = RNN([SimpleRNNCell(3), LSTMCell(2)], stateful=True, return_state=True)
    x = _x((2, 4, 3)).astype(np.float32)
    first = layer(x)
    second = layer(x)
    assert len(layer.states) == 3  # flat: h1, then h2 and c2
    assert not np.allclose(first[0].data, second[0].data)  # started from the carried states
    layer.reset_states()
    np.testing.assert_allclose(layer(x)[0].data, first[0].data, rtol=1e-6)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 6, 2)).astype(np.float32)
    ys = (xs[:, :, 0].sum(1) > 0).astype(np.int64)
    model = shendu.Sequential([shendu.Input((6, 2)),
                               RNN([LSTMCell(8), GRUCell(8)]), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(xs, ys, epochs=8, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_use_cudnn_and_compute_mask_as_keras():
    keras = pytest.importorskip("keras", reason="the Keras cross-check needs keras")
    for cls in (LSTM, GRU):
        assert cls(3).use_cudnn == "auto" and cls(3, use_cudnn=False).use_cudnn is False
        assert "use_cudnn" not in cls(3).get_config()  # (nor in Keras's)
        with pytest.raises(ValueError, match="use_cudnn=True"):
            cls(3, use_cudnn=True)  # no cuDNN kernel here (Keras on a CPU: an error too)
        with pytest.raises(ValueError, match="Received: use_cudnn='yes'"):
            cls(3, use_cudnn="yes")
    with pytest.raises(TypeError, match="use_cudnn"):
        SimpleRNN(3, use_cudnn="auto")  # Keras's SimpleRNN has no such argument
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    x = np.zeros((2, 3, 4), np.float32)
    for kw in ({}, {"return_sequences": True}, {"return_state": True},
               {"return_sequences": True, "return_state": True}):
        for make in (lambda m: m.LSTM(3, **kw),
                     lambda m: m.RNN([m.LSTMCell(3), m.GRUCell(2)], **kw)):
            ours, theirs = make(shendu.layers).compute_mask(x, mask), \
                make(keras.layers).compute_mask(x, mask)
            if isinstance(theirs, list):
                assert len(ours) == len(theirs)
                assert [o is None for o in ours] == [t is None for t in theirs]
                ours, theirs = ours[0], theirs[0]
            assert (ours is None) == (theirs is None)
            if theirs is not None:
                np.testing.assert_array_equal(ours, np.asarray(theirs))


def test_bidirectional_stacked_cells_states_as_keras():
    keras = pytest.importorskip("keras", reason="the Keras cross-check needs keras")
    x = _x((2, 5, 3), seed=3).astype(np.float32)

    def make(m):
        return m.Bidirectional(m.RNN([m.LSTMCell(4), m.SimpleRNNCell(3)], return_state=True))
    ours, theirs = make(shendu.layers), make(keras.layers)
    expected = theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    eager = ours(x)
    got_shapes, got = _structure(eager)
    want_shapes = _structure(expected)[0]
    want_shapes[2], want_shapes[4] = want_shapes[2][0], want_shapes[4][0]  # (Keras's eager list of one)
    assert got_shapes == want_shapes == [(6,), [(4,), (4,)], (3,), [(4,), (4,)], (3,)]
    for a, b in zip(got, _structure(expected)[1]):
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)
    sym, ksym = make(shendu.layers)(shendu.Input((5, 3))), theirs(keras.Input((5, 3)))
    shape_of = lambda t: [shape_of(s) for s in t] if isinstance(t, list) else tuple(t.shape)  # noqa: E731
    assert shape_of(sym) == shape_of(list(ksym))
    inp = shendu.Input((5, 3))
    model = shendu.Model(inp, ours(inp))
    for a, b in zip(model.predict(x, verbose=0), got):
        np.testing.assert_array_equal(a, b)
