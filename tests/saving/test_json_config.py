"""``model.to_json`` / ``models.model_from_json`` and Sequential/Functional ``get_config``
in Keras 3's form, checked both ways against real Keras."""
import json

import numpy as np
import pytest

import shendu
from shendu.saving import UnsafeFileError


def _sequential(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((8, 8, 3), name="image"),
                           L.Conv2D(4, 3, activation="relu", padding="same", name="conv",
                                    kernel_regularizer="l2"),
                           L.BatchNormalization(name="bn"), L.MaxPooling2D(name="pool"),
                           L.Flatten(name="flat"), L.Dropout(0.2, name="drop"),
                           L.Dense(2, activation="softmax", name="dense")], name="net")


def _functional(lib):
    L = lib.layers
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = L.Dense(3, activation="tanh", name="shared")
    joined = L.Concatenate(name="cat")([shared(a), shared(b)])
    return lib.Model([a, b], L.Dense(1, name="out")(joined), name="two_towers")


def _nested(lib):
    L = lib.layers
    inner = lib.Sequential([lib.Input((4,), name="inner_in"), L.Dense(3, name="i1")], name="inner")
    x = lib.Input((4,), name="func_in")
    func = lib.Model(x, L.Dense(2, name="f1")(inner(x)), name="func")
    return lib.Sequential([lib.Input((4,), name="outer_in"), func, L.Dense(1, name="o1")],
                          name="outer")


def _lstm_states(lib):
    x = lib.Input((5, 3), name="seq")
    seq, h, _ = lib.layers.LSTM(4, return_sequences=True, return_state=True, name="lstm")(x)
    return lib.Model(x, [seq, h], name="rnn")


def _inputs(kind):
    rng = np.random.default_rng(0)
    if kind == "sequential":
        return rng.random((3, 8, 8, 3), dtype=np.float32)
    if kind == "nested":
        return rng.random((3, 4), dtype=np.float32)
    if kind == "lstm_states":
        return rng.random((3, 5, 3), dtype=np.float32)
    return [rng.random((3, 4), dtype=np.float32), rng.random((3, 4), dtype=np.float32)]


BUILDERS = {"sequential": _sequential, "functional": _functional, "nested": _nested,
            "lstm_states": _lstm_states}


