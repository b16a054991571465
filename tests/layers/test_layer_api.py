"""The rest of Keras's Layer API: add_variable, add_metric, path, dtypes, build config,
own-variable stores, compute_output_spec, trainable freezing, add_loss/losses."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def test_build_config_round_trip_creates_the_same_weights():
    dense = layers.Dense(3)
    assert dense.get_build_config() is None
    dense(np.zeros((2, 5), np.float32))
    config = dense.get_build_config()
    assert config == {"input_shape": [2, 5]}
    twin = layers.Dense.from_config(dense.get_config())
    twin.build_from_config(config)
    assert twin.built and [w.shape for w in twin.weights] == [(5, 3), (3,)]
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    assert seq.get_build_config() == {"input_shape": [None, 4]}
    other = keras.Sequential([layers.Dense(2)])
    other.build_from_config(seq.get_build_config())
    assert other.count_params() == seq.count_params()


def test_build_config_matches_keras():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3")
    for lib in (keras, keras_):
        d = lib.layers.Dense(3)
        d.build((None, 5))
        assert d.get_build_config() == {"input_shape": [None, 5]} or \
            d.get_build_config() == {"input_shape": (None, 5)}


def test_own_variables_store_round_trip_and_errors():
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    bn.moving_mean.assign(np.arange(4, dtype=np.float32))
    store = {}
    bn.save_own_variables(store)
    assert sorted(store) == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(store["2"], np.arange(4))  # gamma, beta, moving mean, variance
    other = layers.BatchNormalization()
    other.build((None, 4))
    other.load_own_variables(store)
    np.testing.assert_array_equal(other.moving_mean.numpy(), np.arange(4))
    with pytest.raises(ValueError, match="expected 4 variables, but received 3"):
        other.load_own_variables({k: store[k] for k in "012"})
    with pytest.raises(ValueError, match="has shape"):
        other.load_own_variables({**store, "0": np.zeros(5)})


def test_own_variables_store_loads_keras_layer_store():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3")
    theirs = keras_.layers.BatchNormalization()
    theirs.build((None, 3))
    theirs.moving_variance.assign(np.array([1.0, 2.0, 3.0], np.float32))
    store = {}
    theirs.save_own_variables(store)
    ours = layers.BatchNormalization()
    ours.build((None, 3))
    ours.load_own_variables(store)
    np.testing.assert_array_equal(ours.moving_variance.numpy(), [1, 2, 3])


def test_add_variable_dtypes_path_and_add_metric():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_variable((input_shape[-1],), "ones", name="scale")

        def call(self, x):
            return x * self.scale
    layer = Scale(name="scaler")
    out = layer(np.ones((2, 3), np.float32))
    assert out.shape == (2, 3) and layer.scale.path == "scaler/scale"
    assert layer.path == "scaler"
    assert layer.compute_dtype == layer.variable_dtype == layer.input_dtype == "float32"
    assert layers.Dense(2, dtype="float64").compute_dtype == "float64"
    with pytest.raises(NotImplementedError, match="compile"):
        layer.add_metric(1.0)


def test_compute_output_spec():
    spec = layers.Conv2D(4, 3).compute_output_spec(keras.Input((8, 8, 3)))
    assert isinstance(spec, layers.KerasTensor) and spec.shape == (None, 6, 6, 4)
    cat = layers.Concatenate().compute_output_spec([keras.Input((2,)), keras.Input((3,))])
    assert cat.shape == (None, 5)


def test_trainable_false_freezes_and_fit_leaves_the_weights():
    shendu.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="a"), layers.Dense(1, name="b")])
    model.get_layer("a").trainable = False
    assert [w.path for w in model.trainable_weights] == ["b/kernel", "b/bias"]
    frozen = model.get_layer("a").kernel.numpy().copy()
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32), epochs=2, verbose=0)
    np.testing.assert_array_equal(frozen, model.get_layer("a").kernel.numpy())


def test_add_loss_reaches_model_losses_and_training():
    class Penalized(layers.Layer):
        def call(self, x):
            self.add_loss(shendu.ops.sum(x * x) * 0.0 + 7.0)
            return x
    inputs = keras.Input((2,))
    model = keras.Model(inputs, layers.Dense(1)(Penalized()(inputs)))
    model(np.ones((1, 2), np.float32))
    assert [float(np.asarray(loss)) for loss in model.losses] == [7.0]
    model.compile("sgd", "mse")
    loss = model.evaluate(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    assert loss >= 7.0
