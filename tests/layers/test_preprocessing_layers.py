"""Deterministic preprocessing layers: Rescaling, Normalization (adapt), CenterCrop, Resizing,
and the shared image sampler they are built on."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.layers.preprocessing import image_ops
from shendu.testing import gradcheck, run_layer_test


# ---- Rescaling ----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255}, {"scale": 2.0, "offset": -1.0},
                                    {"scale": [1.0, 0.5, 2.0], "offset": [0.0, 1.0, -1.0]}])
def test_rescaling_layer(kwargs):
    layer = run_layer_test(layers.Rescaling, kwargs, (2, 4, 4, 3), (2, 4, 4, 3),
                           expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                           gradcheck_shape=(1, 2, 2, 3))
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3)).astype(np.float32)
    want = x * np.asarray(kwargs["scale"], np.float32) + np.asarray(kwargs.get("offset", 0.0), np.float32)
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-6, atol=1e-6)


def test_rescaling_casts_integer_images_and_validates():
    y = layers.Rescaling(1 / 255)(np.array([[0, 51, 255]], np.uint8))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [[0.0, 0.2, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="Received: scale='a'"):
        layers.Rescaling("a")


# ---- Normalization ------------------------------------------------------------------

def test_normalization_layer_test_with_and_without_statistics():
    run_layer_test(layers.Normalization, {}, (3, 4), (3, 4), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=2)
    run_layer_test(layers.Normalization, {"mean": [1.0, 2.0, 3.0, 4.0], "variance": 4.0}, (3, 4),
                   (3, 4), expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)
    run_layer_test(layers.Normalization, {"axis": (1, 2), "mean": 0.5, "variance": 2.0, "invert": True},
                   (2, 3, 2, 2), (2, 3, 2, 2), gradcheck_shape=(1, 3, 2, 2))


@pytest.mark.parametrize("axis, keep", [(-1, (3,)), ((1, 3), (1, 3)), (None, ())])
def test_normalization_adapt_matches_numpy(axis, keep):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((50, 5, 4, 3)) * [1.0, 3.0, 0.1] + [10.0, -2.0, 0.5]).astype(np.float32)
    layer = layers.Normalization(axis=axis)
    layer.adapt(data)
    reduce = tuple(d for d in range(4) if d not in keep)
    mean = data.astype(np.float64).mean(axis=reduce)
    var = data.astype(np.float64).var(axis=reduce)
    np.testing.assert_allclose(layer.mean.numpy(), mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), var, rtol=1e-5)
    assert [w.trainable for w in layer.weights] == [False, False]
    y = layer(data).numpy().astype(np.float64)
    np.testing.assert_allclose(y.mean(axis=reduce), 0, atol=1e-4)
    np.testing.assert_allclose(y.var(axis=reduce), 1, rtol=1e-4)


def test_normalization_adapt_from_dataset_and_chunks_equals_whole():
    from shendu.data import Dataset
    rng = np.random.default_rng(1)
    x = rng.standard_normal((103, 6)) * 5 + 3
    y = rng.integers(0, 2, 103)
    whole = layers.Normalization()
    whole.adapt(x)
    from_ds = layers.Normalization()
    from_ds.adapt(Dataset.from_tensor_slices((x, y)).batch(10))
    chunked = layers.Normalization()
    chunked.adapt(x, batch_size=7)
    for other in (from_ds, chunked):
        np.testing.assert_allclose(other.mean.numpy(), x.mean(0), rtol=1e-6)
        np.testing.assert_allclose(other.variance.numpy(), x.var(0), rtol=1e-5)


def test_normalization_invert_and_errors():
    layer = layers.Normalization(mean=2.0, variance=9.0, invert=True)
    np.testing.assert_allclose(layer(np.array([[0.0, 1.0]])).numpy(), [[2.0, 5.0]])
    with pytest.raises(ValueError, match="Received: mean=1.0, variance=None"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="Received: axis='x'"):
        layers.Normalization(axis="x")
    with pytest.raises(ValueError, match="adapt"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 2)))


# ---- CenterCrop ---------------------------------------------------------------------

def test_center_crop_layer():
    layer = run_layer_test(layers.CenterCrop, {"height": 3, "width": 2}, (2, 6, 5, 3), (2, 3, 2, 3),
                           expected_num_trainable_weights=0, gradcheck_shape=(1, 4, 4, 1))
    x = np.arange(2 * 6 * 5 * 3, dtype=np.float32).reshape(2, 6, 5, 3)
    np.testing.assert_array_equal(layer(x).numpy(), x[:, 1:4, 1:3])
    np.testing.assert_array_equal(layer(x[0]).numpy(), x[0, 1:4, 1:3])  # unbatched


def test_center_crop_of_a_smaller_image_crops_to_aspect_and_resizes():
    x = np.random.default_rng(0).random((1, 4, 6, 1)).astype(np.float32)
    y = layers.CenterCrop(8, 8)(x).numpy()
    want = layers.Resizing(8, 8)(x[:, :, 1:5]).numpy()
    np.testing.assert_allclose(y, want)
    with pytest.raises(ValueError, match="Received: height=0"):
        layers.CenterCrop(0, 3)


# ---- Resizing -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, out", [
    ({"height": 5, "width": 7}, (2, 5, 7, 3)),
    ({"height": 2, "width": 3, "interpolation": "nearest"}, (2, 2, 3, 3)),
    ({"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (2, 4, 4, 3)),
    ({"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 1.0}, (2, 4, 4, 3)),
])
def test_resizing_layer(kwargs, out):
    run_layer_test(layers.Resizing, kwargs, (2, 3, 5, 3), out, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, gradcheck_shape=(1, 3, 5, 1))


@pytest.mark.torch
@pytest.mark.parametrize("size_in, size_out", [((4, 5), (9, 13)), ((3, 3), (8, 5)), ((9, 7), (4, 3))])
def test_resizing_bilinear_matches_torch(size_in, size_out):
    torch = pytest.importorskip("torch", reason="the bilinear cross-check needs PyTorch")
    x = np.random.default_rng(0).standard_normal((2,) + size_in + (3,))
    y = layers.Resizing(*size_out, dtype="float64")(x).numpy()
    ref = torch.nn.functional.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=size_out,
                                          mode="bilinear", align_corners=False, antialias=False)
    ref = ref.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size_in, size_out", [((4, 5), (9, 13)), ((9, 7), (4, 3)), ((5, 5), (5, 2))])
def test_resizing_nearest_is_a_half_pixel_index(size_in, size_out):
    x = np.random.default_rng(0).standard_normal((2,) + size_in + (2,)).astype(np.float32)
    y = layers.Resizing(*size_out, interpolation="nearest")(x).numpy()
    rows = np.minimum(np.floor((np.arange(size_out[0]) + 0.5) * size_in[0] / size_out[0]), size_in[0] - 1)
    cols = np.minimum(np.floor((np.arange(size_out[1]) + 0.5) * size_in[1] / size_out[1]), size_in[1] - 1)
    np.testing.assert_array_equal(y, x[:, rows.astype(int)][:, :, cols.astype(int)])


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = np.random.default_rng(0).random((1, 4, 8, 1)).astype(np.float32)
    cropped = layers.Resizing(2, 2, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(cropped, layers.Resizing(2, 2)(x[:, :, 2:6]).numpy())
    padded = layers.Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=-1.0)(x).numpy()
    want = np.full((1, 8, 8, 1), -1.0, np.float32)
    want[:, 2:6] = x
    np.testing.assert_allclose(padded, want)


def test_resizing_errors():
    with pytest.raises(ValueError, match="Received: interpolation='bicubic'"):
        layers.Resizing(2, 2, interpolation="bicubic")
    with pytest.raises(ValueError, match="Received: width=-1"):
        layers.Resizing(2, -1)
    with pytest.raises(ValueError, match="rank 4"):
        layers.Resizing(2, 2)(np.zeros((2, 3)))


# ---- the sampler --------------------------------------------------------------------

@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_sampler_gradcheck(fill_mode, interpolation):
    rng = np.random.default_rng(0)
    t = np.array([[0.9, 0.3, -0.4, -0.2, 1.1, 0.7, 0.0, 0.0],
                  [1.3, 0.0, -1.2, 0.1, 0.8, 1.9, 0.01, 0.02]])

    def fn(x):
        return image_ops.affine_transform(x, t, interpolation, fill_mode, fill_value=0.5)
    gradcheck(fn, rng.standard_normal((2, 3, 4, 2)))


def test_sampler_fill_modes_on_a_row():
    x = shendu.tensor(np.arange(4, dtype=np.float64).reshape(1, 1, 4, 1))
    cols = np.arange(-3, 7, dtype=np.float64)[None, None, :]
    got = {m: image_ops.sample(x, np.zeros((1, 1, 1)), cols, "nearest", m, fill_value=9).numpy().ravel()
           for m in ("reflect", "wrap", "constant", "nearest")}
    np.testing.assert_array_equal(got["reflect"], [2, 1, 0, 0, 1, 2, 3, 3, 2, 1])
    np.testing.assert_array_equal(got["wrap"], [1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
    np.testing.assert_array_equal(got["constant"], [9, 9, 9, 0, 1, 2, 3, 9, 9, 9])
    np.testing.assert_array_equal(got["nearest"], [0, 0, 0, 0, 1, 2, 3, 3, 3, 3])


def test_preprocessing_model_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 6, 6, 3)).astype(np.uint8)
    norm = layers.Normalization()
    norm.adapt(x.astype(np.float32) / 255)
    model = shendu.Sequential([
        shendu.Input((6, 6, 3)), layers.Rescaling(np.float32(1 / 255)), norm,
        layers.RandomFlip(seed=1), layers.RandomContrast(0.2, value_range=(-5, 5)),
        layers.CenterCrop(5, 5), layers.Resizing(4, 3, interpolation="nearest"),
        layers.RandomCrop(3, 3), layers.Flatten(), layers.Dense(2)])
    path = str(tmp_path / "pre.keras")
    model.save(path)
    loaded = shendu.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
