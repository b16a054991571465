"""Layer and model attributes Keras 3 programs read: dtype_policy, trainable_variables /
non_trainable_variables, input_shape / output_shape, input_names / output_names;
compared with real Keras (JAX backend)."""
import numpy as np
import pytest

import shendu as keras


def _keras():
    return pytest.importorskip("keras", reason="real Keras is the reference for these attributes")


@pytest.fixture
def global_policy_restored():
    yield
    keras.mixed_precision.set_global_policy("float32")
    k = _keras()
    k.mixed_precision.set_global_policy("float32")


@pytest.mark.filterwarnings("ignore:shendu runs the")
def test_dtype_policy_matches_keras(global_policy_restored):
    k = _keras()

    def describe(lib):
        out = []
        for dtype in ("mixed_float16", None, "float64", lib.DTypePolicy("float64")):
            layer = lib.layers.Dense(2, dtype=dtype)
            out.append((layer.dtype_policy.name, layer.dtype_policy.compute_dtype,
                        layer.dtype_policy.variable_dtype, layer.variable_dtype))
        lib.mixed_precision.set_global_policy("mixed_bfloat16")
        made_under_mixed = lib.layers.Dense(2)
        lib.mixed_precision.set_global_policy("float32")
        out.append(made_under_mixed.dtype_policy.name)  # kept after the global policy changes
        layer = lib.layers.Dense(2)
        layer.dtype_policy = "float64"
        layer.build((None, 3))
        out.append((layer.dtype_policy.name, str(layer.kernel.dtype)))
        inputs = lib.Input((3,))
        out.append(lib.Model(inputs, lib.layers.Dense(2)(inputs)).dtype_policy.name)
        return out

    assert describe(keras) == describe(k)
    built = keras.layers.Dense(2)
    built.build((None, 3))
    with pytest.raises(ValueError, match="before the layer is built"):
        built.dtype_policy = "float64"


def _paths(variables):
    return [v.path.split("/")[-1] for v in variables]


def test_trainable_and_non_trainable_variables_match_keras():
    k = _keras()

    def describe(lib):
        inputs = lib.Input((4,))
        x = lib.layers.Dense(3)(inputs)
        x = lib.layers.BatchNormalization()(x)
        inner = lib.Model(inputs, x)
        outer = lib.Sequential([lib.Input((4,)), inner, lib.layers.Dense(1)])
        layers = [inner.layers[1], inner.layers[2], inner, outer]
        rows = [(_paths(l.trainable_variables), _paths(l.non_trainable_variables)) for l in layers]
        inner.layers[1].trainable = False  # freezing moves a layer's weights, as in Keras
        rows.append((_paths(outer.trainable_variables), _paths(outer.non_trainable_variables)))
        rows.append((_paths(lib.layers.Dropout(0.5).trainable_variables),
                     _paths(lib.layers.Flatten().non_trainable_variables)))
        return rows

    assert describe(keras) == describe(k)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert all(isinstance(v, keras.Variable) for v in model.trainable_variables)
    assert [id(v) for v in model.trainable_variables] == [id(v) for v in model.trainable_weights]


def test_input_and_output_shapes_and_names():
    inputs = keras.Input((8, 3), name="seq")
    conv = keras.layers.Conv1D(4, 3, name="conv")
    flat = keras.layers.Flatten(name="flat")
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(flat(conv(inputs))))
    assert (conv.input_shape, conv.output_shape) == ((None, 8, 3), (None, 6, 4))
    assert (flat.input_shape, flat.output_shape) == ((None, 6, 4), (None, 24))
    assert (model.input_shape, model.output_shape) == ((None, 8, 3), (None, 2))
    assert (model.input_names, model.output_names) == (["seq"], ["head"])
    k = _keras()
    k_inputs = k.Input((8, 3), name="seq")
    k_model = k.Model(k_inputs, k.layers.Dense(2, name="head")(
        k.layers.Flatten()(k.layers.Conv1D(4, 3)(k_inputs))))
    assert k_model.output_names == model.output_names
    assert tuple(k_model.layers[1].output.shape) == conv.output_shape
    a, b = keras.Input((3,)), keras.Input((2,))
    two = keras.Model({"a": a, "b": b}, [keras.layers.Dense(1)(a), keras.layers.Dense(4)(b)])
    assert (two.input_shape, two.output_shape) == ([(None, 3), (None, 2)], [(None, 1), (None, 4)])
    with pytest.raises(AttributeError, match="has not been called"):
        keras.layers.Dense(2).output_shape
