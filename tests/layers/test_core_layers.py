"""Core, reshaping, merging and regularization layers: the shared layer check plus hand cases."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import assert_allclose_normwise, layer_gradcheck, run_layer_test


@pytest.mark.parametrize("kwargs, in_shape, out_shape, n_train", [
    ({"units": 3}, (4, 5), (4, 3), 2),
    ({"units": 2, "activation": "tanh", "use_bias": False}, (2, 3, 4), (2, 3, 2), 1),
    ({"units": 3, "activation": "relu", "kernel_regularizer": "l2"}, (3, 4), (3, 3), 2),
])
def test_dense(kwargs, in_shape, out_shape, n_train):
    run_layer_test(layers.Dense, kwargs, in_shape, out_shape, expected_num_trainable_weights=n_train,
                   expected_num_non_trainable_weights=0)


def test_dense_hand_computed():
    d = layers.Dense(2, activation="relu")
    d.build((None, 3))
    d.set_weights([np.array([[1, -1], [2, 0], [0, 1]], np.float32), np.array([0.5, -0.5], np.float32)])
    y = d(np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(y.numpy(), [[3.5, 0.0]])
    assert y.dtype == np.float32


def test_dense_rejects_bad_units_and_shapes():
    with pytest.raises(ValueError, match="Received: units=0"):
        layers.Dense(0)
    d = layers.Dense(2, name="head")
    d(np.zeros((1, 3)))
    with pytest.raises(ValueError) as e:
        d(np.zeros((1, 4)))
    assert "head" in str(e.value) and "(1, 4)" in str(e.value) and "3" in str(e.value)
    with pytest.raises(TypeError, match="unrecognized keyword"):
        layers.Dense(2, unitz=3)


def test_dense_weights_are_named_and_glorot_uniform():
    shendu.utils.set_random_seed(0)
    d = layers.Dense(300, name="fc")
    d.build((None, 200))
    assert [w.path for w in d.weights] == ["fc/kernel", "fc/bias"]
    limit = np.sqrt(6 / (200 + 300))
    k = d.kernel.numpy()
    assert k.min() >= -limit and k.max() <= limit and abs(k.std() - limit / np.sqrt(3)) < 2e-3
    assert not d.bias.numpy().any()


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "gelu", "selu", "swish"])
def test_activation_layer(activation):
    run_layer_test(layers.Activation, {"activation": activation}, (3, 4), (3, 4))


def test_unknown_activation_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        layers.Dense(2, activation="rellu")


def test_dropout_only_in_training():
    d = layers.Dropout(0.5, seed=1)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(d(x).numpy(), x)
    y = d(x, training=True).numpy()
    kept = y != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(y[kept], 2.0)
    run_layer_test(layers.Dropout, {"rate": 0.3}, (2, 3), (2, 3), run_gradcheck=False)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.0)


def test_dropout_gradient_follows_mask():
    d = layers.Dropout(0.4, seed=3, dtype="float64")
    x = shendu.tensor(np.ones((5, 6)), requires_grad=True)
    y = d(x, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", [
    (layers.Flatten, {}, (2, 3, 4), (2, 12)),
    (layers.Reshape, {"target_shape": (2, -1)}, (3, 4, 2), (3, 2, 4)),
    (layers.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
])
def test_reshaping(cls, kwargs, in_shape, out_shape):
    run_layer_test(cls, kwargs, in_shape, out_shape, expected_num_trainable_weights=0)


def test_reshape_error_names_layer():
    with pytest.raises(ValueError, match="reshape_bad"):
        layers.Reshape((5,), name="reshape_bad")(np.zeros((2, 3, 2)))


@pytest.mark.parametrize("cls", [layers.Add, layers.Subtract, layers.Multiply, layers.Average,
                                 layers.Maximum, layers.Minimum])
def test_merge_layers(cls):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    layer = cls(dtype="float64")
    ref = {layers.Add: a + b, layers.Subtract: a - b, layers.Multiply: a * b, layers.Average: (a + b) / 2,
           layers.Maximum: np.maximum(a, b), layers.Minimum: np.minimum(a, b)}[cls]
    np.testing.assert_allclose(layer([a, b]).numpy(), ref)
    ta, tb = shendu.tensor(a, requires_grad=True), shendu.tensor(b, requires_grad=True)
    from shendu.testing import gradcheck
    gradcheck(lambda x, y: cls(dtype="float64")([x, y]), a, b)
    x1, x2 = shendu.Input((3, 4)), shendu.Input((3, 4))
    assert cls()([x1, x2]).shape == (None, 3, 4)
    assert cls.from_config(layer.get_config()).get_config() == layer.get_config()
    del ta, tb


def test_concatenate_and_errors():
    a, b = np.ones((2, 3)), np.zeros((2, 5))
    assert layers.Concatenate()([a, b]).shape == (2, 8)
    assert layers.concatenate([shendu.Input((3,)), shendu.Input((5,))]).shape == (None, 8)
    with pytest.raises(ValueError, match="must match except along axis"):
        layers.Concatenate(axis=-1)([np.ones((2, 3)), np.ones((3, 3))])
    with pytest.raises(ValueError, match="list of at least 2"):
        layers.Add()(np.ones((2, 3)))


def test_lambda_layer_runs_but_refuses_from_config():
    lam = layers.Lambda(lambda t: t * 2)
    np.testing.assert_allclose(lam(np.ones((1, 2))).numpy(), [[2, 2]])
    assert lam.compute_output_shape((None, 2)) == (None, 2)
    with pytest.raises(ValueError, match="Python code"):
        layers.Lambda.from_config(lam.get_config())


def test_layer_float64_gradcheck_dense_weights():
    d = layers.Dense(3, activation="tanh", dtype="float64")
    errs = layer_gradcheck(d, np.random.default_rng(0).standard_normal((2, 4)))
    assert max(errs) < 1e-6


def test_layer_casts_float64_inputs_to_float32():
    d = layers.Dense(2)
    y = d(np.ones((1, 3), dtype=np.float64))
    assert y.dtype == np.float32


def test_layer_gradcheck_perturbs_non_contiguous_weights():
    # A Fortran-ordered weight once made the check perturb a flattened copy (numeric gradient 0).
    d = layers.Dense(3, dtype="float64")
    d.build((None, 4))
    d.kernel.data = np.asfortranarray(d.kernel.data)
    assert max(layer_gradcheck(d, np.ones((2, 4)))) < 1e-6
    assert not d.kernel.data.flags["C_CONTIGUOUS"]


def test_orthogonal_initializer_is_orthogonal_and_c_ordered():
    q = shendu.initializers.Orthogonal(seed=0)((6, 6), dtype="float64")
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-12)
    assert q.flags["C_CONTIGUOUS"]


def test_mask_passes_through_layers_that_support_masking():
    shendu.utils.set_random_seed(0)
    emb = layers.Embedding(10, 4, mask_zero=True)
    drop, dense, lstm = layers.Dropout(0.3), layers.Dense(4), layers.LSTM(3)
    padded = lstm(dense(drop(emb(np.array([[1, 2, 0, 0, 0]])))))
    unpadded = lstm(dense(drop(emb(np.array([[1, 2]])))))
    assert_allclose_normwise(padded.numpy(), unpadded.numpy(), rtol=1e-5)
    assert getattr(layers.Flatten()(emb(np.array([[1, 0]]))), "_keras_mask", None) is None
