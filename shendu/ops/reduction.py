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


def max(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Maximum over ``axis``; ties share the gradient."""
    return _reduce(Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Minimum over ``axis``; ties share the gradient."""
    return _reduce(Min, x, axis, keepdims)


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
