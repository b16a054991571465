"""Image file helpers (load_img, img_to_array, array_to_img, save_img, smart_resize),
against real Keras where it reads the same files."""
import builtins

import numpy as np
import pytest

import shendu
from shendu.utils import array_to_img, img_to_array, load_img, save_img
from shendu.utils.image_utils import smart_resize

pytest.importorskip("PIL", reason="image files need pillow (the 'image' extra)")


@pytest.fixture
def picture(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 20, 3)).astype(np.uint8)
    path = tmp_path / "pic.png"
    save_img(path, x, scale=False)
    return path, x


def test_round_trip_png(picture):
    path, x = picture
    img = load_img(path)
    assert img.size == (20, 12) and img.mode == "RGB"
    arr = img_to_array(img)
    assert arr.dtype == np.float32 and arr.shape == (12, 20, 3)
    assert np.array_equal(arr, x.astype(np.float32))
    assert img_to_array(img, data_format="channels_first").shape == (3, 12, 20)
    assert img_to_array(load_img(path, color_mode="grayscale")).shape == (12, 20, 1)
    assert img_to_array(load_img(path, color_mode="rgba")).shape == (12, 20, 4)


@pytest.mark.parametrize("kwargs", [{}, {"target_size": (6, 10)},
                                    {"target_size": (8, 8), "interpolation": "bilinear"},
                                    {"target_size": (8, 8), "keep_aspect_ratio": True},
                                    {"color_mode": "grayscale", "target_size": (5, 7)}],
                         ids=str)
def test_load_img_matches_keras(picture, kwargs):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    path, _ = picture
    ours = img_to_array(load_img(path, **kwargs))
    theirs = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)


def test_array_to_img_scales_like_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = np.linspace(-1, 3, 4 * 5 * 3).reshape(4, 5, 3)
    for scale in (True, False):
        y = x if scale else np.clip(x * 60, 0, 255)
        ours = np.asarray(array_to_img(y, scale=scale))
        theirs = np.asarray(keras.utils.array_to_img(y, scale=scale))
        assert np.array_equal(ours, theirs)
    chw = np.asarray(array_to_img(x.transpose(2, 0, 1), data_format="channels_first"))
    assert np.array_equal(chw, np.asarray(array_to_img(x)))
    assert array_to_img(np.zeros((4, 5, 1))).mode == "L"
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="channel number: 2"):
        array_to_img(np.zeros((4, 5, 2)))


def test_save_img_formats(tmp_path):
    x = np.full((4, 4, 3), 200, np.uint8)
    save_img(tmp_path / "a.jpg", x, scale=False, quality=95)
    back = img_to_array(load_img(tmp_path / "a.jpg"))
    assert np.abs(back - 200).max() <= 2
    save_img(tmp_path / "b", x, file_format="bmp", scale=False)
    assert np.array_equal(img_to_array(load_img(tmp_path / "b")), x.astype(np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "b"]


def test_smart_resize_is_a_central_crop_then_resize():
    x = np.arange(4 * 8 * 1, dtype=np.float32).reshape(4, 8, 1)
    same_ratio = smart_resize(x, (4, 4), interpolation="nearest")
    assert np.array_equal(same_ratio, x[:, 2:6])  # central 4x4 crop, no resize needed
    batch = smart_resize(np.stack([x, x]), (2, 2))
    assert batch.shape == (2, 2, 2, 1)
    assert shendu.preprocessing.image.smart_resize is smart_resize


def test_errors_name_the_problem(monkeypatch, picture):
    path, _ = picture
    with pytest.raises(ValueError, match="color_mode"):
        load_img(path, color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation"):
        load_img(path, target_size=(3, 3), interpolation="cubic")
    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(ImportError, match="pip install pillow"):
        load_img(path)
