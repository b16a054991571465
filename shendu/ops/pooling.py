"""Pooling over the spatial axes of channels-last inputs (N, *spatial, C).

Each window position (tap) of the pool sees one strided slice of the padded
input, so forward and backward loop over the few taps of the window and do the
work for every sample, position and channel at once.
"""
import itertools

import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import kernel
from ._util import data_of
from .conv import _check_data_format, _padding, _pad_spatial, _tap_slices, \
    _tuple, same_or_valid_pads


def _taps(pool):
    return enumerate(itertools.product(*(range(p) for p in pool)))


def _padded_zeros(x_shape, pads, dtype):
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[1:-1], pads))
    return np.zeros((x_shape[0],) + padded + (x_shape[-1],), dtype=dtype)


def _crop(gxp, x_shape, pads):
    return gxp[(slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x_shape[1:-1], pads))
               + (slice(None),)]


@kernels.reference("max_pool_forward")
def max_pool_forward(x, pool, strides, pads, out, need_arg=True):
    """(y, arg): the max of every window and the index of the tap that holds it
    (a fast kernel may return arg=None when ``need_arg`` is False: inference)."""
    # Padding must never win a max, so it is -inf rather than 0 (TensorFlow semantics).
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=low) \
        if any(lo or hi for lo, hi in pads) else x
    best = arg = None
    for k, tap in _taps(pool):
        v = xp[(slice(None),) + _tap_slices(tap, strides, out)]
        if best is None:
            best, arg = v.copy(), np.zeros(v.shape, dtype=np.int32)
            continue
        # NOTE: at a tie the first tap in the window keeps the gradient (strict >),
        # as PyTorch and TensorFlow do.
        better = v > best
        best[better] = v[better]
        arg[better] = k
    return best, arg


@kernels.reference("max_pool_backward")
def max_pool_backward(gy, arg, x_shape, pool, strides, pads, out):
    """gx: each gy routed to the argmax tap of its window (scatter-added)."""
    gxp = _padded_zeros(x_shape, pads, gy.dtype)
    zero = np.zeros((), gy.dtype)
    for k, tap in _taps(pool):
        gxp[(slice(None),) + _tap_slices(tap, strides, out)] += np.where(arg == k, gy, zero)
    return _crop(gxp, x_shape, pads)


@kernels.reference("max_pool_relu_backward")
def max_pool_relu_backward(gy, arg, y, x_shape, pool, strides, pads, out):
    """(gz, gb): the gradient through z -> relu -> max pool, given the pool's output y.

    The pool routes gy[o] to its argmax, whose activation is y[o] itself, so the ReLU's
    mask [activation > 0] is [y > 0] taken at the pool's output: gz =
    max_pool_backward(gy * [y > 0]), and gb (the bias gradient, gz summed over every
    axis but the last) is the sum of gy * [y > 0]. Exact, ties and zeros included.
    """
    g, gb = kernels.get_reference("bias_relu_grad")(gy, y)
    return max_pool_backward(g, arg, x_shape, pool, strides, pads, out), gb


class MaxPool(Function):
    """y[n, o, c] = max_{t in window} xp[n, o*s + t, c]  (xp padded with -inf);
    gx = gy routed to the argmax of each window (scatter-added: windows may overlap).

    Saves the input's shape and the argmax tap of each window (an int32 array of y's
    shape). The work is the kernels ``max_pool_forward`` / ``max_pool_backward``.
    """

    def forward(ctx, x, pool, strides, pads, out):
        y, arg = kernel("max_pool_forward")(x, pool, strides, pads, out,
                                            need_arg=is_grad_enabled())
        ctx.save_for_backward(arg)
        ctx.geom = x.shape, pool, strides, pads, out
        return y

    def backward(ctx, gy):
        arg, = ctx.saved
        return kernel("max_pool_backward")(gy, arg, *ctx.geom)


