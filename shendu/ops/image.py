"""``keras.ops.image``: resizing, geometric transforms, patches, colour spaces and filters.

Two mechanisms carry everything, both differentiable with respect to the images:

* **Sampling at coordinates** (``map_coordinates``, ``affine_transform``,
  ``perspective_transform``, ``elastic_transform``): for every output point a float
  source coordinate per axis; its integer neighbours are gathered and blended with fixed
  weights (:class:`GatherLerp`). Points outside are read by ``fill_mode`` applied to
  each neighbour (SciPy's modes, which Keras uses): ``reflect`` (d c b a | a b c d | d c b a),
  ``mirror`` (d c b | a b c d | c b a), ``wrap`` (a b c d | a b c d), ``nearest``
  (a a | a b c d | d d) and ``constant`` (k k | a b c d | k k, k = fill_value).
* **Separable resampling** (``resize``, ``scale_and_translate``): along each resized
  axis the output is a fixed linear map of the input, a weight matrix W (out x in) built
  from a kernel (triangle for bilinear, Keys cubic, Lanczos) exactly as JAX's
  ``scale_and_translate`` builds it, so y = W x along that axis (an einsum) and the
  gradient is W^T gy.

Images are channels-last (N, H, W, C) unless ``data_format='channels_first'``; a single
image (H, W, C) works too.
"""
import math

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches",
           "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
           "perspective_transform", "reconstruct_patches", "resize", "rgb_to_grayscale", "rgb_to_hsv",
           "scale_and_translate", "sobel_edges", "ssim"]

FILL_MODES = ("reflect", "mirror", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


# ---- sampling at coordinates ---------------------------------------------------------------------

class GatherLerp(Function):
    """Gather rows of the flattened input and blend them with fixed weights.

    With ``xf = x.reshape(M, C)`` and K neighbours per output point:
        y[p, :] = sum_k w[k, p] xf[idx[k, p], :] + b[p]
        gx = scatter-add over k of w[k] gy into the rows idx[k]   (idx, w, b: constants)
    """

    def forward(ctx, x, index, weight, offset=None):
        c = x.shape[-1]
        xf = x.reshape(-1, c)
        y = weight[0][..., None] * xf[index[0]]
        for k in range(1, index.shape[0]):
            y += weight[k][..., None] * xf[index[k]]
        if offset is not None:
            y += offset[..., None]
        ctx.shape, ctx.index, ctx.weight = x.shape, index, weight
        return np.ascontiguousarray(y, dtype=x.dtype)

    def backward(ctx, gy):
        c = ctx.shape[-1]
        gx = np.zeros((int(np.prod(ctx.shape[:-1])), c), dtype=gy.dtype)
        for k in range(ctx.index.shape[0]):
            # NOTE: a scatter-add, since many output points may read the same input point.
            np.add.at(gx, ctx.index[k].reshape(-1), (ctx.weight[k][..., None] * gy).reshape(-1, c))
        return gx.reshape(ctx.shape)


def _fill_index(i, n, fill_mode):
    """Integer indices ``i`` mapped into [0, n) by ``fill_mode``, and where they are valid."""
    if fill_mode == "reflect":
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j), None
    if fill_mode == "mirror":
        if n == 1:
            return np.zeros_like(i), None
        j = np.mod(i, 2 * n - 2)
        return np.where(j >= n, 2 * n - 2 - j, j), None
    if fill_mode == "wrap":
        return np.mod(i, n), None
    if fill_mode == "nearest":
        return np.clip(i, 0, n - 1), None
    valid = (i >= 0) & (i < n)
    return np.clip(i, 0, n - 1), valid


def _neighbours(coord, interpolation):
    """[(integer index, weight)] for sampling at ``coord`` (exact for integer coordinates)."""
    if coord.dtype.kind in "iu":
        return [(coord.astype(np.int64), None)]
    if interpolation == "nearest":
        # halves round away from zero, as SciPy's and JAX's map_coordinates
        return [((np.sign(coord) * np.floor(np.abs(coord) + 0.5)).astype(np.int64), None)]
    i0 = np.floor(coord)
    frac = coord - i0
    i0 = i0.astype(np.int64)
    return [(i0, 1.0 - frac), (i0 + 1, frac)]


