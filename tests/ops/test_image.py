"""ops.image: gradients through every differentiable image op, and the values against
plain NumPy where a formula is short (Keras cross-checks: test_keras_ops_parity.py)."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, gradcheck, op_spec_tests

image = ops.image


def _img(rng, *shape):
    return rng.uniform(0.05, 0.95, shape)


def _imgs(shape):
    return lambda rng: [(_img(rng, *shape),)]


T = np.array([[1.13, 0.21, -1.07, 0.11, 0.93, 0.53, 0.01, -0.02]])
S = np.array([[[0, 0], [5, 0], [5, 4], [0, 4]]], float)
E = np.array([[[0.5, 0.2], [4.6, 0.7], [5.3, 3.9], [0.2, 4.1]]], float)
COORDS = np.array([[[-0.7, 0.3, 2.6], [4.2, 1.5, 3.9]], [[0.4, 5.8, 1.1], [-1.3, 2.2, 6.4]]])

# No reference: the values are checked against Keras (parity test) or below; these
# specs drive the float64 gradient checks and the float32 checks.
SPECS = [
    OpSpec(f"resize_{m}_{aa}_{size}", lambda x, m=m, aa=aa, size=size: image.resize(x, size, m, antialias=aa),
           _imgs((1, 5, 6, 2)))
    for m in ["bilinear", "bicubic", "lanczos3", "nearest"] for aa in [False, True] for size in [(7, 4), (3, 9)]
] + [
    OpSpec("resize_crop", lambda x: image.resize(x, (3, 5), crop_to_aspect_ratio=True), _imgs((1, 5, 6, 2))),
    OpSpec("resize_pad", lambda x: image.resize(x, (3, 5), pad_to_aspect_ratio=True), _imgs((5, 4, 2))),
    OpSpec("scale_and_translate", lambda x: image.scale_and_translate(x, (1, 7, 4, 2), np.array([1.4, 0.6]),
                                                                       np.array([0.3, -0.2]), (1, 2), "cubic"),
           _imgs((1, 5, 6, 2))),
    OpSpec("affine_transform", lambda x: image.affine_transform(x, T, fill_mode="reflect"), _imgs((1, 5, 6, 2))),
    OpSpec("affine_transform_constant", lambda x: image.affine_transform(x, T[0], fill_value=0.3),
           _imgs((5, 6, 2))),
    OpSpec("perspective_transform", lambda x: image.perspective_transform(x, S, E), _imgs((1, 5, 6, 2))),
    OpSpec("map_coordinates_linear", lambda x: image.map_coordinates(x, COORDS, 1, "mirror"), _imgs((5, 6))),
    OpSpec("map_coordinates_nearest_wrap", lambda x: image.map_coordinates(x, COORDS, 0, "wrap"), _imgs((5, 6))),
    OpSpec("extract_patches", lambda x: image.extract_patches(x, (2, 3), strides=(1, 2)), _imgs((1, 5, 6, 2))),
    OpSpec("extract_patches_3d", lambda x: image.extract_patches_3d(x, 2, strides=1), _imgs((3, 3, 4, 1))),
    OpSpec("pad_images", lambda x: image.pad_images(x, 1, 2, target_height=7, target_width=9),
           _imgs((1, 5, 6, 2)), lambda x: np.pad(x, ((0, 0), (1, 1), (2, 1), (0, 0)))),
    OpSpec("crop_images", lambda x: image.crop_images(x, 1, 2, target_height=3, target_width=3),
           _imgs((1, 5, 6, 2)), lambda x: x[:, 1:4, 2:5]),
    OpSpec("crop_images_cf", lambda x: image.crop_images(x, bottom_cropping=1, right_cropping=2, target_height=3,
                                                         target_width=3, data_format="channels_first"),
           _imgs((2, 5, 6)), lambda x: x[:, 1:4, 1:4]),
    OpSpec("rgb_to_grayscale", image.rgb_to_grayscale, _imgs((2, 3, 4, 3)),
           lambda x: (x @ np.array([0.2989, 0.5870, 0.1140]))[..., None]),
    OpSpec("rgb_to_hsv", image.rgb_to_hsv, _imgs((1, 3, 4, 3))),
    OpSpec("hsv_to_rgb", image.hsv_to_rgb, _imgs((1, 3, 4, 3))),
    OpSpec("gaussian_blur", lambda x: image.gaussian_blur(x, (3, 5), (0.8, 1.3)), _imgs((1, 5, 6, 2))),
    OpSpec("sobel_edges", image.sobel_edges, _imgs((1, 4, 5, 2))),
    OpSpec("ssim", lambda a, b: image.ssim(a, b, filter_size=3), lambda r: [(_img(r, 2, 5, 6, 2), _img(r, 2, 5, 6, 2))]),
]
for spec in SPECS:
    spec.fwd_rtol32 = 1e-4

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_resize_bilinear_is_half_pixel_and_identity_size_passes(rng):
    x = np.arange(4.0).reshape(1, 1, 4, 1)
    y = image.resize(x, (1, 8)).numpy().ravel()
    np.testing.assert_allclose(y, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    np.testing.assert_allclose(image.resize(x, (1, 2), "nearest").numpy().ravel(), [1, 3])
    z = _img(rng, 2, 3, 4, 2)
    np.testing.assert_allclose(image.resize(z, (3, 4), "bicubic").numpy(), z)


def test_hsv_round_trip_and_known_colours(rng):
    x = _img(rng, 2, 3, 4, 3)
    np.testing.assert_allclose(image.hsv_to_rgb(image.rgb_to_hsv(x)).numpy(), x, atol=1e-12)
    hsv = image.rgb_to_hsv(np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5], [0.2, 0.2, 0.2]]])).numpy()
    np.testing.assert_allclose(hsv[0], [[0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 0.5], [0, 0, 0.2]], atol=1e-12)


def test_gaussian_blur_and_sobel_against_scipy(rng):
    ndimage = pytest.importorskip("scipy.ndimage", reason="the filter references are SciPy's")
    x = _img(rng, 1, 6, 7, 2)
    g = lambda n, s: np.exp(-0.5 * ((np.arange(n) - (n - 1) / 2) / s) ** 2)  # noqa: E731
    k = np.outer(g(5, 1.3) / g(5, 1.3).sum(), g(3, 0.8) / g(3, 0.8).sum())
    want = np.stack([ndimage.correlate(x[0, ..., c], k, mode="constant") for c in range(2)], -1)
    np.testing.assert_allclose(image.gaussian_blur(x, (3, 5), (0.8, 1.3)).numpy()[0], want, atol=1e-12)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    got = image.sobel_edges(x).numpy()[0]
    for c in range(2):
        np.testing.assert_allclose(got[..., c, 0], ndimage.correlate(x[0, ..., c], kx.T, mode="constant"), atol=1e-12)
        np.testing.assert_allclose(got[..., c, 1], ndimage.correlate(x[0, ..., c], kx, mode="constant"), atol=1e-12)


def test_ssim_of_an_image_with_itself_is_one(rng):
    x = _img(rng, 2, 12, 12, 3)
    np.testing.assert_allclose(image.ssim(x, x).numpy(), [1.0, 1.0], atol=1e-12)
    assert image.ssim(x, 1 - x).numpy().max() < 0.5


def test_elastic_transform_is_seeded_and_differentiable(rng):
    x = _img(rng, 1, 8, 8, 1)
    a = image.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3).numpy()
    b = image.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    np.testing.assert_allclose(image.elastic_transform(x, alpha=0.0, seed=1).numpy(), x)
    gradcheck(lambda t: image.elastic_transform(t, alpha=2.0, sigma=1.0, seed=3), x)


def test_errors():
    x = np.zeros((1, 4, 4, 3))
    with pytest.raises(ValueError, match="interpolation"):
        image.resize(x, (2, 2), "area51")
    with pytest.raises(ValueError, match="rank 3"):
        image.resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="exactly two"):
        image.pad_images(x, 1, 1, 1, 1, 9, 9)
    with pytest.raises(ValueError, match="does not fit"):
        image.crop_images(x, 3, 3, target_height=3, target_width=3)
    with pytest.raises(ValueError, match="transform must be"):
        image.affine_transform(x, np.zeros(6))
    with pytest.raises(ValueError, match="coordinates must have one entry"):
        image.map_coordinates(np.zeros((3, 3)), np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 1"):
        image.rgb_to_grayscale(np.zeros((2, 2, 2)))
    assert image.resize(shendu.tensor(x), (2, 2)).shape == (1, 2, 2, 3)


@pytest.mark.parametrize("kw", [dict(size=2), dict(size=(2, 3), strides=(1, 2)),
                                dict(size=3, strides=1, padding="same"), dict(size=2, strides=1, dilation_rate=2)])
def test_reconstruct_patches_inverts_extract_patches(kw, rng):
    x = rng.standard_normal((2, 6, 8, 3))
    p = image.extract_patches(x, **kw)
    rec = image.reconstruct_patches(p, output_size=(6, 8), **kw).numpy()
    summed = image.reconstruct_patches(p, output_size=(6, 8), reduction="sum", **kw).numpy()
    ones = image.reconstruct_patches(image.extract_patches(np.ones_like(x), **kw), output_size=(6, 8),
                                     reduction="sum", **kw).numpy()   # how many patches read each pixel
    covered = ones > 0
    assert covered.mean() > 0.8
    np.testing.assert_allclose(rec[covered], x[covered], atol=1e-12)   # pixels no patch read stay 0
    assert (rec[~covered] == 0).all()
    np.testing.assert_allclose(summed, ones * x, atol=1e-12)
    gradcheck(lambda t: image.reconstruct_patches(t, output_size=(6, 8), **kw), p.numpy()[:1])


def test_reconstruct_patches_3d_and_channels_first(rng):
    v = rng.standard_normal((1, 4, 4, 6, 2))
    np.testing.assert_allclose(image.reconstruct_patches(image.extract_patches_3d(v, 2), (2, 2, 2)).numpy(), v)
    x = rng.standard_normal((1, 3, 4, 4))
    p = image.extract_patches(x, 2, data_format="channels_first")
    np.testing.assert_allclose(image.reconstruct_patches(p, 2, data_format="channels_first").numpy(), x)
    with pytest.raises(ValueError, match="grid"):
        image.reconstruct_patches(p.numpy(), 2, output_size=(6, 6), data_format="channels_first")
