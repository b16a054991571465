"""The image sampler behind the preprocessing layers (:mod:`shendu.ops.image`'s), and the
helpers they share.

Every geometric layer (Resizing, CenterCrop's resize path, RandomFlip, RandomCrop,
RandomTranslation, RandomRotation, RandomZoom) reduces to the same step: for every
output pixel of every sample, a *source coordinate* (row, col) in the input, computed
for the whole batch at once with NumPy broadcasting; then one gather of the neighbouring
input pixels and a weighted sum (bilinear or nearest). That step is the differentiable
op :class:`GatherLerp`, so a layer built on it passes gradients to its input (never to
the coordinates, which are data).

Coordinate conventions (as Keras and TF): pixel centres sit at integer coordinates, the
image is channels-last ``(N, H, W, C)``. Points outside the image are read according to
``fill_mode``, applied to each integer neighbour (SciPy's grid modes, which Keras's NumPy
backend uses): ``reflect`` (d c b a | a b c d | d c b a), ``wrap`` (a b c d | a b c d),
``nearest`` (a a | a b c d | d d) and ``constant`` (k k | a b c d | k k, k = fill_value).
"""
import numpy as np

from ... import ops
from ...autograd.tensor import Tensor
from ...ops.image import GatherLerp, _projective_coords, sample  # noqa: F401 (the sampler lives in ops)
from ...ops.image import resize as image_resize

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0):
    """Apply one projective transform per sample (Keras's 8-number format), vectorized.

    ``transforms`` is (N, 8) ``[a0, a1, a2, b0, b1, b2, c0, c1]`` mapping an *output* point
    (x, y) = (col, row) to the *input* point
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``.
    """
    _, h, w, _ = images.shape
    rows, cols = _projective_coords(transforms, h, w)
    return sample(images, rows, cols, interpolation, fill_mode, fill_value)


def resize(images, height, width, interpolation="bilinear"):
    """Resize (N, H, W, C) images to (N, height, width, C) with half-pixel centres
    (:func:`shendu.ops.image.resize`: TF's ``half_pixel_centers``, PyTorch's
    ``align_corners=False``). Differentiable with respect to the images."""
    if tuple(images.shape[1:3]) == (height, width):
        return images
    return image_resize(images, (height, width), interpolation)


def to_float(layer, x):
    """``x`` as a float Tensor of the layer's dtype (integer images are cast, as Keras)."""
    if not isinstance(x, Tensor):
        x = Tensor(np.asarray(x))
    if x.dtype != np.dtype(layer.dtype):
        x = ops.cast(x, layer.dtype)
    return x


def check_image_rank(layer, shape):
    from ..layer import shape_error
    if len(shape) not in (3, 4):
        raise shape_error(layer, "images of rank 4 (batch, height, width, channels) or rank 3 "
                                 "(height, width, channels)", shape)


def batched(x):
    """(x as (N, H, W, C), whether it was a single unbatched image)."""
    if x.ndim == 3:
        return ops.expand_dims(x, 0), True
    return x, False


def unbatched(y, was_unbatched):
    return ops.squeeze(y, 0) if was_unbatched else y


def check_data_format(layer_name, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer_name}: only data_format='channels_last' (inputs "
                         f"(batch, height, width, channels)) is supported. "
                         f"Received: data_format={data_format!r}")
    return "channels_last"


def check_choice(layer_name, arg, value, choices):
    if value not in choices:
        raise ValueError(f"{layer_name}: `{arg}` must be one of {choices}. Received: {arg}={value!r}")
    return value


def check_size(layer_name, **sizes):
    for arg, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{layer_name}: `{arg}` must be a positive integer. "
                             f"Received: {arg}={value!r}")


def aspect_crop_box(h, w, height, width):
    """The largest centred window of an (h, w) image with the aspect ratio height:width,
    as (top, left, crop_h, crop_w) -- Keras's ``smart_resize`` rule."""
    crop_h = max(min(h, int(float(w * height) / width)), 1)
    crop_w = max(min(w, int(float(h * width) / height)), 1)
    return int(float(h - crop_h) / 2), int(float(w - crop_w) / 2), crop_h, crop_w


def smart_resize(images, height, width, interpolation="bilinear"):
    """Centre-crop to the target aspect ratio, then resize (Keras's ``smart_resize``)."""
    _, h, w, _ = images.shape
    top, left, ch, cw = aspect_crop_box(h, w, height, width)
    if (ch, cw) != (h, w):
        images = ops.getitem(images, (slice(None), slice(top, top + ch), slice(left, left + cw)))
    return resize(images, height, width, interpolation)


def output_image_shape(input_shape, height, width):
    shape = list(input_shape)
    shape[-3], shape[-2] = height, width
    return tuple(shape)
