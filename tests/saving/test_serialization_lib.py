"""serialize_keras_object / deserialize_keras_object, custom_object_scope and friends."""
import numpy as np
import pytest

import shendu
from shendu.saving import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                           get_custom_objects, get_registered_name, get_registered_object,
                           serialize_keras_object)


def test_layer_round_trip_in_keras_layout():
    layer = shendu.layers.Dense(3, activation="relu", name="d")
    d = serialize_keras_object(layer)
    assert d["module"] == "keras.layers" and d["class_name"] == "Dense"
    assert d["registered_name"] is None and d["config"]["units"] == 3
    back = deserialize_keras_object(d)
    assert type(back) is shendu.layers.Dense and back.units == 3 and back.name == "d"


def test_keras_reads_our_dict_and_we_read_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours = serialize_keras_object(shendu.regularizers.L2(0.25))
    assert keras.saving.deserialize_keras_object(ours).get_config() == {"l2": 0.25}
    theirs = keras.saving.serialize_keras_object(keras.losses.MeanSquaredError())
    loss = deserialize_keras_object(theirs)
    assert isinstance(loss, shendu.losses.MeanSquaredError)
    fn = keras.saving.serialize_keras_object(keras.activations.relu)
    assert deserialize_keras_object(dict(fn, module="keras.activations")) is shendu.activations.relu


def test_values_functions_and_arrays():
    assert serialize_keras_object(None) is None and serialize_keras_object([1, "a"]) == [1, "a"]
    assert serialize_keras_object({"k": (1, 2)}) == {"k": (1, 2)}
    relu = serialize_keras_object(shendu.activations.relu)
    assert relu == {"module": "keras.activations", "class_name": "function", "config": "relu",
                    "registered_name": "function"}
    assert deserialize_keras_object(relu) is shendu.activations.relu
    arr = serialize_keras_object(np.array([1.0, 2.0], np.float32))
    assert arr == {"class_name": "__numpy__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}
    back = deserialize_keras_object(arr)
    assert back.dtype == np.float32 and back.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="not allowed"):
        deserialize_keras_object({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}})
    opt = deserialize_keras_object(serialize_keras_object(shendu.optimizers.Adam(0.01)))
    assert isinstance(opt, shendu.optimizers.Adam) and np.isclose(float(opt.learning_rate), 0.01)


def test_unknown_names_are_refused_and_never_imported():
    with pytest.raises(ValueError, match="Unknown class 'system'.*never imported"):
        deserialize_keras_object({"module": "os", "class_name": "system", "config": {}})
    with pytest.raises(ValueError, match="Unknown class 'system'"):
        deserialize_keras_object({"module": "os", "class_name": "function", "config": "system",
                                  "registered_name": "function"})


class ScopeOnlyDoubler(shendu.layers.Layer):
    def call(self, x):
        return x * 2


def test_custom_object_scope_and_global_custom_objects():
    d = serialize_keras_object(ScopeOnlyDoubler(name="t"))
    with pytest.raises(ValueError, match="Unknown class 'ScopeOnlyDoubler'"):
        deserialize_keras_object(d)
    with custom_object_scope({"ScopeOnlyDoubler": ScopeOnlyDoubler}) as scope:
        assert isinstance(scope, CustomObjectScope)
        assert isinstance(deserialize_keras_object(d), ScopeOnlyDoubler)
        assert get_registered_object("ScopeOnlyDoubler") is ScopeOnlyDoubler
    assert get_registered_object("ScopeOnlyDoubler") is None
    get_custom_objects()["ScopeOnlyDoubler"] = ScopeOnlyDoubler
    try:
        assert isinstance(deserialize_keras_object(d), ScopeOnlyDoubler)
    finally:
        del get_custom_objects()["ScopeOnlyDoubler"]
    assert isinstance(deserialize_keras_object(d, custom_objects={"ScopeOnlyDoubler": ScopeOnlyDoubler}), ScopeOnlyDoubler)


def test_custom_object_scope_reaches_load_model(tmp_path):
    model = shendu.Sequential([shendu.Input((2,)), ScopeOnlyDoubler(name="t2")])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="ScopeOnlyDoubler"):
        shendu.models.load_model(tmp_path / "m.keras")
    with CustomObjectScope({"ScopeOnlyDoubler": ScopeOnlyDoubler}):
        loaded = shendu.models.load_model(tmp_path / "m.keras")
    assert np.array_equal(loaded(np.ones((1, 2), np.float32)).numpy(), [[2.0, 2.0]])


def test_registered_names():
    @shendu.saving.register_keras_serializable(package="pkg_sl")
    class Thrice(shendu.layers.Layer):
        def call(self, x):
            return x * 3
    assert get_registered_name(Thrice) == "pkg_sl>Thrice"
    assert get_registered_object("pkg_sl>Thrice") is Thrice
    d = serialize_keras_object(Thrice())
    assert d["registered_name"] == "pkg_sl>Thrice"
    assert isinstance(deserialize_keras_object(d), Thrice)
    assert get_registered_name(ScopeOnlyDoubler) == "ScopeOnlyDoubler"
    assert shendu.utils.serialize_keras_object is serialize_keras_object


def test_lambda_functions_from_scopes_and_the_unsafe_switch(tmp_path):
    def double(x):
        return x * 2
    model = shendu.Sequential([shendu.Input((2,)), shendu.layers.Lambda(double)])
    model.save(tmp_path / "lam.keras")
    with pytest.raises(Exception, match="safe mode"):
        shendu.models.load_model(tmp_path / "lam.keras", custom_objects={"double": double})
    with custom_object_scope({"double": double}):
        loaded = shendu.models.load_model(tmp_path / "lam.keras", safe_mode=False)
    assert np.array_equal(loaded(np.ones((1, 2), np.float32)).numpy(), [[2.0, 2.0]])
    shendu.config.enable_unsafe_deserialization()
    try:
        loaded = shendu.models.load_model(tmp_path / "lam.keras", custom_objects={"double": double})
        assert np.array_equal(loaded(np.ones((1, 2), np.float32)).numpy(), [[2.0, 2.0]])
    finally:
        shendu.config._UNSAFE_DESERIALIZATION = False
