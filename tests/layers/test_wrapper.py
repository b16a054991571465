"""layers.Wrapper: weight tracking, build, config round trip, training, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers


class Twice(layers.Wrapper):
    def call(self, x):
        return 2 * self.layer(x)


def test_wraps_tracks_weights_and_round_trips():
    w = Twice(layers.Dense(3, name="inner"))
    x = np.random.default_rng(0).standard_normal((4, 2)).astype("float32")
    y = w(x)
    np.testing.assert_allclose(y.numpy(), 2 * w.layer(x).numpy(), rtol=1e-6)
    assert [v.shape for v in w.trainable_weights] == [(2, 3), (3,)]
    config = w.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = Twice.from_config(config)
    clone(x)
    clone.set_weights(w.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), y.numpy())
    (y * y).mean().backward()
    assert all(v.grad is not None for v in w.trainable_weights)


def test_plain_wrapper_is_the_identity_around_its_layer_and_builds_it():
    w = layers.Wrapper(layers.Dense(2))
    w.build((None, 5))
    assert w.layer.built and w.layer.kernel.shape == (5, 2)
    assert w.compute_output_shape((None, 5)) == (None, 2)


def test_keras_config_key_and_error():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref = keras.layers.Wrapper(keras.layers.Dense(2)).get_config()
    ours = layers.Wrapper(layers.Dense(2)).get_config()
    assert set(ref) - {"dtype", "trainable", "name"} <= set(ours)
    with pytest.raises(ValueError, match=r"Wrapper: `layer` must be a Layer instance"):
        layers.Wrapper(shendu.optimizers.Adam())
