"""Activation functions, each with its derivative written next to it."""
import math

import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..kernels import kernel, workspace
from ._util import normalize_axis


def _sigmoid(x):
    # Stable on both tails: never exponentiates a large positive number.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Relu(Function):
    """y = max(x, 0);  gx = gy * [x > 0]."""

    def forward(ctx, x):
        # (into a reused buffer: a fresh large array is fresh pages, and the page
        # faults of filling them cost more than the max itself)
        y = np.maximum(x, 0, out=workspace.empty(x.shape, x.dtype)) if x.dtype.kind == "f" \
            else np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        # NOTE: subgradient 0 at x == 0, as PyTorch and TensorFlow.
        if gy.dtype == y.dtype and gy.dtype.kind == "f":
            return np.multiply(gy, y > 0, out=workspace.empty(gy.shape, gy.dtype))
        return gy * (y > 0)


@kernels.reference("bias_relu")
def bias_relu_forward(x, b, out=None):
    """y = max(x + b, 0), b broadcast along the last axis (into ``out`` if given)."""
    if out is None:
        return np.maximum(x + b, 0)
    return np.maximum(np.add(x, b, out=out), 0, out=out)


@kernels.reference("bias_relu_grad")
def bias_relu_backward(gy, y):
    """(gx, gb): gx = gy * [y > 0], gb = gx summed over every axis but the last."""
    gx = gy * (y > 0)
    return gx, gx.reshape(-1, gx.shape[-1]).sum(axis=0)


class BiasRelu(Function):
    """y = max(x + b, 0) in one pass (a layer's bias and ReLU fused), b of shape (F,);
    gx = gy * [y > 0],  gb = sum of gx over every axis but the last.  Saves y.
    """

    def forward(ctx, x, b):
        y = kernel("bias_relu")(x, b)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        # NOTE: subgradient 0 at x + b == 0, as relu.
        return kernel("bias_relu_grad")(gy, y)


