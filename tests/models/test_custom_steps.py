"""Keras's step contract: train_step(data)/test_step(data)/predict_step(data) overridable,
compute_loss returns a scalar, compute_metrics/get_metrics_result, zero_grad, and a Model
subclass made from (inputs, outputs)."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def _xy(n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x.sum(1, keepdims=True) > 0).astype(np.float32)


def test_model_subclass_from_inputs_outputs_is_functional():
    class Custom(keras.Model):
        def marker(self):
            return "custom"
    inputs = keras.Input((4,))
    model = Custom(inputs, layers.Dense(1, name="d")(inputs), name="c")
    assert isinstance(model, Custom) and isinstance(model, keras.models.Functional)
    assert type(model).__name__ == "Custom" and model.marker() == "custom"
    assert model.get_layer("d").output is model.output and model.count_params() == 5
    assert type(Custom(inputs, model.output)) is type(model)
    again = Custom.from_config(model.get_config())
    assert type(again) is type(model) and again.count_params() == 5


def test_default_steps_follow_the_data_contract():
    x, y = _xy()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(inputs))
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    logs = model.train_step((x, y))
    assert set(logs) == {"loss", "accuracy"}
    logs = model.test_step((x, y, np.ones(len(x), np.float32)))
    assert set(logs) == {"loss", "accuracy"}
    pred = model.predict_step((x,))
    np.testing.assert_allclose(pred.numpy(), model.predict(x, verbose=0), rtol=1e-6)
    loss = model.compute_loss(y=y, y_pred=model(x))
    assert isinstance(loss, shendu.Tensor) and loss.shape == ()


def test_overridden_predict_step_is_used_by_predict():
    class Doubled(keras.Model):
        def predict_step(self, data):
            return super().predict_step(data) * 2.0
    inputs = keras.Input((4,))
    model = Doubled(inputs, layers.Dense(1)(inputs))
    x, _ = _xy(8)
    np.testing.assert_allclose(model.predict(x, verbose=0), 2.0 * model(x).numpy(), rtol=1e-6)


def test_overridden_train_step_trains_and_metrics_are_ready_after_compute_loss():
    seen = {}

    class Manual(keras.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            seen["names"] = [m.name for m in self.metrics]
            loss.backward()
            weights = self.trainable_weights
            self.optimizer.apply([w.grad for w in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss.numpy())
                else:
                    metric.update_state(y, y_pred.numpy())
            return {m.name: m.result() for m in self.metrics}
    shendu.utils.set_random_seed(0)
    x, y = _xy(128)
    inputs = keras.Input((4,))
    model = Manual(inputs, layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(keras.optimizers.SGD(0.5), "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert seen["names"] == ["loss", "accuracy"]
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.9


def test_compute_metrics_updates_only_the_compiled_metrics():
    x, y = _xy()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(inputs))
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    model.compute_loss(y=y, y_pred=model(x))
    result = model.compute_metrics(x, y, model(x))
    assert result == model.get_metrics_result()
    assert result["loss"] == 0.0 and 0.0 <= result["accuracy"] <= 1.0
    accuracy = float(np.mean((model.predict(x, verbose=0) > 0.5) == y))
    assert result["accuracy"] == pytest.approx(accuracy)


def test_model_subclass_from_inputs_outputs_saves_and_loads(tmp_path):
    class Saved(keras.Model):
        def train_step(self, data):
            return super().train_step(data)
    inputs = keras.Input((3,))
    model = Saved(inputs, layers.Dense(2)(inputs))
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    path = tmp_path / "saved.keras"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"Saved": Saved})
    assert isinstance(loaded, Saved)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_metrics_held_as_attributes_are_tracked_as_keras():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3")
    results = {}
    for lib in (keras, keras_):
        class Tracked(lib.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense = lib.layers.Dense(1)
                self.seen = lib.metrics.Mean(name="seen")

            def call(self, x):
                return self.dense(x)
        model = Tracked()
        before = [m.name for m in model.metrics]
        model.compile("sgd", "mse", metrics=["mae"])
        x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
        hist = model.fit(x, y, epochs=1, verbose=0)
        model.seen.update_state(np.array([5.0], np.float32))
        result = model.evaluate(x, y, verbose=0)
        results[lib] = (before, sorted(hist.history), len(result), float(model.seen.result()))
    ours, theirs = results[keras], results[keras_]
    assert ours[0] == theirs[0] == ["seen"]
    assert ours[1] == theirs[1] == ["loss", "mae", "seen"]
    assert ours[2] == theirs[2] == 3
    assert ours[3] == theirs[3] == 0.0        # evaluate resets every metric first
    assert keras.layers.Dense(2).metrics == [] and keras.layers.Dense(2).metrics_variables == []
