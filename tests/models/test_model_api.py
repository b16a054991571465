"""Model API names Keras programs call: compile config round trip, metrics_names,
stop_training, weights lists, count_params, get_layer errors; names checked against Keras."""
import json

import numpy as np
import pytest

import shendu as keras
from shendu import layers


def _model():
    return keras.Sequential([keras.Input((3,)), layers.Dense(4, name="h"), layers.Dense(2, name="o")])


def test_compile_config_round_trip():
    model = _model()
    assert model.get_compile_config() is None
    model.compile(keras.optimizers.Adam(2e-3), loss="mse", metrics=["mae"])
    config = json.loads(json.dumps(model.get_compile_config()))
    twin = keras.models.clone_model(model)
    twin.compile_from_config(config)
    assert type(twin.optimizer) is keras.optimizers.Adam
    assert float(twin.optimizer.learning_rate) == pytest.approx(2e-3)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    twin.set_weights(model.get_weights())
    assert twin.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    assert twin.metrics_names == model.metrics_names == ["loss", "mae"]


def test_stop_training_from_a_callback_and_get_layer_errors():
    model = _model()
    model.compile("sgd", "mse")

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True
    hist = model.fit(np.ones((16, 3), np.float32), np.zeros((16, 2), np.float32), batch_size=4,
                     epochs=5, callbacks=[Stop()], verbose=0)
    assert len(hist.epoch) == 1 and model.optimizer.iterations == 1
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=5)
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_public_names_present_as_in_keras():
    keras_ = pytest.importorskip("keras", reason="compares names with real Keras 3")
    wanted = ["add_variable", "add_weight", "add_loss", "losses", "build_from_config",
              "get_build_config", "compute_output_shape", "compute_output_spec", "compute_dtype",
              "variable_dtype", "input_dtype", "input_spec", "supports_masking", "path",
              "save_own_variables", "load_own_variables", "trainable_weights",
              "non_trainable_weights", "weights", "trainable_variables",
              "non_trainable_variables", "variables", "count_params", "get_weights",
              "set_weights", "get_config", "from_config", "input", "output"]
    for name in wanted:
        assert hasattr(keras_.layers.Layer, name) or name in ("input", "output"), name
        assert hasattr(keras.layers.Layer, name), name
    model_names = ["to_json", "get_compile_config", "compile_from_config", "summary", "get_layer",
                   "layers", "metrics_names", "inputs", "outputs", "input_shape", "output_shape"]
    model = _model()
    for name in model_names:
        assert hasattr(model, name), name
