"""shendu.backend: Keras's keras.backend names, checked against real Keras where it helps."""
import numpy as np
import pytest

import shendu
from shendu import backend


def test_settings_round_trip_and_are_shared_with_config():
    assert backend.backend() == "shendu" == shendu.config.backend()
    assert backend.epsilon() == 1e-7 and backend.floatx() == "float32"
    assert backend.image_data_format() == "channels_last"
    try:
        backend.set_epsilon(1e-5)
        assert shendu.config.epsilon() == 1e-5
        backend.set_floatx("float64")
        assert shendu.config.floatx() == "float64"
        backend.set_image_data_format("channels_first")
        assert shendu.config.image_data_format() == "channels_first"
    finally:
        backend.set_epsilon(1e-7)
        backend.set_floatx("float32")
        backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        backend.set_image_data_format("nhwc")
    with pytest.raises(ValueError, match="float128"):
        backend.set_floatx("float128")


def test_get_uid_counts_per_prefix_and_clear_session_resets_it():
    backend.clear_session()
    assert [backend.get_uid("a"), backend.get_uid("a"), backend.get_uid("b")] == [1, 2, 1]
    backend.clear_session()
    assert backend.get_uid("a") == 1


def test_clear_session_resets_layer_names():
    backend.clear_session()
    first = shendu.layers.Dense(2).name
    second = shendu.layers.Dense(2).name
    assert second != first
    backend.clear_session()
    assert shendu.layers.Dense(2).name == first


def test_clear_session_empties_the_buffer_pool():
    from shendu.kernels import workspace
    buf = workspace.empty((1024,), np.float32)
    del buf
    backend.clear_session()
    assert workspace.pooled_bytes() == 0


def test_is_keras_tensor():
    x = shendu.Input((3,))
    assert backend.is_keras_tensor(x)
    assert backend.is_keras_tensor(shendu.layers.Dense(2)(x))
    assert not backend.is_keras_tensor(np.zeros(3))
    assert not backend.is_keras_tensor(shendu.tensor([1.0]))


def test_standardize_dtype_matches_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    for d in ["float32", "float16", "int", int, float, bool, "bool", "uint8", np.int64,
              np.dtype("float64"), "complex64", None]:
        assert backend.standardize_dtype(d) == keras.backend.standardize_dtype(d), d
    with pytest.raises(ValueError, match="Invalid dtype"):
        backend.standardize_dtype("quaternion")


def test_is_float_and_is_int_dtype():
    assert backend.is_float_dtype("float16") and backend.is_float_dtype(np.float64)
    assert not backend.is_float_dtype("int32")
    assert backend.is_int_dtype("uint8") and backend.is_int_dtype(int)
    assert not backend.is_int_dtype("bool") and not backend.is_int_dtype("float32")


PROMOTIONS = [("int32", "float32"), ("float16", float), ("uint8", "int8"), ("int32", int),
              ("bool", "int8"), (int, float), ("bfloat16", "float16"), ("float32",), (),
              (None, "int32"), ("int64", "float16"), ("bool",), (bool, int), ("uint16", "int8"),
              ("float16", "float32"), ("int8", int, float), ("complex64", "float32")]


@pytest.mark.parametrize("dtypes", PROMOTIONS, ids=str)
def test_result_type_matches_keras(dtypes):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    assert backend.result_type(*dtypes) == keras.backend.result_type(*dtypes)


def test_result_type_keeps_64_bit_types():
    # Keras on JAX folds these to 32 bits; shendu keeps them, as Keras on TensorFlow does.
    assert backend.result_type("float64", "float32") == "float64"
    assert backend.result_type("int8", "uint32") == "int64"
    assert backend.result_type("int64", "int32") == "int64"
    with pytest.raises(ValueError, match="no available implicit dtype promotion"):
        backend.result_type("string", "int32")