def sample_nd(x, coords, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Read x (spatial axes..., C) at one coordinate array per spatial axis.

    Integer coordinate arrays index exactly (a batch axis, say); float ones are
    interpolated. Returns out_shape + (C,), out_shape the coordinates' broadcast shape.
    """
    shape = x.shape[:-1]
    coords = [np.asarray(c) for c in coords]
    coords = [c if c.dtype.kind in "iu" else c.astype(np.float64) for c in coords]
    out_shape = np.broadcast_shapes(*[c.shape for c in coords])
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    combos = [(np.zeros(out_shape, np.int64), np.ones(out_shape), np.ones(out_shape, bool))]
    for c, n, stride in zip(coords, shape, strides):
        nxt = []
        for i, w in _neighbours(c, interpolation):
            i, valid = _fill_index(i, n, fill_mode) if c.dtype.kind not in "iu" else (i, None)
            for idx, wk, vk in combos:
                nxt.append((idx + i * stride, wk * (1.0 if w is None else w),
                            vk if valid is None else vk & valid))
        combos = nxt
    index = np.stack([np.broadcast_to(i, out_shape) for i, _, _ in combos])
    weight = np.stack([np.broadcast_to(w, out_shape) for _, w, _ in combos])
    valid = np.stack([np.broadcast_to(v, out_shape) for _, _, v in combos])
    offset = None
    if fill_mode == "constant":
        if fill_value != 0:
            offset = (weight * ~valid).sum(0) * fill_value
        weight = weight * valid
    return GatherLerp.apply(x, index=index, weight=weight.astype(x.dtype),
                            offset=None if offset is None else offset.astype(x.dtype))


def sample(images, rows, cols, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Read (N, H, W, C) ``images`` at float source coordinates ``rows``, ``cols``
    (broadcastable to (N, H', W')): (N, H', W', C), differentiable with respect to images."""
    n = images.shape[0]
    batch = np.arange(n, dtype=np.int64).reshape(n, 1, 1)
    return sample_nd(images, [batch, rows, cols], interpolation, fill_mode, fill_value)


def _check_choice(op, arg, value, choices):
    if value not in choices:
        raise ValueError(f"{op}: `{arg}` must be one of {choices}. Received: {arg}={value!r}")


def _float_images(op, images):
    from .math import _float_input
    x = _float_input(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: images must have rank 3 (height, width, channels) or 4 (batch, "
                         f"height, width, channels). Received: images.shape={x.shape}")
    return x


def _channels_last(op, x, data_format):
    """(x as a batched channels-last tensor, a function that undoes both changes)."""
    from .shape import expand_dims, squeeze, transpose
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    single = x.ndim == 3
    if single:
        x = expand_dims(x, 0)
    first = data_format == "channels_first"
    if first:
        x = transpose(x, (0, 2, 3, 1))

    def restore(y):
        if first:
            y = transpose(y, (0, 3, 1, 2))
        return squeeze(y, 0) if single else y
    return x, restore


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """inputs read at ``coordinates`` (one array per axis of inputs, stacked first), with
    interpolation ``order`` 0 (nearest) or 1 (linear), as ``scipy.ndimage.map_coordinates``."""
    from .shape import reshape
    x = as_tensor(inputs)
    coords = np.asarray(data_of(coordinates))
    if coords.ndim < 1 or coords.shape[0] != x.ndim:
        raise ValueError(f"map_coordinates: coordinates must have one entry per axis of inputs "
                         f"({x.ndim}). Received: coordinates.shape={coords.shape}")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order must be 0 or 1. Received: order={order}")
    _check_choice("map_coordinates", "fill_mode", fill_mode, FILL_MODES)
    if x.dtype.kind != "f":
        from .math import _float_input
        x = _float_input(x)
    coords = coords.astype(np.float64)
    y = sample_nd(reshape(x, x.shape + (1,)), list(coords), "nearest" if order == 0 else "bilinear",
                  fill_mode, fill_value)
    return reshape(y, coords.shape[1:])


def _projective_coords(t, h, w):
    """Source (rows, cols) of every output pixel for Keras's 8-number transforms (N, 8):
    (x, y) -> ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1."""
    t = np.asarray(t, np.float64).reshape(-1, 8)[:, :, None, None]
    y = np.arange(h, dtype=np.float64)[:, None]
    x = np.arange(w, dtype=np.float64)[None, :]
    k = t[:, 6] * x + t[:, 7] * y + 1.0
    return (t[:, 3] * x + t[:, 4] * y + t[:, 5]) / k, (t[:, 0] * x + t[:, 1] * y + t[:, 2]) / k


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Apply one transform per image: ``transform`` (8,) or (N, 8) is
    [a0, a1, a2, b0, b1, b2, c0, c1], mapping an output point (x, y) = (col, row) to the
    input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1."""
    op = "affine_transform"
    _check_choice(op, "interpolation", interpolation, INTERPOLATIONS)
    _check_choice(op, "fill_mode", fill_mode, FILL_MODES)
    t = np.asarray(data_of(transform), np.float64)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"{op}: transform must be (8,) or (batch, 8). Received: transform.shape={t.shape}")
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    rows, cols = _projective_coords(t, x.shape[1], x.shape[2])
    return restore(sample(x, rows, cols, interpolation, fill_mode, fill_value))


def _homography(start, end):
    """The 8 transform numbers mapping each end point to its start point (Keras's rule)."""
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zeros, ones = np.zeros_like(ex), np.ones_like(ex)
    x_rows = np.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    y_rows = np.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    a = np.concatenate([x_rows, y_rows], axis=1)
    return np.linalg.solve(a, np.concatenate([sx, sy], axis=-1)[..., None])[..., 0]


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warp so that the four ``start_points`` (x, y) land on the ``end_points``: each output
    pixel reads the input at the homography of its position."""
    op = "perspective_transform"
    _check_choice(op, "interpolation", interpolation, INTERPOLATIONS)
    start = np.asarray(data_of(start_points), np.float64)
    end = np.asarray(data_of(end_points), np.float64)
    if start.shape[-2:] != (4, 2) or start.ndim not in (2, 3) or start.shape != end.shape:
        raise ValueError(f"{op}: start_points and end_points must both be (4, 2) or (N, 4, 2). "
                         f"Received: {start.shape} and {end.shape}")
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    t = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
    rows, cols = _projective_coords(t, x.shape[1], x.shape[2])
    return restore(sample(x, rows, cols, interpolation, "constant", fill_value))


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Displace every pixel by a smooth random field: Gaussian noise (std ``sigma``) blurred
    by a Gaussian of std ``sigma`` and scaled by ``alpha`` (Keras's recipe); the same field
    for both axes' seeds as Keras. ``seed``: an int or a shendu Generator."""
    from .random import as_generator
    op = "elastic_transform"
    _check_choice(op, "interpolation", interpolation, INTERPOLATIONS)
    _check_choice(op, "fill_mode", fill_mode, FILL_MODES)
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    n, h, w, _ = x.shape
    g = as_generator(seed)
    size = int(6 * sigma) | 1
    noise = g.standard_normal((2, n, h, w, 1)) * sigma
    dy, dx = (gaussian_blur(noise[i], (size, size), (sigma, sigma)).data[..., 0] for i in range(2))
    rows = np.arange(h)[None, :, None] + alpha * dy
    cols = np.arange(w)[None, None, :] + alpha * dx
    return restore(sample(x, rows, cols, interpolation, fill_mode, fill_value))


# ---- separable resampling ------------------------------------------------------------------------

def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
            out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1.0)
        return np.where(x > radius, 0.0, out)
    return kernel


_KERNELS = {"bilinear": _triangle, "linear": _triangle, "trilinear": _triangle, "triangle": _triangle,
            "bicubic": _keys_cubic, "cubic": _keys_cubic, "tricubic": _keys_cubic,
            "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}


def _weight_matrix(n_in, n_out, scale, translation, kernel, antialias):
    """W (n_out, n_in): output i = sum_j W[i, j] input j, for a kernel centred on the
    input position (i + 0.5 - translation) / scale - 0.5 of each output i, widened by
    1/scale when downsampling with ``antialias``; rows normalized, and rows whose sample
    lies outside the input are zero (JAX's ``compute_weight_mat``)."""
    inv = 1.0 / scale
    kscale = max(inv, 1.0) if antialias else 1.0
    centre = (np.arange(n_out) + 0.5) * inv - translation * inv - 0.5
    w = kernel(np.abs(centre[:, None] - np.arange(n_in)[None, :]) / kscale)
    total = w.sum(1, keepdims=True)
    w = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, w / np.where(total != 0, total, 1), 0)
    inside = (centre >= -0.5) & (centre <= n_in - 0.5)
    return np.where(inside[:, None], w, 0.0)


def _apply_along(x, axis, matrix):
    from .einsum import tensordot
    from .shape import moveaxis
    return moveaxis(tensordot(x, matrix.astype(x.dtype), axes=([axis], [1])), -1, axis)


def _resize_nearest(x, axis, n_out):
    from .embedding import take
    n_in = x.shape[axis]
    idx = np.minimum(np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)
    return take(x, idx, axis=axis)


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize images to ``size`` = (height, width), as ``keras.ops.image.resize``.

    bilinear / bicubic / lanczos3 / lanczos5: half-pixel centres (out pixel i samples
    input position (i + 0.5) in/out - 0.5), the kernel widened when downsampling with
    ``antialias``; nearest: input floor((i + 0.5) in/out). ``crop_to_aspect_ratio``
    first takes the largest centred crop of the target aspect ratio;
    ``pad_to_aspect_ratio`` first pads to it with ``fill_value``.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.image.resize(np.arange(4.).reshape(1, 2, 2, 1), (4, 4))[0, :, :, 0].numpy()[0]
        array([0.  , 0.25, 0.75, 1.  ])
    """
    op = "resize"
    _check_choice(op, "interpolation", interpolation, RESIZE_INTERPOLATIONS)
    if fill_mode != "constant":
        raise ValueError(f"{op}: only fill_mode='constant' is supported. Received: fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{op}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True")
    if len(size) != 2:
        raise ValueError(f"{op}: size must be (height, width). Received: size={size}")
    th, tw = int(size[0]), int(size[1])
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    _, h, w, _ = x.shape
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[:, top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        from .shape import pad
        ph, pw = max(h, int(float(w * th) / tw)), max(w, int(float(h * tw) / th))
        top, left = int(float(ph - h) / 2), int(float(pw - w) / 2)
        # Keras pads the same amount on both sides (so an odd difference grows the image less)
        x = pad(x, ((0, 0), (top, top), (left, left), (0, 0)), constant_values=fill_value)
    for axis, n_out in ((1, th), (2, tw)):
        n_in = x.shape[axis]
        if n_in == n_out:
            continue
        if interpolation == "nearest":
            x = _resize_nearest(x, axis, n_out)
        else:
            x = _apply_along(x, axis, _weight_matrix(n_in, n_out, n_out / n_in, 0.0,
                                                     _KERNELS[interpolation], antialias))
    return restore(x)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample ``spatial_dims`` of images to ``output_shape`` with the given scale and
    translation per axis (output position i reads input (i + 0.5 - translation) / scale - 0.5),
    as ``jax.image.scale_and_translate``."""
    _check_choice("scale_and_translate", "method", method, tuple(_KERNELS))
    from .math import _float_input
    x = _float_input(images)
    scale = np.atleast_1d(np.asarray(data_of(scale), np.float64))
    translation = np.atleast_1d(np.asarray(data_of(translation), np.float64))
    for k, d in enumerate(spatial_dims):
        x = _apply_along(x, d, _weight_matrix(x.shape[d], int(output_shape[d]), scale[k], translation[k],
                                              _KERNELS[method], antialias))
    return x


# ---- patches, crops and pads ---------------------------------------------------------------------

def _patches(op, x, size, strides, dilation_rate, padding, nsp):
    from .conv import conv
    size = (int(size),) * nsp if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if len(size) != nsp:
        raise TypeError(f"{op}: size must be an int or a tuple of {nsp}. Received: size={size}")
    c = x.shape[-1]
    depth = math.prod(size) * c
    # a convolution with the identity as its kernel: output channel (taps..., c) holds that tap
    kernel = np.eye(depth, dtype=x.dtype).reshape(size + (c, depth))
    return conv(x, kernel, strides=size if strides is None else strides, padding=padding,
                dilation_rate=dilation_rate)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Each (size x size) patch of the images flattened into the last axis, in
    (row, column, channel) order: (N, H', W', size_h * size_w * C). A 3-tuple ``size`` means
    ``extract_patches_3d``."""
    if not isinstance(size, (int, np.integer)) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    op = "extract_patches"
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    return restore(_patches(op, x, size, strides, dilation_rate, padding, 2))


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Each 3-D patch of (N, D, H, W, C) volumes flattened into the last axis."""
    from .shape import expand_dims, moveaxis, squeeze
    from .math import _float_input
    op = "extract_patches_3d"
    x = _float_input(volumes)
    if x.ndim not in (4, 5):
        raise ValueError(f"{op}: volumes must have rank 4 or 5. Received: shape={x.shape}")
    single = x.ndim == 4
    if single:
        x = expand_dims(x, 0)
    if data_format == "channels_first":
        x = moveaxis(x, 1, -1)
    y = _patches(op, x, size, strides, dilation_rate, padding, 3)
    if data_format == "channels_first":
        y = moveaxis(y, -1, 1)
    return squeeze(y, 0) if single else y


def reconstruct_patches(patches, size, output_size=None, strides=None, padding="valid",
                        data_format=None, reduction="mean", dilation_rate=1):
    """Images from their patches: the adjoint of ``extract_patches`` (every patch element
    added back where it was read from), divided by how many patches read each pixel when
    ``reduction='mean'``, so patches of an image give that image back.

    ``patches`` is (N, gh, gw, ph*pw*C) (channels-last; unbatched works), ``output_size``
    (H, W) defaults, for 'valid' padding, to (g - 1) * stride + (size - 1) * dilation + 1.
    A 3-tuple ``size`` reconstructs volumes from ``extract_patches_3d``.
    """
    from .core import Scatter
    from .elementwise import divide
    from .shape import expand_dims, moveaxis, reshape, squeeze
    op = "reconstruct_patches"
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{op}: reduction must be 'mean' or 'sum'. Received: reduction={reduction!r}")
    nsp = 3 if not isinstance(size, (int, np.integer)) and len(size) == 3 else 2
    ksize = (int(size),) * nsp if isinstance(size, (int, np.integer)) else tuple(int(k) for k in size)
    stride = ksize if strides is None else ((int(strides),) * nsp if isinstance(strides, (int, np.integer))
                                             else tuple(int(k) for k in strides))
    dil = (int(dilation_rate),) * nsp if isinstance(dilation_rate, (int, np.integer)) else tuple(dilation_rate)
    from .math import _float_input
    p = _float_input(patches)
    single = p.ndim == nsp + 1
    if single:
        p = expand_dims(p, 0)
    if p.ndim != nsp + 2:
        raise ValueError(f"{op}: patches must be (batch, grid..., flat). Received: shape={p.shape}")
    if data_format == "channels_first":
        p = moveaxis(p, 1, -1)
    grid, flat = p.shape[1:-1], p.shape[-1]
    if flat % math.prod(ksize):
        raise ValueError(f"{op}: the patch axis ({flat}) is not divisible by prod(size) ({math.prod(ksize)})")
    c = flat // math.prod(ksize)
    if output_size is None:
        if padding != "valid":
            raise ValueError(f"{op}: give output_size when padding={padding!r}")
        output_size = tuple((g - 1) * s + (k - 1) * d + 1 for g, s, k, d in zip(grid, stride, ksize, dil))
    out = tuple(int(n) for n in output_size)
    # where each patch element came from: the patches of an image of its own (1-based) indices
    ids = np.arange(1, math.prod(out) * c + 1, dtype=np.float64).reshape((1,) + out + (c,))
    src = _patches(op, Tensor(ids), ksize, stride, dil, padding, nsp).data
    if src.shape[1:-1] != tuple(grid):
        raise ValueError(f"{op}: output_size {out} with these size/strides/padding gives a grid of "
                         f"{src.shape[1:-1]} patches, but patches has {tuple(grid)}")
    src = np.rint(src).astype(np.int64).reshape(-1) - 1      # -1: a padding position
    keep = np.nonzero(src >= 0)[0]
    n = p.shape[0]
    flat_p = moveaxis(reshape(p, (n, -1)), 0, -1)              # (positions, N)
    from .shape import getitem
    y = Scatter.apply(getitem(flat_p, keep), index=(src[keep],), shape=(math.prod(out) * c, n))
    if reduction == "mean":
        count = np.bincount(src[keep], minlength=math.prod(out) * c).astype(p.dtype)
        y = divide(y, np.maximum(count, 1)[:, None])
    y = reshape(moveaxis(y, -1, 0), (n,) + out + (c,))
    if data_format == "channels_first":
        y = moveaxis(y, -1, 1)
    return squeeze(y, 0) if single else y


def _resolve(op, kind, first, last, target, extent):
    given = [v is not None for v in (first, last, target)]
    if sum(given) != 2:
        raise ValueError(f"{op}: give exactly two of the {kind} before, after and the target size. "
                         f"Received: {first}, {last}, target={target}")
    return first, last


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Pad images with zeros: two of (top, bottom, target_height) and two of (left, right,
    target_width) fix the pads."""
    from .shape import pad
    op = "pad_images"
    x, restore = _channels_last(op, as_tensor(images) if isinstance(images, Tensor) else
                                Tensor(np.asarray(images)), data_format)
    _, h, w, _ = x.shape
    _resolve(op, "pads", top_padding, bottom_padding, target_height, h)
    _resolve(op, "pads", left_padding, right_padding, target_width, w)
    top = target_height - bottom_padding - h if top_padding is None else top_padding
    bottom = target_height - top - h if bottom_padding is None else bottom_padding
    left = target_width - right_padding - w if left_padding is None else left_padding
    right = target_width - left - w if right_padding is None else right_padding
    for name, v in (("top_padding", top), ("bottom_padding", bottom), ("left_padding", left),
                    ("right_padding", right)):
        if v < 0:
            raise ValueError(f"{op}: {name} must be >= 0. Received: {name}={v}")
    return restore(pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))))


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crop images: two of (top, bottom, target_height) and two of (left, right,
    target_width) fix the crop."""
    op = "crop_images"
    x, restore = _channels_last(op, as_tensor(images) if isinstance(images, Tensor) else
                                Tensor(np.asarray(images)), data_format)
    _, h, w, _ = x.shape
    _resolve(op, "croppings", top_cropping, bottom_cropping, target_height, h)
    _resolve(op, "croppings", left_cropping, right_cropping, target_width, w)
    top = h - bottom_cropping - target_height if top_cropping is None else top_cropping
    height = h - top - bottom_cropping if target_height is None else target_height
    left = w - right_cropping - target_width if left_cropping is None else left_cropping
    width = w - left - right_cropping if target_width is None else target_width
    if top < 0 or left < 0 or height <= 0 or width <= 0 or top + height > h or left + width > w:
        raise ValueError(f"{op}: the crop (top={top}, left={left}, height={height}, width={width}) "
                         f"does not fit images of height {h} and width {w}")
    return restore(x[:, top:top + height, left:left + width])


# ---- colour -------------------------------------------------------------------------------------------

def rgb_to_grayscale(images, data_format=None):
    """0.2989 R + 0.5870 G + 0.1140 B, keeping a channel axis of size 1 (1-channel images pass)."""
    from .einsum import tensordot
    from .shape import expand_dims
    op = "rgb_to_grayscale"
    x = _float_images(op, images)
    ax = -1 if data_format in (None, "channels_last") else -3
    if x.shape[ax] not in (1, 3):
        raise ValueError(f"{op}: images must have 3 (RGB) or 1 channels. Received: images.shape={x.shape}")
    if x.shape[ax] == 1:
        return x
    weights = np.array([0.2989, 0.5870, 0.1140], x.dtype)
    return expand_dims(tensordot(x, weights, axes=([x.ndim + ax], [0])), ax)


def _channel_split(x, data_format):
    from .shape import split, squeeze
    ax = x.ndim - 1 if data_format in (None, "channels_last") else x.ndim - 3
    return [squeeze(c, ax) for c in split(x, 3, axis=ax)], ax


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to HSV in [0, 1] (hue as a fraction of the circle), as TensorFlow:
    v = max, s = (max - min) / max, h from the channel that is the max."""
    from .elementwise import divide, equal, maximum, minimum, subtract, where
    from .shape import stack
    x = _float_images("rgb_to_hsv", images)
    (r, g, b), ax = _channel_split(x, data_format)
    v = maximum(maximum(r, g), b)
    rng = subtract(v, minimum(minimum(r, g), b))
    zero = np.zeros((), x.dtype)
    s = where(v.data > 0, divide(rng, where(v.data > 0, v, 1.0)), zero)
    safe = where(rng.data > 0, rng, 1.0)
    h = where(equal(v, r).data, divide(subtract(g, b), safe),
              where(equal(v, g).data, divide(subtract(b, r), safe) + 2.0, divide(subtract(r, g), safe) + 4.0))
    h = where(rng.data > 0, h / 6.0, zero)
    h = where(h.data < 0, h + 1.0, h)
    return stack([h, s, v], axis=ax)


def hsv_to_rgb(images, data_format=None):
    """HSV in [0, 1] back to RGB: each channel is v - v s clip(min(k, 4 - k), 0, 1),
    k = (n + 6 h) mod 6 for n = 5, 3, 1."""
    from .elementwise import clip, minimum, multiply, subtract
    from .math import mod
    from .shape import stack
    x = _float_images("hsv_to_rgb", images)
    (h, s, v), ax = _channel_split(x, data_format)

    def channel(n):
        k = mod(multiply(h, 6.0) + float(n), 6.0)
        return subtract(v, multiply(multiply(v, s), clip(minimum(k, subtract(4.0, k)), 0.0, 1.0)))
    return stack([channel(5), channel(3), channel(1)], axis=ax)


# ---- filters ------------------------------------------------------------------------------------------

def _gaussian_1d(size, sigma, dtype):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(dtype)


def _depthwise(x, kernel2d, padding):
    from .conv import depthwise_conv
    c = x.shape[-1]
    k = np.broadcast_to(kernel2d[:, :, None, None], kernel2d.shape + (c, 1)).astype(x.dtype)
    return depthwise_conv(x, np.ascontiguousarray(k), padding=padding)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel with a normalized Gaussian kernel (``same`` padding with zeros)."""
    op = "gaussian_blur"
    x, restore = _channels_last(op, _float_images(op, images), data_format)
    ks = (kernel_size,) * 2 if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
    sg = (sigma,) * 2 if np.ndim(sigma) == 0 else tuple(np.asarray(sigma, np.float64).tolist())
    # Keras pairs kernel_size[0] and sigma[0] with the columns, [1] with the rows
    kernel = np.outer(_gaussian_1d(ks[1], sg[1], x.dtype), _gaussian_1d(ks[0], sg[0], x.dtype))
    return restore(_depthwise(x, kernel, "same"))


def sobel_edges(images, data_format=None):
    """Sobel gradients of each channel, stacked last as (d/drow, d/dcol): (..., C, 2)."""
    from .shape import stack
    op = "sobel_edges"
    x, _ = _channels_last(op, _float_images(op, images), data_format)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
    ey, ex = _depthwise(x, kx.T, "same"), _depthwise(x, kx, "same")
    if data_format == "channels_first":
        from .shape import transpose
        ey, ex = transpose(ey, (0, 3, 1, 2)), transpose(ex, (0, 3, 1, 2))
    return stack([ey, ex], axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity per image (Wang et al. 2004, Gaussian window, 'valid'
    filtering), averaged over positions and channels."""
    from .elementwise import divide, multiply, subtract
    from .reduction import mean
    op = "ssim"
    a, restore = _channels_last(op, _float_images(op, image1), data_format)
    b, _ = _channels_last(op, _float_images(op, image2), data_format)
    if a.shape != b.shape:
        raise ValueError(f"{op}: the images must have the same shape. Received: {a.shape} and {b.shape}")
    g = _gaussian_1d(filter_size, filter_sigma, a.dtype)
    kernel = np.outer(g, g)

    def filt(t):
        return _depthwise(t, kernel, "valid")
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = filt(a), filt(b)
    mu12 = multiply(mu1, mu2)
    s1 = subtract(filt(multiply(a, a)), multiply(mu1, mu1))
    s2 = subtract(filt(multiply(b, b)), multiply(mu2, mu2))
    s12 = subtract(filt(multiply(a, b)), mu12)
    num = multiply(multiply(mu12, 2.0) + c1, multiply(s12, 2.0) + c2)
    den = multiply(multiply(mu1, mu1) + multiply(mu2, mu2) + c1, s1 + s2 + c2)
    value = mean(divide(num, den), axis=(1, 2, 3))
    return value if np.ndim(data_of(image1)) == 4 else value[0]
