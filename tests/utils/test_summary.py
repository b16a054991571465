"""``model.summary``: Keras's options (expand_nested, show_trainable, layer_range, line_length)."""
import pytest

import shendu as keras
from shendu import layers


def _nested():
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="inner_dense"),
                              layers.Dropout(0.1, name="inner_drop")], name="inner")
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, layers.Dense(1, name="top")(inner(inputs)), name="outer")


def _lines(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out


def test_plain_summary_lists_top_layers_with_shapes():
    text = "\n".join(_lines(_nested()))
    assert "x (InputLayer)" in text and "(None, 3)" in text
    assert "inner (Sequential)" in text and "inner_dense" not in text
    assert "Total params: 21" in text


def test_expand_nested_and_show_trainable():
    model = _nested()
    model.get_layer("inner").get_layer("inner_dense").trainable = False
    lines = _lines(model, expand_nested=True, show_trainable=True)
    text = "\n".join(lines)
    assert "Trainable" in lines[2]
    row = next(l for l in lines if "inner_dense (Dense)" in l)
    assert "└" in row and row.rstrip().endswith("N") and "(None, 4)" in row
    assert next(l for l in lines if "top (Dense)" in l).rstrip().endswith("Y")
    assert next(l for l in lines if "inner_drop" in l).rstrip().endswith("-")
    assert "Non-trainable params: 16" in text


def test_layer_range_and_line_length():
    lines = _lines(_nested(), layer_range=["inner", "top"], line_length=90)
    text = "\n".join(lines)
    assert "x (InputLayer)" not in text and "inner (Sequential)" in text and "top (Dense)" in text
    assert len(lines[1]) == 90
    with pytest.raises(ValueError, match="does not match"):
        _nested().summary(layer_range=["nope", "top"])
    with pytest.raises(ValueError, match="2 strings"):
        _nested().summary(layer_range="top")


def test_same_options_as_keras():
    keras_ = pytest.importorskip("keras", reason="compares the signature with real Keras 3")
    import inspect
    theirs = set(inspect.signature(keras_.Model.summary).parameters)
    ours = set(inspect.signature(keras.Model.summary).parameters)
    assert theirs <= ours
