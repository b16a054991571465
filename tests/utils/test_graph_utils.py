"""``utils.get_source_inputs`` and the top-level Layer/InputSpec/KerasTensor names."""
import pytest

import shendu


def _graph(lib):
    a, b, c = lib.Input((2,), name="a"), lib.Input((2,), name="b"), lib.Input((2,), name="c")
    shared = lib.layers.Dense(2, name="shared")
    y = lib.layers.Add(name="add")([shared(b), shared(a), lib.layers.Dense(2, name="d")(b)])
    return (a, b, c), y


def test_sources_in_order_once_each_as_keras():
    keras = pytest.importorskip("keras", reason="compares with real Keras 3")
    for lib in (shendu, keras):
        (a, b, c), y = _graph(lib)
        sources = lib.utils.get_source_inputs(y)
        assert [t.name for t in sources] == ["b", "a"], lib
        assert lib.utils.get_source_inputs(c) == [c]


def test_sequential_and_bad_argument():
    model = shendu.Sequential([shendu.Input((3,)), shendu.layers.Dense(2)])
    assert shendu.utils.get_source_inputs(model.output) == model.inputs
    with pytest.raises(ValueError, match="symbolic tensor"):
        shendu.utils.get_source_inputs([1, 2])


def test_top_level_names():
    assert shendu.Layer is shendu.layers.Layer
    assert shendu.InputSpec is shendu.layers.InputSpec
    assert isinstance(shendu.Input((2,)), shendu.KerasTensor)
