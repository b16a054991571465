"""Adaptive average/max pooling layers 1-D/2-D/3-D: shared layer check and real Keras."""
import numpy as np
import pytest

from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("name, kw, shape", [
    ("AdaptiveAveragePooling1D", {"output_size": 3}, (2, 7, 3)),
    ("AdaptiveMaxPooling1D", {"output_size": 4}, (2, 9, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": (3, 2)}, (2, 7, 5, 3)),
    ("AdaptiveMaxPooling2D", {"output_size": 2}, (2, 5, 6, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": 2, "data_format": "channels_first"}, (2, 3, 5, 6)),
    ("AdaptiveAveragePooling3D", {"output_size": (2, 3, 2)}, (1, 4, 7, 5, 2)),
    ("AdaptiveMaxPooling3D", {"output_size": 2}, (1, 5, 4, 3, 2)),
])
def test_shared_check_and_keras(name, kw, shape):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = np.asarray(getattr(keras.layers, name)(**kw)(x))
    layer = run_layer_test(getattr(layers, name), kw, shape, want.shape, input_data=x)
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-6, atol=1e-6)
    ref_cfg = getattr(keras.layers, name)(**kw).get_config()
    cfg = layer.get_config()
    assert tuple(cfg["output_size"]) == tuple(ref_cfg["output_size"])
    assert cfg["data_format"] == ref_cfg["data_format"]


def test_errors():
    with pytest.raises(ValueError, match=r"AdaptiveMaxPooling2D.*Received: output_size=\(2, 0\)"):
        layers.AdaptiveMaxPooling2D((2, 0))
    with pytest.raises(ValueError, match=r"AdaptiveAveragePooling1D.*rank-3 input"):
        layers.AdaptiveAveragePooling1D(2)(np.zeros((2, 3, 4, 5), "float32"))
