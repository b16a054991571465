"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization: identity at inference, their training statistics, configs against
Keras, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("name, kw, shape", [
    ("SpatialDropout1D", {"rate": 0.5}, (2, 3, 4)), ("SpatialDropout2D", {"rate": 0.3}, (2, 3, 3, 4)),
    ("SpatialDropout3D", {"rate": 0.3}, (2, 2, 3, 2, 4)), ("GaussianNoise", {"stddev": 0.2}, (3, 4)),
    ("GaussianDropout", {"rate": 0.3}, (3, 4)), ("AlphaDropout", {"rate": 0.2}, (3, 4)),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.02}, (3, 4)),
])
def test_shared_check_identity_at_inference_and_keras_config(name, kw, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = run_layer_test(getattr(layers, name), kw, shape, shape, input_data=x,
                           expected_num_trainable_weights=0)
    np.testing.assert_array_equal(layer(x, training=False).numpy() if name != "ActivityRegularization"
                                  else layer(x).numpy(), x)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref = getattr(keras.layers, name)(**kw).get_config()
    ours = layer.get_config()
    for key in set(ref) - {"name", "dtype", "trainable"}:
        assert ours[key] == ref[key], (name, key)


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((50, 6, 4, 8), "float32")
    y = layers.SpatialDropout2D(0.5, seed=1)(x, training=True).numpy()
    per_channel = y.reshape(50, 24, 8)
    assert np.all(per_channel.min(1) == per_channel.max(1))  # one draw per (sample, channel)
    assert set(np.unique(y)) == {0.0, 2.0}
    cf = layers.SpatialDropout2D(0.5, seed=1, data_format="channels_first")(
        np.ones((50, 8, 6, 4), "float32"), training=True).numpy()
    assert np.all(cf.reshape(50, 8, 24).min(2) == cf.reshape(50, 8, 24).max(2))
    y1 = layers.SpatialDropout1D(0.5, seed=2)(np.ones((40, 7, 5), "float32"), training=True).numpy()
    assert np.all(y1.min(1) == y1.max(1))


def test_noise_statistics():
    x = np.ones((400, 250), "float32")
    g = layers.GaussianNoise(0.5, seed=0)(x, training=True).numpy() - 1
    assert abs(g.mean()) < 0.01 and abs(g.std() - 0.5) < 0.01
    d = layers.GaussianDropout(0.2, seed=0)(x, training=True).numpy()
    assert abs(d.mean() - 1) < 0.01 and abs(d.std() - np.sqrt(0.2 / 0.8)) < 0.01
    z = np.random.default_rng(0).standard_normal((400, 250)).astype("float32")
    a = layers.AlphaDropout(0.1, seed=0)(z, training=True).numpy()
    # alpha dropout keeps standardized inputs standardized
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02
    ap = -1.6732632423543772 * 1.0507009873554805
    scale = (0.9 * (1 + 0.1 * ap ** 2)) ** -0.5
    dropped_value = scale * ap - scale * ap * 0.1  # a alpha' + b
    assert np.mean(np.isclose(a, dropped_value, atol=1e-6)) == pytest.approx(0.1, abs=0.01)


def test_activity_regularization_loss_and_gradient():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.5)
    x = shendu.tensor(np.array([[1.0, -2.0], [0.5, 0.0]]), requires_grad=True)
    layer(x)
    (loss,) = layer.losses
    np.testing.assert_allclose(float(loss), (0.1 * 3.5 + 0.5 * 5.25) / 2)
    loss.backward()
    np.testing.assert_allclose(x.grad, (0.1 * np.sign(x.data) + 0.5 * 2 * x.data) / 2)


@pytest.mark.parametrize("cls, kw, match", [
    (layers.GaussianNoise, {"stddev": 1.5}, r"GaussianNoise.*Received: stddev=1.5"),
    (layers.GaussianDropout, {"rate": -0.1}, r"GaussianDropout.*Received: rate=-0.1"),
    (layers.AlphaDropout, {"rate": 2}, r"AlphaDropout.*Received: rate=2"),
    (layers.SpatialDropout1D, {"rate": 1.0}, r"Received: rate=1.0"),
])
def test_bad_arguments(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)
    with pytest.raises(ValueError, match=r"SpatialDropout2D.*rank-4"):
        layers.SpatialDropout2D(0.5)(np.zeros((2, 3, 4), "float32"), training=True)
