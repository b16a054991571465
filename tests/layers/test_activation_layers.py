"""ReLU, LeakyReLU, PReLU, ELU, Softmax: shared layer check, real Keras on the same inputs and
weights, errors, masks."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import run_layer_test


def _x(shape, seed=0):
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    x[np.abs(x) < 0.05] += 0.2  # keep finite differences off the kink at 0
    x[np.abs(x - 0.5) < 0.05] += 0.2
    x[np.abs(x - 1.0) < 0.05] += 0.2
    return x.astype(np.float32)


CASES = [
    ("ReLU", {}), ("ReLU", {"max_value": 1.0}), ("ReLU", {"negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU", {"max_value": 6.0}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.01}),
    ("ELU", {}), ("ELU", {"alpha": 0.5}), ("Softmax", {}), ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": (1, 2)}),
]


@pytest.mark.parametrize("name, kw", CASES)
def test_shared_check_and_keras(name, kw):
    x = _x((2, 3, 4))
    layer = run_layer_test(getattr(layers, name), kw, x.shape, x.shape, input_data=x,
                           expected_num_trainable_weights=0)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref = np.asarray(getattr(keras.layers, name)(**kw)(x))
    np.testing.assert_allclose(layer(x).numpy(), ref, rtol=1e-6, atol=1e-6)
    assert layer(x).dtype == np.float32


@pytest.mark.parametrize("kw, in_shape", [({}, (2, 3, 4)), ({"shared_axes": [1]}, (2, 3, 4)),
                                          ({"shared_axes": [1, 2]}, (2, 3, 3, 2)),
                                          ({"alpha_initializer": "random_normal"}, (3, 5))])
def test_prelu_shared_check_and_keras(kw, in_shape):
    x = _x(in_shape)
    layer = run_layer_test(layers.PReLU, kw, in_shape, in_shape, input_data=x,
                           expected_num_trainable_weights=1)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref_layer = keras.layers.PReLU(**kw)
    ref_layer.build(in_shape)
    alpha = np.random.default_rng(1).uniform(0, 0.5, ref_layer.alpha.shape).astype(np.float32)
    assert layer.alpha.shape == tuple(ref_layer.alpha.shape)
    assert layer.weights[0].path.endswith("alpha")
    ref_layer.set_weights([alpha])
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x).numpy(), np.asarray(ref_layer(x)), rtol=1e-6, atol=1e-6)


def test_softmax_mask_matches_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = _x((2, 3, 5))
    mask = np.random.default_rng(2).random((2, 3, 5)) > 0.4
    mask[0, 0] = False  # a fully masked row gives zeros
    ours = layers.Softmax()(x, mask=mask).numpy()
    np.testing.assert_allclose(ours, np.asarray(keras.layers.Softmax()(x, mask=mask)), atol=1e-7)
    np.testing.assert_array_equal(ours[0, 0], 0.0)
    np.testing.assert_allclose(ours[1].sum(-1), 1.0, rtol=1e-6)
    numeric = layers.Softmax()(x, mask=mask.astype("float32")).numpy()
    np.testing.assert_array_equal(numeric, ours)
    with pytest.raises(ValueError, match=r"Softmax.*mask.*broadcastable.*mask.shape=\(2, 4\)"):
        layers.Softmax()(x, mask=np.ones((2, 4), bool))


def test_softmax_takes_the_mask_of_the_layer_before():
    x = shendu.tensor(_x((1, 4)))
    x._keras_mask = np.array([[True, True, False, False]])
    scores = layers.Softmax()(x)
    assert scores.numpy()[0, 2:].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(scores.numpy().sum(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("cls, kw, match", [
    (layers.ReLU, {"max_value": -1.0}, r"ReLU.*Received: max_value=-1.0"),
    (layers.ReLU, {"negative_slope": -0.1}, r"ReLU.*Received: negative_slope=-0.1"),
    (layers.ReLU, {"threshold": None}, r"ReLU.*Received: threshold=None"),
    (layers.LeakyReLU, {"negative_slope": -1}, r"LeakyReLU.*Received: negative_slope=-1"),
])
def test_bad_arguments(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_prelu_bad_shared_axes_and_leaky_relu_alpha_alias():
    with pytest.raises(ValueError, match=r"PReLU.*shared_axes.*Received: shared_axes=\[3\]"):
        layers.PReLU(shared_axes=3)(np.zeros((2, 3, 4), np.float32))
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.get_config()["negative_slope"] == 0.2


def test_defaults_and_config_keys_match_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    for name in ("ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"):
        ours = getattr(layers, name)().get_config()
        ref = getattr(keras.layers, name)().get_config()
        for key in set(ref) - {"name", "dtype", "trainable"}:
            assert key in ours, (name, key)
            if not key.endswith(("initializer", "regularizer", "constraint")):
                assert ours[key] == ref[key], (name, key, ours[key], ref[key])
    saved = shendu.Sequential([shendu.Input((3,)), layers.PReLU(), layers.LeakyReLU(0.1)])
    assert [type(l).__name__ for l in saved.layers] == ["PReLU", "LeakyReLU"]
