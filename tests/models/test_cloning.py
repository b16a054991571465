"""``keras.models.clone_model``: new layers and weights, the same graph; clone_function,
call_function, input_tensors, recursive; errors as Keras's."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def _sequential():
    return keras.Sequential([keras.Input((6,), name="x"), layers.Dense(5, activation="relu", name="h"),
                             layers.Dropout(0.1, name="drop"), layers.Dense(2, name="out")], name="seq")


def _shared_functional():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(3, activation="tanh", name="shared")
    joined = layers.Concatenate(name="cat")([shared(a), shared(b)])
    return keras.Model([a, b], layers.Dense(1, name="out")(joined), name="towers")


def _same_architecture(new, old):
    assert type(new) is type(old) and new.name == old.name
    assert [l.name for l in new.layers] == [l.name for l in old.layers]
    assert [type(l) for l in new.layers] == [type(l) for l in old.layers]
    assert [w.shape for w in new.weights] == [w.shape for w in old.weights]
    assert not any(a is b for a in new.weights for b in old.weights)


def test_clone_sequential_new_weights_same_outputs_once_copied():
    model = _sequential()
    twin = keras.models.clone_model(model)
    _same_architecture(twin, model)
    assert twin.input is not model.input and twin.input.shape == (None, 6)
    assert twin.input.input_layer.name == "x"
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    assert not np.allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    twin.set_weights(model.get_weights())
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    # Training the clone leaves the original alone.
    before = model.get_weights()
    twin.compile("sgd", "mse")
    twin.fit(x, np.ones((4, 2), np.float32), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_clone_functional_keeps_shared_layers_shared():
    model = _shared_functional()
    twin = keras.models.clone_model(model)
    _same_architecture(twin, model)
    assert len(twin.get_layer("shared")._inbound_nodes) == 2
    twin.set_weights(model.get_weights())
    x = [np.ones((2, 4), np.float32), np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4)]
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))


def test_clone_function_and_input_tensors():
    model = _sequential()

    def seeded(layer):  # the Keras documentation's example
        config = layer.get_config()
        if "seed" in config:
            config["seed"] = 1337
        return type(layer).from_config(config)
    twin = keras.models.clone_model(model, clone_function=seeded)
    assert twin.get_layer("drop").seed == 1337 and model.get_layer("drop").seed is None
    new_input = keras.Input((6,), name="fresh")
    on_input = keras.models.clone_model(model, input_tensors=new_input)
    assert on_input.input is new_input
    same = keras.models.clone_model(model, clone_function=lambda layer: layer)
    assert all(a is b for a, b in zip(same.weights, model.weights))
    f = _shared_functional()
    a, b = keras.Input((4,), name="p"), keras.Input((4,), name="q")
    g = keras.models.clone_model(f, input_tensors=[a, b])
    assert g.inputs == [a, b]


def test_call_function_inserts_layers_in_a_functional_clone():
    inputs = keras.Input((4,))
    x = layers.Dense(8, name="d1")(inputs)
    model = keras.Model(inputs, layers.Dense(2, name="d2")(x))

    def call_function(layer, *args, **kwargs):  # the Keras documentation's example
        out = layer(*args, **kwargs)
        if isinstance(layer, layers.Dense):
            out = layers.Dropout(0.5)(out)
        return out
    twin = keras.models.clone_model(model, clone_function=lambda l: l, call_function=call_function)
    kinds = [type(l).__name__ for l in twin.layers]
    assert kinds.count("Dropout") == 2 and kinds.count("Dense") == 2
    assert twin.get_layer("d1") is model.get_layer("d1")


def test_recursive_clones_nested_models():
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="inner_dense")], name="inner")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1, name="top")(inner(inputs)))
    seen = []

    def record(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())
    keras.models.clone_model(model, clone_function=record)
    assert "inner" in seen and "inner_dense" not in seen
    seen.clear()
    twin = keras.models.clone_model(model, clone_function=record, recursive=True)
    assert "inner_dense" in seen and "inner" not in seen
    assert twin.count_params() == model.count_params()


def test_lambda_layers_clone_with_their_function():
    model = keras.Sequential([keras.Input((3,)), layers.Lambda(lambda t: t * 2.0, name="double")])
    twin = keras.models.clone_model(model)
    assert twin.get_layer("double") is not model.get_layer("double")
    np.testing.assert_array_equal(twin.predict(np.ones((1, 3), np.float32), verbose=0), [[2, 2, 2]])


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="Unexpected keyword argument"):
        keras.models.clone_model(_sequential(), bogus=1)
    with pytest.raises(ValueError, match="not supported with Sequential"):
        keras.models.clone_model(_sequential(), call_function=lambda l, *a, **k: l(*a, **k))
    with pytest.raises(ValueError, match="single tensor"):
        keras.models.clone_model(_sequential(), input_tensors=[keras.Input((6,)), keras.Input((6,))])
    with pytest.raises(ValueError, match="shendu.Input"):
        keras.models.clone_model(_sequential(), input_tensors=np.zeros((1, 6)))

    class Custom(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)
    with pytest.raises(ValueError, match="only supported for Sequential and Functional"):
        keras.models.clone_model(Custom(), clone_function=lambda l: l)
    assert isinstance(keras.models.clone_model(Custom(name="c")), Custom)


def test_same_architecture_as_keras_clone():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3's clone_model")
    theirs = keras_.models.clone_model(keras_.models.model_from_json(_shared_functional().to_json()))
    ours = keras.models.clone_model(_shared_functional())
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_keras_models_namespace_names():
    for name in ("Model", "Sequential", "load_model", "save_model", "model_from_json", "clone_model"):
        assert callable(getattr(shendu.models, name)), name


def test_models_save_model_and_load_model(tmp_path):
    model = _sequential()
    path = tmp_path / "m.keras"
    shendu.models.save_model(model, path)
    loaded = shendu.models.load_model(path)
    x = np.ones((2, 6), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(TypeError, match="unrecognized keyword"):
        shendu.models.save_model(model, path, zipped=False)