class Relu6(Function):
    """y = min(max(x, 0), 6);  gx = gy * [0 < x < 6]."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.clip(x, 0, 6).astype(x.dtype, copy=False)

    def backward(ctx, gy):
        x, = ctx.saved
        return gy * ((x > 0) & (x < 6))


class LeakyRelu(Function):
    """y = x if x > 0 else a x;  gx = gy * (1 if x > 0 else a)."""

    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.a = negative_slope
        return np.where(x > 0, x, x * x.dtype.type(negative_slope))

    def backward(ctx, gy):
        x, = ctx.saved
        return np.where(x > 0, gy, gy * gy.dtype.type(ctx.a))


class Elu(Function):
    """y = x if x > 0 else a (e^x - 1);  gx = gy * (1 if x > 0 else y + a)."""

    def forward(ctx, x, alpha):
        y = np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    def backward(ctx, gy):
        x, y = ctx.saved
        return np.where(x > 0, gy, gy * (y + gy.dtype.type(ctx.alpha)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class Selu(Function):
    """y = s * (x if x > 0 else a (e^x - 1)), s = 1.0507, a = 1.6733;
    gx = gy * s * (1 if x > 0 else a e^x)."""

    def forward(ctx, x):
        t = x.dtype.type
        e = np.exp(np.minimum(x, 0))
        ctx.save_for_backward(x, e)
        return t(_SELU_SCALE) * np.where(x > 0, x, t(_SELU_ALPHA) * (e - 1))

    def backward(ctx, gy):
        x, e = ctx.saved
        t = gy.dtype.type
        return gy * t(_SELU_SCALE) * np.where(x > 0, t(1), t(_SELU_ALPHA) * e)


class Gelu(Function):
    """Gaussian error linear unit.

    exact:        y = x Phi(x),           gx = gy (Phi(x) + x phi(x))
    approximate:  y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3),
                  gx = gy (1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3*0.044715 x^2))
    """

    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        t = x.dtype.type
        if approximate:
            u = t(math.sqrt(2 / math.pi)) * (x + t(0.044715) * x ** 3)
            th = np.tanh(u)
            ctx.th = th
            return t(0.5) * x * (1 + th)
        cdf = t(0.5) * (1 + _erf(x / t(math.sqrt(2))))
        ctx.cdf = cdf
        return x * cdf

    def backward(ctx, gy):
        x, = ctx.saved
        t = gy.dtype.type
        if ctx.approximate:
            th = ctx.th
            k = t(math.sqrt(2 / math.pi))
            du = k * (1 + t(3 * 0.044715) * x * x)
            return gy * (t(0.5) * (1 + th) + t(0.5) * x * (1 - th * th) * du)
        pdf = np.exp(-x * x / 2) / t(math.sqrt(2 * math.pi))
        return gy * (ctx.cdf + x * pdf)


def _erf(x):
    """erf(x) for arrays, without SciPy, to float64 precision.

    erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)): every term is
    positive, so there is no cancellation; |x| is clipped at 6, where erf is 1 in float64.
    """
    a = np.minimum(np.abs(x.astype(np.float64)), 6.0)
    a2 = a * a
    term = a.copy()
    total = a.copy()
    for n in range(1, 160):  # loops over series terms, not elements
        term = term * (2 * a2 / (2 * n + 1))
        total += term
    y = np.sign(x) * np.minimum(2 / math.sqrt(math.pi) * np.exp(-a2) * total, 1.0)
    return y.astype(x.dtype)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  gx = gy * y * (1 - y)  (saves only the output)."""

    def forward(ctx, x):
        y = _sigmoid(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return gy * y * (1 - y)


class HardSigmoid(Function):
    """y = clip(x/6 + 1/2, 0, 1);  gx = gy/6 inside (-3, 3), else 0."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        t = x.dtype.type
        return np.clip(x / t(6) + t(0.5), 0, 1).astype(x.dtype, copy=False)

    def backward(ctx, gy):
        x, = ctx.saved
        return gy * ((x > -3) & (x < 3)) / gy.dtype.type(6)


class Tanh(Function):
    """y = tanh x;  gx = gy * (1 - y^2)  (saves only the output)."""

    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return gy * (1 - y * y)


class Softplus(Function):
    """y = ln(1 + e^x) (computed as max(x,0) + ln(1 + e^-|x|));  gx = gy * sigmoid(x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(ctx, gy):
        x, = ctx.saved
        return gy * _sigmoid(x)


class Softsign(Function):
    """y = x / (1 + |x|);  gx = gy / (1 + |x|)^2."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    def backward(ctx, gy):
        x, = ctx.saved
        d = 1 + np.abs(x)
        return gy / (d * d)


class Silu(Function):
    """y = x * sigmoid(x) (swish);  gx = gy * (s + y (1 - s)),  s = sigmoid(x)."""

    def forward(ctx, x):
        s = _sigmoid(x)
        y = x * s
        ctx.save_for_backward(s, y)
        return y

    def backward(ctx, gy):
        s, y = ctx.saved
        return gy * (s + y * (1 - s))


class Softmax(Function):
    """y_i = e^{x_i} / sum_j e^{x_j} along ``axis`` (one axis or several);
    gx = y * (gy - sum_j gy_j y_j)   (the Jacobian diag(y) - y y^T applied to gy).

    With a boolean ``mask`` (broadcast against x), only the kept positions enter the
    sums and the masked ones output 0 (a fully masked slice outputs zeros); since y is
    0 there, the same rule gives them a zero gradient.
    """

    def forward(ctx, x, axis, mask=None):
        if mask is not None:
            x = np.where(mask, x, np.asarray(-np.inf, x.dtype))
        m = x.max(axis=axis, keepdims=True)
        if mask is not None:
            m = np.where(np.isfinite(m), m, np.zeros((), x.dtype))
        e = np.exp(x - m)  # shifted for stability: softmax is shift-invariant
        s = e.sum(axis=axis, keepdims=True)
        y = e / np.where(s > 0, s, np.ones((), s.dtype)) if mask is not None else e / s
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return y * (gy - (gy * y).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x);  gx = gy - softmax(x) * sum_j gy_j."""

    def forward(ctx, x, axis):
        z = x - x.max(axis=axis, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=axis, keepdims=True))
        y = z - lse
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return gy - np.exp(y) * gy.sum(axis=ctx.axis, keepdims=True)


def relu(x):
    """Rectified linear unit, max(x, 0)."""
    return Relu.apply(x)


def bias_relu(x, bias):
    """max(x + bias, 0) as one op, bias of shape (x.shape[-1],)."""
    return BiasRelu.apply(x, bias)


def relu6(x):
    return Relu6.apply(x)


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, ``negative_slope * x`` otherwise (Keras default slope 0.2)."""
    return LeakyRelu.apply(x, negative_slope=float(negative_slope))


def elu(x, alpha=1.0):
    return Elu.apply(x, alpha=float(alpha))


def selu(x):
    return Selu.apply(x)


def gelu(x, approximate=True):
    """Gaussian error linear unit; ``approximate`` uses the tanh form (keras.ops default)."""
    return Gelu.apply(x, approximate=bool(approximate))


def sigmoid(x):
    return Sigmoid.apply(x)


def hard_sigmoid(x):
    return HardSigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def softplus(x):
    return Softplus.apply(x)


def softsign(x):
    return Softsign.apply(x)


def silu(x):
    """x * sigmoid(x), also called swish."""
    return Silu.apply(x)


swish = silu


def softmax(x, axis=-1, mask=None):
    """Softmax along ``axis`` (an int or a tuple of axes).

    ``mask`` (shendu's addition, the rule of Keras's ``Softmax`` layer): where it is
    False (or <= 0.5), the position is left out of the normalization and outputs 0.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.softmax(np.array([0., 0., 5.]), mask=np.array([True, True, False])).numpy()
        array([0.5, 0.5, 0. ])
    """
    data = x.data if hasattr(x, "data") else np.asarray(x)
    axes = normalize_axis(axis, data.ndim)
    if mask is not None:
        mask = np.asarray(mask.data if hasattr(mask, "data") else mask)
        mask = mask if mask.dtype == bool else mask > 0.5
        if mask.ndim > data.ndim or any(m not in (1, n) for m, n in zip(mask.shape[::-1], data.shape[::-1])):
            raise ValueError(f"softmax: the mask must broadcast to the input. Received: "
                             f"x.shape={data.shape}, mask.shape={mask.shape}")
    return Softmax.apply(x, axis=axes, mask=mask)


def log_softmax(x, axis=-1):
    """log(softmax(x)) computed stably along ``axis``."""
    ax, = normalize_axis(axis, np.ndim(x.data if hasattr(x, "data") else x))
    return LogSoftmax.apply(x, axis=ax)
