"""Elementwise arithmetic: each output element depends on the matching input elements.

Backward rules here return gradients of the output's (broadcast) shape; the
engine sums them back to each input's shape.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import broadcast_shapes, data_of


def _check_broadcast(op, a, b):
    broadcast_shapes(op, np.shape(a), np.shape(b))


class Add(Function):
    """y = a + b;  ga = gy, gb = gy."""

    def forward(ctx, a, b):
        _check_broadcast("add", a, b)
        return a + b

    def backward(ctx, gy):
        return gy, gy


class Subtract(Function):
    """y = a - b;  ga = gy, gb = -gy."""

    def forward(ctx, a, b):
        _check_broadcast("subtract", a, b)
        return a - b

    def backward(ctx, gy):
        return gy, -gy


class Multiply(Function):
    """y = a * b;  ga = gy * b, gb = gy * a."""

    def forward(ctx, a, b):
        _check_broadcast("multiply", a, b)
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, gy):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (gy * b if need_a else None), (gy * a if need_b else None)


class Divide(Function):
    """y = a / b;  ga = gy / b, gb = -gy * a / b^2 = -gy * y / b."""

    def forward(ctx, a, b):
        _check_broadcast("divide", a, b)
        if a.dtype.kind in "iub" and b.dtype.kind in "iub":
            from ..config import float_dtype
            # true division of integers gives floatx, not float64
            a, b = a.astype(float_dtype()), b.astype(float_dtype())
        y = a / b
        ctx.save_for_backward(b, y)
        return y

    def backward(ctx, gy):
        b, y = ctx.saved
        ga = gy / b
        return ga, -ga * y


class Power(Function):
    """y = a ** b;  ga = gy * b * a^(b-1),  gb = gy * y * ln(a)  (a > 0)."""

    def forward(ctx, a, b):
        _check_broadcast("power", a, b)
        y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, gy):
        a, b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        ga = gy * b * np.power(a, b - 1) if need_a else None
        gb = None
        if need_b:
            # NOTE: ln(a) is undefined for a <= 0; we use 0 there (as PyTorch does for a == 0).
            with np.errstate(divide="ignore", invalid="ignore"):
                loga = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0).astype(y.dtype)
            gb = gy * y * loga
        return ga, gb


class Negative(Function):
    """y = -x;  gx = -gy."""

    def forward(ctx, x):
        return -x

    def backward(ctx, gy):
        return -gy


class Exp(Function):
    """y = e^x;  gx = gy * y  (saves only the output)."""

    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return gy * y


class Log(Function):
    """y = ln x;  gx = gy / x."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    def backward(ctx, gy):
        x, = ctx.saved
        return gy / x


class Sqrt(Function):
    """y = sqrt(x);  gx = gy / (2 y)."""

    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return gy / (2 * y)


class Square(Function):
    """y = x^2;  gx = 2 x gy."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, gy):
        x, = ctx.saved
        return 2 * x * gy


class Abs(Function):
    """y = |x|;  gx = gy * sign(x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, gy):
        x, = ctx.saved
        # NOTE: subgradient 0 at x == 0 (sign(0) = 0), as PyTorch.
        return gy * np.sign(x)


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input.

    ga = gy * [a > b] + gy/2 * [a == b],  gb likewise.
    """

    def forward(ctx, a, b):
        _check_broadcast("maximum", a, b)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(ctx, gy):
        a, b = ctx.saved
        # NOTE: at a tie the gradient is split evenly between both inputs (PyTorch does the same).
        wa = (a > b) + 0.5 * (a == b)
        return gy * wa.astype(gy.dtype), gy * (1 - wa).astype(gy.dtype)


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input (split evenly at a tie)."""

    def forward(ctx, a, b):
        _check_broadcast("minimum", a, b)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(ctx, gy):
        a, b = ctx.saved
        # NOTE: at a tie the gradient is split evenly between both inputs.
        wa = (a < b) + 0.5 * (a == b)
        return gy * wa.astype(gy.dtype), gy * (1 - wa).astype(gy.dtype)


class Where(Function):
    """y = cond ? a : b;  ga = gy * cond,  gb = gy * (1 - cond); cond gets no gradient."""

    def forward(ctx, cond, a, b):
        broadcast_shapes("where", cond.shape, a.shape, b.shape)
        cond = cond.astype(bool)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    def backward(ctx, gy):
        cond, = ctx.saved
        zero = np.zeros((), gy.dtype)
        return None, np.where(cond, gy, zero), np.where(cond, zero, gy)


class Clip(Function):
    """y = min(max(x, lo), hi);  gx = gy where lo <= x <= hi, else 0."""

    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(ctx, gy):
        x, lo, hi = ctx.saved
        # NOTE: at the boundary the gradient passes (inclusive), as PyTorch's clamp.
        inside = (x >= lo) & (x <= hi)
        return gy * inside, None, None


class Cast(Function):
    """y = x converted to ``dtype``;  gx = gy converted back."""

    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, gy):
        return gy.astype(ctx.in_dtype)


def add(x1, x2):
    """Elementwise x1 + x2 with broadcasting."""
    return Add.apply(x1, x2)


def subtract(x1, x2):
    """Elementwise x1 - x2 with broadcasting."""
    return Subtract.apply(x1, x2)


def multiply(x1, x2):
    """Elementwise x1 * x2 with broadcasting."""
    return Multiply.apply(x1, x2)


def divide(x1, x2):
    """Elementwise x1 / x2 with broadcasting (integers divide to floatx)."""
    return Divide.apply(x1, x2)


true_divide = divide


def power(x1, x2):
    """Elementwise x1 ** x2."""
    return Power.apply(x1, x2)


def negative(x):
    return Negative.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def square(x):
    return Square.apply(x)


def abs(x):  # noqa: A001 - Keras name
    return Abs.apply(x)


absolute = abs


def maximum(x1, x2):
    return Maximum.apply(x1, x2)


def minimum(x1, x2):
    return Minimum.apply(x1, x2)


def where(condition, x1=None, x2=None):
    """Pick x1 where ``condition`` holds, else x2 (condition gets no gradient).

    With neither x1 nor x2, the indices where ``condition`` holds (as ``nonzero``).
    """
    if x1 is None and x2 is None:
        from .indexing import nonzero
        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return Where.apply(_nodiff(condition), x1, x2)


def clip(x, x_min, x_max):
    """Limit x to [x_min, x_max]; the bounds get no gradient."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    dt = x.dtype
    return Clip.apply(x, Tensor(np.asarray(data_of(x_min), dtype=dt)),
                      Tensor(np.asarray(data_of(x_max), dtype=dt)))


def cast(x, dtype):
    """x converted to ``dtype`` (differentiable between float types)."""
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == dtype:
        return x
    if dtype.kind not in "fc":
        return Tensor(data_of(x).astype(dtype))
    return Cast.apply(x, dtype=dtype)


def sign(x):
    """sign(x), not differentiable (its derivative is 0 almost everywhere)."""
    return Tensor(np.sign(data_of(x)))


def _nodiff(x):
    return Tensor._from_op(np.asarray(data_of(x)), None)


def _compare(fn):
    def op(x1, x2):
        return Tensor._from_op(fn(data_of(x1), data_of(x2)), None)
    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise ``{fn.__name__}``; returns a boolean tensor with no gradient."
    return op


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)


def logical_not(x):
    return Tensor._from_op(np.logical_not(data_of(x)), None)


def isnan(x):
    return Tensor._from_op(np.isnan(data_of(x)), None)


def isfinite(x):
    return Tensor._from_op(np.isfinite(data_of(x)), None)
