"""ZeroPadding3D, Cropping3D, UpSampling3D: shared layer check and real Keras."""
import numpy as np
import pytest

from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("name, kw", [
    ("ZeroPadding3D", {}), ("ZeroPadding3D", {"padding": (1, 0, 2)}),
    ("ZeroPadding3D", {"padding": ((0, 1), (2, 0), (1, 1))}),
    ("ZeroPadding3D", {"padding": 1, "data_format": "channels_first"}),
    ("Cropping3D", {}), ("Cropping3D", {"cropping": ((0, 1), (1, 0), (0, 2))}),
    ("Cropping3D", {"cropping": (0, 1, 0), "data_format": "channels_first"}),
    ("UpSampling3D", {}), ("UpSampling3D", {"size": (1, 2, 3)}),
    ("UpSampling3D", {"size": 2, "data_format": "channels_first"}),
])
def test_shared_check_and_keras(name, kw):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    shape = (2, 3, 4, 5, 2)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = np.asarray(getattr(keras.layers, name)(**kw)(x))
    layer = run_layer_test(getattr(layers, name), kw, shape, want.shape, input_data=x,
                           gradcheck_shape=(1, 3, 4, 3, 2))
    np.testing.assert_array_equal(layer(x).numpy(), want)
    ref_cfg = getattr(keras.layers, name)(**kw).get_config()
    ours = layer.get_config()
    for key in set(ref_cfg) - {"name", "dtype", "trainable"}:
        norm = (lambda v: [list(p) if isinstance(p, (list, tuple)) else p for p in v]
                if isinstance(v, (list, tuple)) else v)
        assert norm(ours[key]) == norm(ref_cfg[key]), (name, key)


def test_errors():
    with pytest.raises(ValueError, match=r"ZeroPadding3D.*Received: padding=-1"):
        layers.ZeroPadding3D(-1)
    with pytest.raises(ValueError, match=r"Cropping3D.*rank-5 input \(batch, depth, height, width"):
        layers.Cropping3D()(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"Cropping3D.*larger than the cropping"):
        layers.Cropping3D(2)(np.zeros((1, 3, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"UpSampling3D.*size"):
        layers.UpSampling3D(size=(2, 2))
