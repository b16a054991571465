"""``InputSpec`` and ``Layer.input_spec``: checked when the layer is built, errors as Keras's."""
import numpy as np
import pytest

import shendu as keras
from shendu.layers import InputSpec
from shendu.layers.input_spec import assert_input_compatibility


class NeedsRank4(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=4, axes={-1: 3})

    def call(self, x):
        return x


def test_layer_input_spec_is_checked_at_build():
    with pytest.raises(ValueError, match=r"layer 'r4' is incompatible.*expected ndim=4, found ndim=2"):
        NeedsRank4(name="r4")(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        NeedsRank4(name="r4b")(keras.Input((5, 5, 2)))
    out = NeedsRank4()(keras.Input((5, 5, 3)))
    assert out.shape == (None, 5, 5, 3)


@pytest.mark.parametrize("spec, shape, ok", [
    (InputSpec(min_ndim=2), (None, 3), True), (InputSpec(min_ndim=3), (None, 3), False),
    (InputSpec(max_ndim=2), (None, 3, 4), False), (InputSpec(shape=(None, 4)), (8, 4), True),
    (InputSpec(shape=(None, 4)), (8, 5), False), (InputSpec(axes={1: 4}), (2, 4, 9), True),
    (InputSpec(shape=(None, 4, 1), allow_last_axis_squeeze=True), (None, 4), True),
])
def test_rules(spec, shape, ok):
    if ok:
        assert_input_compatibility(spec, [shape], "t")
    else:
        with pytest.raises(ValueError, match="Input 0 of layer 't' is incompatible"):
            assert_input_compatibility(spec, [shape], "t")


def test_dtype_count_and_bad_arguments():
    with pytest.raises(ValueError, match="expected dtype=int32, found dtype=float32"):
        assert_input_compatibility(InputSpec(dtype="int32"), [(2,)], "t", dtypes=["float32"])
    with pytest.raises(ValueError, match="expects 2 input"):
        assert_input_compatibility([InputSpec(), InputSpec()], [(2,)], "t")
    with pytest.raises(ValueError, match="out of range"):
        InputSpec(ndim=2, axes={3: 1})
    spec = InputSpec(ndim=3, axes={-1: 8})
    assert InputSpec.from_config(spec.get_config()).get_config() == spec.get_config()
    assert repr(spec) == "InputSpec(ndim=3, axes={-1: 8})"


def test_matches_keras_on_the_same_specs():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3's InputSpec checks")
    from keras.src.layers.input_spec import assert_input_compatibility as theirs
    cases = [(dict(ndim=2), (None, 3)), (dict(ndim=3), (None, 3)), (dict(min_ndim=3), (4, 3)),
             (dict(max_ndim=1), (4, 3)), (dict(axes={-1: 3}), (4, 3)), (dict(axes={-1: 2}), (4, 3)),
             (dict(shape=(None, 3)), (7, 3)), (dict(shape=(None, 2)), (7, 3))]
    for kwargs, shape in cases:
        def run(fn, spec):
            try:
                fn(spec, [shape], "t")
                return True
            except ValueError:
                return False

        def keras_check(spec, shapes, name):
            theirs(spec, keras_.KerasTensor(shapes[0]), name)
        assert run(assert_input_compatibility, InputSpec(**kwargs)) == \
            run(keras_check, keras_.InputSpec(**kwargs)), (kwargs, shape)
