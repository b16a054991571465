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


# ---- the rest of keras.ops.nn's activations ----------------------------------------------------

class Celu(Function):
    """y = x if x > 0 else a (e^{x/a} - 1);  gx = gy * (1 if x > 0 else e^{x/a})."""

    def forward(ctx, x, alpha):
        t = x.dtype.type
        e = np.exp(np.minimum(x, 0) / t(alpha))
        ctx.save_for_backward(x, e)
        return np.where(x > 0, x, t(alpha) * (e - 1))

    def backward(ctx, gy):
        x, e = ctx.saved
        return np.where(x > 0, gy, gy * e)


class _Gate(Function):
    """y = x * g(x) for a piecewise-linear gate g (hard_silu) or y = g(x) (sparse_* ...):
    the row's ``f`` and ``df`` (derivative from x), kinks deliberately outside samplers."""
    f = df = None

    def forward(ctx, x, **params):
        ctx.save_for_backward(x)
        ctx.params = params
        return np.asarray(type(ctx).f(x, **params)).astype(x.dtype, copy=False)

    def backward(ctx, gy):
        x, = ctx.saved
        return (gy * type(ctx).df(x, **ctx.params)).astype(gy.dtype, copy=False)


def _gate(name, f, df, doc):
    return type(name, (_Gate,), {"f": staticmethod(f), "df": staticmethod(df), "__doc__": doc})


# NOTE: at each kink below the derivative takes the value of the piece on its left
# (0 at x = -3 for hard_silu, at |x| = t for the shrinks), as the masks are written.
HardSilu = _gate("HardSilu", lambda x: x * np.clip(x + 3, 0, 6) / 6,
                 lambda x: np.clip(x + 3, 0, 6) / 6 + x * ((x > -3) & (x < 3)) / 6,
                 "y = x relu6(x + 3)/6;  gx = gy (relu6(x + 3)/6 + x [-3 < x < 3]/6)")
HardShrink = _gate("HardShrink", lambda x, threshold: np.where(np.abs(x) > threshold, x, 0),
                   lambda x, threshold: np.abs(x) > threshold,
                   "y = x if |x| > t else 0;  gx = gy [|x| > t]")
SoftShrink = _gate("SoftShrink",
                   lambda x, threshold: np.where(np.abs(x) > threshold, x - threshold * np.sign(x), 0),
                   lambda x, threshold: np.abs(x) > threshold,
                   "y = x - t sign(x) if |x| > t else 0;  gx = gy [|x| > t]")
SparsePlus = _gate("SparsePlus", lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
                   lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)),
                   "y = 0 (x <= -1), (x + 1)^2/4 (|x| < 1), x (x >= 1);  gx = gy (0, (x + 1)/2, 1)")
SparseSigmoid = _gate("SparseSigmoid", lambda x: np.clip((x + 1) / 2, 0, 1),
                      lambda x: ((x > -1) & (x < 1)) / 2,
                      "y = clip((x + 1)/2, 0, 1);  gx = gy [|x| < 1] / 2")
Squareplus = _gate("Squareplus", lambda x, b: (x + np.sqrt(x * x + b)) / 2,
                   lambda x, b: (1 + x / np.sqrt(x * x + b)) / 2,
                   "y = (x + sqrt(x^2 + b))/2;  gx = gy (1 + x/sqrt(x^2 + b))/2")
TanhShrink = _gate("TanhShrink", lambda x: x - np.tanh(x), lambda x: np.tanh(x) ** 2,
                   "y = x - tanh x;  gx = gy tanh^2 x")
Threshold = _gate("Threshold", lambda x, threshold, default_value: np.where(x > threshold, x, default_value),
                  lambda x, threshold, default_value: x > threshold,
                  "y = x if x > t else v;  gx = gy [x > t]")


class Sparsemax(Function):
    """y = max(x - tau, 0) along ``axis``, tau chosen so that sum y = 1 (the Euclidean
    projection of x onto the simplex);  with S the support (y > 0),
    gx = [S] (gy - sum_S gy / |S|)."""

    def forward(ctx, x, axis):
        z = np.moveaxis(x, axis, -1)
        zs = -np.sort(-z, axis=-1)
        k = np.arange(1, z.shape[-1] + 1, dtype=x.dtype)
        cums = np.cumsum(zs, axis=-1)
        in_support = 1 + k * zs > cums
        kz = in_support.sum(axis=-1, keepdims=True)
        tau = (np.take_along_axis(cums, kz - 1, axis=-1) - 1) / kz.astype(x.dtype)
        y = np.moveaxis(np.maximum(z - tau, 0), -1, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        s = y > 0
        mean = (gy * s).sum(axis=ctx.axis, keepdims=True) / s.sum(axis=ctx.axis, keepdims=True)
        return np.where(s, gy - mean, 0).astype(gy.dtype, copy=False)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: x for x > 0, alpha (e^{x/alpha} - 1) otherwise."""
    return Celu.apply(x, alpha=float(alpha))


def hard_silu(x):
    """x * hard_sigmoid(x) = x relu6(x + 3) / 6 (also called hard_swish)."""
    return HardSilu.apply(x)


hard_swish = hard_silu


def hard_tanh(x):
    """clip(x, -1, 1)."""
    from .elementwise import clip
    return clip(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return HardShrink.apply(x, threshold=float(threshold))


def soft_shrink(x, threshold=0.5):
    """x shrunk toward 0 by ``threshold`` (0 inside [-threshold, threshold])."""
    return SoftShrink.apply(x, threshold=float(threshold))


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 between, x for x >= 1 (a smooth-edged ReLU)."""
    return SparsePlus.apply(x)


def sparse_sigmoid(x):
    """clip((x + 1) / 2, 0, 1)."""
    return SparseSigmoid.apply(x)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth ReLU."""
    if b < 0:
        raise ValueError(f"squareplus: b must be >= 0. Received: b={b}")
    return Squareplus.apply(x, b=float(b))


def tanh_shrink(x):
    """x - tanh(x)."""
    return TanhShrink.apply(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    return Threshold.apply(x, threshold=float(threshold), default_value=float(default_value))


def sparsemax(x, axis=-1):
    """The projection of x onto the probability simplex along ``axis``: like softmax, but
    exactly 0 for the smallest entries.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.sparsemax(np.array([2.0, 1.0, -1.0])).numpy()
        array([1., 0., 0.])
    """
    ax, = normalize_axis(axis, np.ndim(x.data if hasattr(x, "data") else x))
    return Sparsemax.apply(x, axis=ax)


def glu(x, axis=-1):
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of x along ``axis``."""
    from .elementwise import multiply
    from .shape import split
    n = np.shape(x.data if hasattr(x, "data") else x)[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} must have an even size. Received: size {n}")
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))
