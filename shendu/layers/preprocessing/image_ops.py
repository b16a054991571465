"""The one image sampler behind the preprocessing layers, and the helpers they share.

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
from ...autograd.function import Function
from ...autograd.tensor import Tensor
from ...ops._util import get_array_module

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


class GatherLerp(Function):
    """Gather rows of the flattened image and blend them with fixed weights.

    With ``xf = x.reshape(N*H*W, C)``, K neighbours per output pixel:
        y[n, i, j, :] = sum_k w[k, n, i, j] * xf[idx[k, n, i, j], :] + b[n, i, j]
        gx = scatter-add over k of w[k] * gy into the rows idx[k]   (gb, gw: none)
    ``idx`` (int, (K, N, H', W')) and ``w`` (same shape) are constants; ``b`` (broadcastable
    to (N, H', W')) carries the constant fill. Saves idx, w and x's shape.
    """

    def forward(ctx, x, index, weight, offset=None):
        xp = get_array_module(x)
        c = x.shape[-1]
        xf = x.reshape(-1, c)
        y = weight[0][..., None] * xf[index[0]]
        for k in range(1, index.shape[0]):
            y += weight[k][..., None] * xf[index[k]]
        if offset is not None:
            y += offset[..., None]
        ctx.shape, ctx.index, ctx.weight = x.shape, index, weight
        return xp.ascontiguousarray(y, dtype=x.dtype)

    def backward(ctx, gy):
        xp = get_array_module(gy)
        c = ctx.shape[-1]
        gx = xp.zeros((int(np.prod(ctx.shape[:-1])), c), dtype=gy.dtype)
        for k in range(ctx.index.shape[0]):
            # NOTE: a scatter-add, since many output pixels may read the same input pixel.
            np.add.at(gx, ctx.index[k].reshape(-1), (ctx.weight[k][..., None] * gy).reshape(-1, c))
        return gx.reshape(ctx.shape)


def _fill_index(i, n, fill_mode):
    """Integer indices ``i`` mapped into [0, n) by ``fill_mode``, and where they are valid."""
    if fill_mode == "reflect":
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j), None
    if fill_mode == "wrap":
        return np.mod(i, n), None
    if fill_mode == "nearest":
        return np.clip(i, 0, n - 1), None
    valid = (i >= 0) & (i < n)
    return np.clip(i, 0, n - 1), valid


def _neighbours(coord, interpolation):
    """[(integer index, weight)] for sampling at the float coordinates ``coord``."""
    if interpolation == "nearest":
        return [(np.floor(coord + 0.5).astype(np.int64), None)]
    i0 = np.floor(coord)
    frac = coord - i0
    i0 = i0.astype(np.int64)
    return [(i0, 1.0 - frac), (i0 + 1, frac)]


def sample(images, rows, cols, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Read ``images`` at float source coordinates, for all samples at once.

    Args:
        images: a Tensor of shape (N, H, W, C), float.
        rows, cols: float arrays broadcastable to (N, H', W'): the source row / column of
            every output pixel of every sample.
        interpolation: 'bilinear' (4 neighbours) or 'nearest' (round to the nearest pixel).
        fill_mode, fill_value: how points outside the image are read (see module doc).

    Returns:
        A Tensor (N, H', W', C), differentiable with respect to ``images``.
    """
    n, h, w, _ = images.shape
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    out_shape = np.broadcast_shapes((n, 1, 1), rows.shape, cols.shape)
    batch = (np.arange(n, dtype=np.int64) * (h * w)).reshape(n, 1, 1)
    dtype = images.dtype
    index, weight = [], []
    offset = np.zeros(out_shape, np.float64) if fill_mode == "constant" and fill_value != 0 else None
    for iy, wy in _neighbours(rows, interpolation):
        iy, vy = _fill_index(iy, h, fill_mode)
        for ix, wx in _neighbours(cols, interpolation):
            ix, vx = _fill_index(ix, w, fill_mode)
            wk = np.ones(out_shape) if wy is None else np.broadcast_to(wy, out_shape)
            wk = wk * (1.0 if wx is None else wx)
            if vy is not None:
                valid = vy & vx
                if offset is not None:
                    offset += wk * ~valid * fill_value
                wk = wk * valid
            index.append(np.broadcast_to(batch + iy * w + ix, out_shape))
            weight.append(np.broadcast_to(wk, out_shape))
    index = np.stack(index)
    weight = np.stack(weight).astype(dtype)
    return GatherLerp.apply(images, index=index, weight=weight,
                            offset=None if offset is None else offset.astype(dtype))


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0):
    """Apply one projective transform per sample (Keras's 8-number format), vectorized.

    ``transforms`` is (N, 8) ``[a0, a1, a2, b0, b1, b2, c0, c1]`` mapping an *output* point
    (x, y) = (col, row) to the *input* point
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``.
    """
    n, h, w, _ = images.shape
    t = np.asarray(transforms, np.float64).reshape(-1, 8)[:, :, None, None]
    y = np.arange(h, dtype=np.float64)[:, None]
    x = np.arange(w, dtype=np.float64)[None, :]
    k = t[:, 6] * x + t[:, 7] * y + 1.0
    cols = (t[:, 0] * x + t[:, 1] * y + t[:, 2]) / k
    rows = (t[:, 3] * x + t[:, 4] * y + t[:, 5]) / k
    return sample(images, rows, cols, interpolation, fill_mode, fill_value)


def resize(images, height, width, interpolation="bilinear"):
    """Resize (N, H, W, C) images to (N, height, width, C) with half-pixel centres.

    bilinear (TF's ``half_pixel_centers``, PyTorch's ``align_corners=False``):
        src = max((dst + 0.5) * in / out - 0.5, 0); i0 = floor(src), i1 = min(i0 + 1, in - 1);
        y = (1 - f) x[i0] + f x[i1], f = src - i0, separably along rows and columns.
    nearest: src = min(floor((dst + 0.5) * in / out), in - 1).
    Differentiable with respect to the images.
    """
    n, h, w, _ = images.shape
    if (h, w) == (height, width):
        return images
    rows = ((np.arange(height) + 0.5) * (h / height) - 0.5)[None, :, None]
    cols = ((np.arange(width) + 0.5) * (w / width) - 0.5)[None, None, :]
    return sample(images, rows, cols, interpolation, fill_mode="nearest")


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
