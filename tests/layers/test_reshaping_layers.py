"""ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D: shared check, hand cases, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, gc_shape", [
    (layers.ZeroPadding1D, {}, (2, 4, 3), (2, 6, 3), (1, 3, 2)),
    (layers.ZeroPadding1D, {"padding": (2, 0)}, (2, 4, 3), (2, 6, 3), (1, 3, 2)),
    (layers.ZeroPadding2D, {}, (2, 3, 4, 2), (2, 5, 6, 2), (1, 2, 3, 2)),
    (layers.ZeroPadding2D, {"padding": 2}, (2, 3, 4, 2), (2, 7, 8, 2), (1, 2, 2, 1)),
    (layers.ZeroPadding2D, {"padding": ((1, 0), (2, 3))}, (2, 3, 4, 2), (2, 4, 9, 2), (1, 2, 2, 1)),
    (layers.Cropping1D, {}, (2, 5, 3), (2, 3, 3), (1, 4, 2)),
    (layers.Cropping1D, {"cropping": (0, 2)}, (2, 5, 3), (2, 3, 3), (1, 4, 2)),
    (layers.Cropping2D, {}, (2, 3, 4, 2), (2, 3, 4, 2), (1, 2, 2, 2)),
    (layers.Cropping2D, {"cropping": ((1, 0), (1, 2))}, (2, 4, 5, 2), (2, 3, 2, 2), (1, 3, 4, 2)),
    (layers.Cropping2D, {"cropping": 1}, (2, 4, 5, 2), (2, 2, 3, 2), (1, 3, 3, 2)),
    (layers.UpSampling1D, {}, (2, 3, 2), (2, 6, 2), (1, 3, 2)),
    (layers.UpSampling1D, {"size": 3}, (2, 3, 2), (2, 9, 2), (1, 2, 2)),
    (layers.UpSampling2D, {}, (2, 3, 2, 2), (2, 6, 4, 2), (1, 2, 2, 2)),
    (layers.UpSampling2D, {"size": (1, 3)}, (2, 3, 2, 2), (2, 3, 6, 2), (1, 2, 2, 2)),
    (layers.UpSampling2D, {"size": (2, 3), "interpolation": "bilinear"}, (2, 3, 2, 2), (2, 6, 6, 2),
     (1, 3, 2, 2)),
])
def test_reshaping_shared_check(cls, kwargs, in_shape, out_shape, gc_shape):
    run_layer_test(cls, kwargs, in_shape, out_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, gradcheck_shape=gc_shape)


def test_hand_computed():
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 2, 2, 1)
    y = layers.ZeroPadding2D(((1, 0), (0, 1)))(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[0, 0, 0], [1, 2, 0], [3, 4, 0]])
    y = layers.UpSampling2D()(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)
    y = layers.Cropping2D(((1, 0), (1, 2)))(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[5], [9]])
    x1 = np.arange(4, dtype=np.float32).reshape(1, 4, 1)
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x1).numpy()[0, :, 0], [1])
    np.testing.assert_array_equal(layers.ZeroPadding1D((0, 1))(x1).numpy()[0, :, 0], [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x1[:, :2]).numpy()[0, :, 0], [0, 0, 1, 1])
    # bilinear, half-pixel centres: [0, 1] -> [0, 0.25, 0.75, 1]
    y = layers.UpSampling2D((1, 2), interpolation="bilinear")(np.array([[[[0.0], [1.0]]]], np.float32))
    np.testing.assert_allclose(y.numpy()[0, 0, :, 0], [0, 0.25, 0.75, 1])


def test_output_shapes_and_config():
    assert layers.ZeroPadding2D(((1, 0), (2, 3))).compute_output_shape((None, None, 4, 2)) == \
        (None, None, 9, 2)
    assert layers.Cropping2D(1)(shendu.Input(shape=(5, 6, 3))).shape == (None, 3, 4, 3)
    assert layers.UpSampling2D(3)(shendu.Input(shape=(None, 2, 3))).shape == (None, None, 6, 3)
    assert layers.ZeroPadding2D(((1, 0), (2, 3))).get_config()["padding"] == [[1, 0], [2, 3]]
    assert layers.ZeroPadding1D(2).get_config()["padding"] == [2, 2]
    assert layers.Cropping1D().get_config()["cropping"] == [1, 1]
    cfg = layers.UpSampling2D().get_config()
    assert cfg["size"] == [2, 2] and cfg["interpolation"] == "nearest"
    assert cfg["data_format"] == "channels_last"


def test_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D(((1, 2, 3), (0, 0)))
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(-1)
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="Received: data_format='nchw'"):
        layers.ZeroPadding2D(data_format="nchw")
    with pytest.raises(ValueError) as e:
        layers.ZeroPadding2D(name="zp")(np.zeros((2, 3, 3), np.float32))
    assert "zp" in str(e.value) and "rank-4" in str(e.value) and "(2, 3, 3)" in str(e.value)
    with pytest.raises(ValueError) as e:
        layers.Cropping1D((2, 2), name="crop")(np.zeros((1, 4, 1), np.float32))
    assert "crop" in str(e.value) and "(1, 4, 1)" in str(e.value)
    with pytest.raises(ValueError) as e:
        layers.UpSampling1D(name="up")(np.zeros((2, 3), np.float32))
    assert "up" in str(e.value) and "(2, 3)" in str(e.value)


@pytest.mark.torch
def test_upsampling2d_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2)).astype(np.float32)
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy())
    worst = 0.0
    for interp, mode in (("nearest", "nearest"), ("bilinear", "bilinear")):
        y = layers.UpSampling2D((2, 3), interpolation=interp)(x).numpy()
        kw = {} if mode == "nearest" else {"align_corners": False}
        yt = F.interpolate(xt, scale_factor=(2, 3), mode=mode, **kw).numpy().transpose(0, 2, 3, 1)
        worst = max(worst, float(np.linalg.norm(y - yt) / np.linalg.norm(yt)))
    print(f"UpSampling2D vs torch: {worst:.2e}")
    assert worst <= 1e-5
