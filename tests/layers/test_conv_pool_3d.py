"""Conv3D, Conv3DTranspose and the 3-D poolings: shared layer check (float64 gradcheck),
real Keras with the same weights, aliases, errors."""
import numpy as np
import pytest

from shendu import layers
from shendu.testing import run_layer_test


def _close(a, b):
    assert a.shape == b.shape
    assert np.linalg.norm(a - b) <= 1e-5 * max(np.linalg.norm(b), 1e-6)


@pytest.mark.parametrize("name, kw, shape, gc_shape", [
    ("Conv3D", {"filters": 3, "kernel_size": 2}, (2, 4, 5, 3, 2), (1, 3, 3, 2, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": (3, 1, 2), "strides": (2, 1, 1), "padding": "same",
                "activation": "relu"}, (2, 5, 4, 4, 3), (1, 3, 2, 2, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
     (1, 5, 5, 5, 1), (1, 3, 3, 3, 1)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (2, 2, 3, 2, 3),
     (1, 2, 2, 2, 2)),
    ("Conv3DTranspose", {"filters": 3, "kernel_size": 3, "padding": "same", "strides": (1, 2, 1)},
     (1, 3, 2, 3, 2), (1, 2, 2, 2, 1)),
])
def test_conv3d_shared_check_and_keras(name, kw, shape, gc_shape):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ref = getattr(keras.layers, name)(**kw)
    want_shape = ref.compute_output_shape(shape)
    layer = run_layer_test(getattr(layers, name), kw, shape, want_shape, input_data=x,
                           gradcheck_shape=gc_shape,
                           expected_num_trainable_weights=1 + kw.get("use_bias", True))
    ref.build(shape)
    ws = [np.random.default_rng(i + 1).standard_normal(w.shape).astype("float32") * 0.3
          for i, w in enumerate(ref.weights)]
    assert [w.shape for w in layer.weights] == [tuple(w.shape) for w in ref.weights]
    ref.set_weights(ws)
    layer.set_weights(ws)
    _close(layer(x).numpy(), np.asarray(ref(x)))
    assert layer.get_config()["kernel_size"] in (list(ref.get_config()["kernel_size"]),
                                                 tuple(ref.get_config()["kernel_size"]))


@pytest.mark.parametrize("name, kw", [
    ("MaxPooling3D", {}), ("MaxPooling3D", {"pool_size": (2, 1, 3), "strides": 1}),
    ("MaxPooling3D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling3D", {"pool_size": 2}), ("AveragePooling3D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("GlobalMaxPooling3D", {}), ("GlobalAveragePooling3D", {"keepdims": True}),
])
def test_pool3d_shared_check_and_keras(name, kw):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    shape = (2, 4, 5, 6, 3)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = np.asarray(getattr(keras.layers, name)(**kw)(x))
    layer = run_layer_test(getattr(layers, name), kw, shape, want.shape, input_data=x,
                           gradcheck_shape=(1, 4, 4, 3, 2))
    _close(layer(x).numpy(), want)


def test_aliases_and_errors():
    assert layers.Convolution3D is layers.Conv3D
    assert layers.Convolution3DTranspose is layers.Conv3DTranspose
    assert layers.MaxPool3D is layers.MaxPooling3D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D
    with pytest.raises(ValueError, match=r"MaxPooling3D.*rank-5 input \(batch, depth, height, width"):
        layers.MaxPooling3D()(np.zeros((2, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"Conv3D"):
        layers.Conv3D(2, 2)(np.zeros((2, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"kernel_size"):
        layers.Conv3D(2, (2, 2))