def _close(a, b):
    if isinstance(b, list):
        return len(a) == len(b) and all(_close(p, q) for p, q in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_json_round_trip_in_shendu(kind):
    model = BUILDERS[kind](shendu)
    clone = shendu.models.model_from_json(model.to_json())
    assert type(clone) is type(model) and clone.name == model.name
    if kind != "lstm_states":  # (an LSTM's cell is named from a global counter: lstm_cell_1)
        assert [w.path for w in clone.weights] == [w.path for w in model.weights]
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    clone.set_weights(model.get_weights())
    x = _inputs(kind)
    assert _close(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    # get_config/from_config give the same model, through keras.Model.from_config too.
    again = shendu.Sequential.from_config(model.get_config()) \
        if isinstance(model, shendu.Sequential) else shendu.Model.from_config(model.get_config())
    assert again.count_params() == model.count_params()


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_real_keras_loads_shendu_json(kind):
    keras = pytest.importorskip("keras", reason="cross-check with real Keras 3")
    ours = BUILDERS[kind](shendu)
    theirs = keras.models.model_from_json(ours.to_json())
    assert [l.name for l in theirs.layers] == [l.name for l in ours.layers]
    theirs.set_weights(ours.get_weights())
    x = _inputs(kind)
    assert _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_shendu_loads_real_keras_json(kind):
    keras = pytest.importorskip("keras", reason="cross-check with real Keras 3")
    theirs = BUILDERS[kind](keras)
    ours = shendu.models.model_from_json(theirs.to_json())
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    ours.set_weights(theirs.get_weights())
    x = _inputs(kind)
    assert _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_json_has_keras_structure(kind):
    keras = pytest.importorskip("keras", reason="compares with the JSON real Keras 3 writes")
    ours, theirs = json.loads(BUILDERS[kind](shendu).to_json()), json.loads(BUILDERS[kind](keras).to_json())
    for key in ("module", "class_name", "registered_name"):
        assert ours[key] == theirs[key]
    assert set(ours["config"]) == set(theirs["config"])
    for mine, ref in zip(ours["config"]["layers"], theirs["config"]["layers"]):
        assert (mine["module"], mine["class_name"], mine["registered_name"]) == \
            (ref["module"], ref["class_name"], ref["registered_name"])
        assert mine["config"]["name"] == ref["config"]["name"]
        assert mine["config"].get("dtype") == ref["config"].get("dtype")
        # The same tensors feed each node (Keras also writes call defaults such as
        # {"training": False, "mask": None} among the kwargs; shendu writes those given).
        assert [n["args"] for n in mine.get("inbound_nodes", [])] == \
            [n["args"] for n in ref.get("inbound_nodes", [])]
        for key, value in ref["config"].items():
            if key.endswith("_initializer") and value is not None:
                assert mine["config"][key]["module"] == value["module"]
                assert mine["config"][key]["class_name"] == value["class_name"]
    if kind == "functional":
        assert ours["config"]["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
        assert ours["config"]["output_layers"] == ["out", 0, 0] == theirs["config"]["output_layers"]


def test_model_from_json_refuses_code_and_bad_input():
    model = _sequential(shendu)
    doc = json.loads(model.to_json())
    doc["config"]["layers"][1]["class_name"] = "system"
    doc["config"]["layers"][1]["module"] = "os"
    with pytest.raises(UnsafeFileError, match="Unknown class 'system'"):
        shendu.models.model_from_json(json.dumps(doc))
    with pytest.raises(ValueError, match="not valid JSON"):
        shendu.models.model_from_json("{'class_name': 'Sequential'")
    with pytest.raises(TypeError, match="expects a JSON string"):
        shendu.models.model_from_json({"class_name": "Sequential"})
    doc = json.loads(model.to_json())
    doc["config"]["layers"][2]["config"]["renorm"] = True
    with pytest.raises(UnsafeFileError, match="renorm=True is not supported"):
        shendu.models.model_from_json(json.dumps(doc))


def test_sequential_json_keeps_the_input_dtype_and_shape():
    model = shendu.Sequential([shendu.Input((5,), dtype="int32"), shendu.layers.Embedding(10, 3)])
    doc = json.loads(model.to_json())
    first = doc["config"]["layers"][0]
    assert first["class_name"] == "InputLayer" and first["config"]["dtype"] == "int32"
    assert first["config"]["batch_shape"] == [None, 5]
    clone = shendu.models.model_from_json(model.to_json())
    assert clone.input.dtype == np.dtype("int32") and clone.output_shape == (None, 5, 3)


def test_registered_custom_layer_keeps_its_module_and_name():
    from shendu.saving import registry

    @shendu.saving.register_keras_serializable(package="json_demo")
    class JsonConfigTwice(shendu.layers.Layer):
        def call(self, x):
            return x * 2.0
    try:
        model = shendu.Sequential([shendu.Input((3,)), JsonConfigTwice(name="twice"),
                                   shendu.layers.Dense(2)])
        entry = json.loads(model.to_json())["config"]["layers"][1]
        assert (entry["module"], entry["class_name"], entry["registered_name"]) == \
            (__name__, "JsonConfigTwice", "json_demo>JsonConfigTwice")
        clone = shendu.models.model_from_json(model.to_json())
        assert type(clone.get_layer("twice")) is JsonConfigTwice
    finally:  # (the registry is global: leave no class behind for other tests)
        registry._REGISTERED.pop("json_demo>JsonConfigTwice", None)
        registry._NAMES.pop(JsonConfigTwice, None)


def test_dtype_policies_are_checked():
    doc = json.loads(_sequential(shendu).to_json())
    doc["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "object"
    with pytest.raises(UnsafeFileError, match="dtype 'object' is not allowed"):
        shendu.models.model_from_json(json.dumps(doc))
    doc["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "mixed_float16"
    assert shendu.models.model_from_json(json.dumps(doc)).get_layer("conv") is not None
