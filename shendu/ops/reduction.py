"""Reductions: sum, mean, max, min, var, std, logsumexp over ``axis``.

The backward of a reduction broadcasts gy back over the reduced axes.
"""
import builtins

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import data_of, normalize_axis, restore_reduced


class Sum(Function):
    """y = sum_{axis} x;  gx = gy broadcast back over ``axis``."""

    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(ctx, gy):
        g = restore_reduced(gy, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    """y = (1/n) sum_{axis} x;  gx = gy / n broadcast back, n = number of reduced elements."""

    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        ctx.n = builtins.max(int(np.prod([x.shape[a] for a in axis])), 1)
        return np.asarray(x.mean(axis=axis, keepdims=keepdims))

    def backward(ctx, gy):
        g = restore_reduced(gy, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g / gy.dtype.type(ctx.n), ctx.shape)


class _Extreme(Function):
    """y = max (or min) over ``axis``;  gx = gy at the arg-extreme positions.

    NOTE: when several elements tie for the extreme, the gradient is split evenly
    between them (so the sum of gradients is right and the choice is symmetric).
    """
    reducer = None

    def forward(ctx, x, axis, keepdims):
        y = type(ctx).reducer(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdims = axis, keepdims
        return y if keepdims else np.squeeze(y, axis=axis)

    def backward(ctx, gy):
        x, y = ctx.saved
        g = restore_reduced(gy, x.shape, ctx.axis, ctx.keepdims)
        mask = (x == y)
        count = mask.sum(axis=ctx.axis, keepdims=True)
        return mask * (g / count).astype(gy.dtype)


class Max(_Extreme):
    reducer = staticmethod(np.max)


class Min(_Extreme):
    reducer = staticmethod(np.min)


class Var(Function):
    """y = (1/n) sum (x - m)^2, m = mean(x);  gx = gy * 2 (x - m) / n."""

    def forward(ctx, x, axis, keepdims):
        m = x.mean(axis=axis, keepdims=True)
        d = x - m
        ctx.save_for_backward(d)
        ctx.axis, ctx.keepdims = axis, keepdims
        ctx.n = builtins.max(int(np.prod([x.shape[a] for a in axis])), 1)
        return np.asarray((d * d).mean(axis=axis, keepdims=keepdims))

    def backward(ctx, gy):
        d, = ctx.saved
        g = restore_reduced(gy, d.shape, ctx.axis, ctx.keepdims)
        return g * d * gy.dtype.type(2.0 / ctx.n)


class LogSumExp(Function):
    """y = m + ln sum e^{x - m}, m = max x;  gx = gy * e^{x - y} = gy * softmax(x)."""

    def forward(ctx, x, axis, keepdims):
        m = x.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdims = axis, keepdims
        return y if keepdims else np.squeeze(y, axis=axis)

    def backward(ctx, gy):
        x, y = ctx.saved
        g = restore_reduced(gy, x.shape, ctx.axis, ctx.keepdims)
        return g * np.exp(x - y)


def _reduce(cls, x, axis, keepdims):
    nd = np.ndim(data_of(x))
    return cls.apply(x, axis=normalize_axis(axis, nd), keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Sum over ``axis`` (int, tuple or None for all)."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``."""
    return _reduce(Mean, x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras name
    """Maximum over ``axis`` (and ``initial``, if given); ties share the gradient."""
    y = _reduce(Max, x, axis, keepdims)
    if initial is None:
        return y
    from .elementwise import maximum
    return maximum(y, initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras name
    """Minimum over ``axis`` (and ``initial``, if given); ties share the gradient."""
    y = _reduce(Min, x, axis, keepdims)
    if initial is None:
        return y
    from .elementwise import minimum
    return minimum(y, initial)


amax, amin = max, min


def var(x, axis=None, keepdims=False):
    """Population variance (divides by n, as Keras and NumPy) over ``axis``."""
    return _reduce(Var, x, axis, keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation: sqrt(var)."""
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """ln(sum(exp(x))) over ``axis``, computed without overflow."""
    return _reduce(LogSumExp, x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (an integer tensor, no gradient)."""
    return Tensor._from_op(np.argmax(data_of(x), axis=axis, keepdims=keepdims), None)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (an integer tensor, no gradient)."""
    return Tensor._from_op(np.argmin(data_of(x), axis=axis, keepdims=keepdims), None)


def _cumulative_axis(x, axis):
    """(x, axis) with x flattened when ``axis`` is None, as NumPy's cumulative ops."""
    from .shape import reshape
    if axis is None:
        return reshape(x, (-1,)), 0
    nd = np.ndim(data_of(x))
    ax, = normalize_axis(axis, builtins.max(nd, 1))
    if nd == 0:
        return reshape(x, (1,)), 0
    return x, ax


def _cast_input(x, dtype):
    from .elementwise import cast
    return x if dtype is None else cast(x, dtype)


class Cumsum(Function):
    """y_i = sum_{j <= i} x_j along ``axis``;  gx_i = sum_{j >= i} gy_j (a reversed cumsum)."""

    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(ctx, gy):
        flip = [slice(None)] * gy.ndim
        flip[ctx.axis] = slice(None, None, -1)
        flip = tuple(flip)
        return np.cumsum(gy[flip], axis=ctx.axis)[flip]


def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (over the flattened x when None).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.cumsum(np.array([1., 2., 3.])).numpy()
        array([1., 3., 6.])
    """
    x, ax = _cumulative_axis(_cast_input(x, dtype), axis)
    return Cumsum.apply(x, axis=ax)


def _exclusive_products(x, axis):
    """(left, right): products of the elements strictly before, and strictly after, each
    position along ``axis`` -- no division, so zeros are handled exactly."""
    n = x.shape[axis]
    ones = np.ones_like(np.take(x, [0], axis=axis))
    head = np.take(x, np.arange(n - 1), axis=axis)
    tail = np.take(x, np.arange(1, n), axis=axis)
    left = np.concatenate([ones, np.cumprod(head, axis=axis)], axis=axis)
    right = np.flip(np.concatenate([ones, np.cumprod(np.flip(tail, axis), axis=axis)], axis=axis), axis)
    return left, right


class Cumprod(Function):
    """y_i = prod_{j <= i} x_j along ``axis``;
    gx_i = sum_{j >= i} gy_j prod_{l <= j, l != i} x_l.

    Without zeros in x this is (sum_{j >= i} gy_j y_j) / x_i; where x has a zero, the
    products are formed without the division (a triangle of partial products along the
    axis, n^2 per line, used only then).
    """

    def forward(ctx, x, axis):
        y = np.cumprod(x, axis=axis)
        ctx.save_for_backward(x, y)
        ctx.axis = axis
        return y

    def backward(ctx, gy):
        x, y = ctx.saved
        ax = ctx.axis
        if np.all(x != 0):
            t = np.flip(np.cumsum(np.flip(gy * y, ax), axis=ax), ax)
            return t / x
        xm, gm = np.moveaxis(x, ax, -1), np.moveaxis(gy, ax, -1)
        n = xm.shape[-1]
        # M[..., i, l] = x_l for l > i, else 1;  cumprod over l gives prod_{i < l <= j} x_l
        after = np.arange(n)[None, :] > np.arange(n)[:, None]
        partial = np.cumprod(np.where(after, xm[..., None, :], 1), axis=-1)
        upper = np.arange(n)[None, :] >= np.arange(n)[:, None]
        left, _ = _exclusive_products(xm, -1)
        gx = left * np.einsum("...ij,...j->...i", np.where(upper, partial, 0), gm)
        return np.moveaxis(gx, -1, ax).astype(gy.dtype, copy=False)


def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis`` (over the flattened x when None); exact gradients
    through zeros.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.cumprod(np.array([1., 2., 3.])).numpy()
        array([1., 2., 6.])
    """
    x, ax = _cumulative_axis(_cast_input(x, dtype), axis)
    return Cumprod.apply(x, axis=ax)


class Prod(Function):
    """y = prod_{axis} x;  gx_i = gy * prod_{j != i} x_j (the products before and after
    position i, so a zero in x gives the exact gradient, with no division)."""

    def forward(ctx, x, axis, keepdims):
        ctx.save_for_backward(x)
        ctx.axis, ctx.keepdims = axis, keepdims
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))

    def backward(ctx, gy):
        x, = ctx.saved
        ax = ctx.axis
        g = restore_reduced(gy, x.shape, ax, ctx.keepdims)
        if not ax or x.size == 0:
            return np.broadcast_to(g, x.shape).astype(gy.dtype)
        rest = [d for d in range(x.ndim) if d not in ax]
        xt = np.transpose(x, rest + list(ax))
        flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
        left, right = _exclusive_products(flat, -1)
        others = (left * right).reshape(xt.shape)
        others = np.transpose(others, np.argsort(rest + list(ax)))
        return (g * others).astype(gy.dtype, copy=False)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``; exact gradients through zeros."""
    return _reduce(Prod, _cast_input(x, dtype), axis, keepdims)