class AveragePool(Function):
    """y[n, o, c] = (1 / count_o) sum_{t in window, inside x} x[n, o*s + t - lo, c];
    gx = gy / count_o added to every real (non-padding) element of window o.

    count_o is the number of window elements that are not padding, so 'same'
    padding averages only real values (TensorFlow/Keras); with 'valid' it is the
    pool size everywhere.
    """

    def forward(ctx, x, pool, strides, pads, out):
        xp = _pad_spatial(x, pads)
        total = np.zeros((x.shape[0],) + tuple(out) + (x.shape[-1],), dtype=x.dtype)
        for _, tap in _taps(pool):
            total += xp[(slice(None),) + _tap_slices(tap, strides, out)]
        count = _window_counts(x.shape, pool, strides, pads, out).astype(x.dtype)
        ctx.save_for_backward(count)
        ctx.geom = x.shape, pool, strides, pads, out
        return total / count

    def backward(ctx, gy):
        count, = ctx.saved
        x_shape, pool, strides, pads, out = ctx.geom
        g = gy / count
        gxp = _padded_zeros(x_shape, pads, gy.dtype)
        for _, tap in _taps(pool):
            gxp[(slice(None),) + _tap_slices(tap, strides, out)] += g
        # The padding's share is simply dropped: it was never counted in the mean.
        return _crop(gxp, x_shape, pads)


def _window_counts(x_shape, pool, strides, pads, out):
    """(1, *out, 1) number of real input elements inside each window."""
    ones = _pad_spatial(np.ones((1,) + tuple(x_shape[1:-1]) + (1,)), pads)
    count = np.zeros((1,) + tuple(out) + (1,))
    for _, tap in _taps(pool):
        count += ones[(slice(None),) + _tap_slices(tap, strides, out)]
    return count


def _pool_geometry(op, x, pool_size, strides, padding, data_format):
    _check_data_format(data_format, op)
    shape = np.shape(data_of(x))
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"{op}: expected inputs of rank 3 (N, W, C), 4 (N, H, W, C) or 5. "
                         f"Received: inputs.shape={tuple(shape)}")
    nsp = len(shape) - 2
    pool = _tuple(pool_size, nsp, "pool_size", op)
    strides = pool if strides is None else _tuple(strides, nsp, "strides", op)
    pads = same_or_valid_pads(shape[1:-1], pool, strides, (1,) * nsp, _padding(padding, op))
    out = []
    for n, p, s, (lo, hi) in zip(shape[1:-1], pool, strides, pads):
        if p > n + lo + hi:
            raise ValueError(f"{op}: the pool (size {p}) is larger than the padded input "
                             f"(size {n + lo + hi}). Received: inputs.shape={tuple(shape)}, "
                             f"pool_size={pool_size}, padding={padding!r}")
        out.append((n + lo + hi - p) // s + 1)
    return dict(pool=pool, strides=strides, pads=pads, out=tuple(out))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling (keras.ops.max_pool) over channels-last (N, W, C) or (N, H, W, C).

    Args:
        pool_size: int or tuple, the window.
        strides: int or tuple; None means pool_size (non-overlapping windows).
        padding: 'valid' or 'same' (out = ceil(in / stride); padding never wins).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.max_pool(np.arange(4.).reshape(1, 4, 1), 2).numpy()[0, :, 0]
        array([1., 3.])
    """
    return MaxPool.apply(inputs, **_pool_geometry("max_pool", inputs, pool_size, strides,
                                                  padding, data_format))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling (keras.ops.average_pool); 'same' averages only real elements.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.average_pool(np.arange(3.).reshape(1, 3, 1), 2, padding="same").numpy()[0, :, 0]
        array([0.5, 2. ])
    """
    return AveragePool.apply(inputs, **_pool_geometry("average_pool", inputs, pool_size,
                                                      strides, padding, data_format))


max_pool1d = max_pool2d = max_pool3d = max_pool
average_pool1d = average_pool2d = average_pool3d = average_pool
avg_pool = avg_pool1d = avg_pool2d = avg_pool3d = average_pool


def _spatial_axes(x):
    nd = np.ndim(data_of(x))
    if nd < 3:
        raise ValueError(f"global pooling expects (N, *spatial, C) inputs of rank >= 3. "
                         f"Received: inputs.shape={np.shape(data_of(x))}")
    return tuple(range(1, nd - 1))


def global_average_pool(inputs, keepdims=False):
    """Mean over every spatial axis of channels-last inputs: (N, *spatial, C) -> (N, C)."""
    from .reduction import mean
    return mean(inputs, axis=_spatial_axes(inputs), keepdims=keepdims)


def global_max_pool(inputs, keepdims=False):
    """Max over every spatial axis of channels-last inputs: (N, *spatial, C) -> (N, C)."""
    from .reduction import max as max_
    return max_(inputs, axis=_spatial_axes(inputs), keepdims=keepdims)
