"""Normalization: batch norm (fused, with its batch statistics), layer norm (fused),
and Keras's ``batch_normalization`` with given statistics (a composite of ops).

Both fused ops share one picture. Over the m elements of a normalization group,

    mu = mean(x),  var = mean((x - mu)^2)  (biased),  sigma = sqrt(var + eps),
    xhat = (x - mu) / sigma,  y = gamma * xhat + beta,

and since mu and var depend on every x of the group, the gradient of x has
two correction terms, one per statistic:

    gx = (1 / sigma) * (g - mean(g) - xhat * mean(g * xhat)),  g = gamma * gy,

which is the compact (gamma/sigma)/m * (m gy - sum gy - xhat sum(gy xhat)).
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import data_of, normalize_axis


def _normalize_fused(x, axes, epsilon):
    """xhat and 1/sigma over ``axes`` (kept as size-1 axes for broadcasting)."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + x.dtype.type(epsilon))
    return d * inv, inv, mean, var


def _normalize_backward(gy, xhat, inv, gamma_b, axes):
    """gx of xhat -> gamma xhat + beta, with the two statistic-correction terms."""
    g = gy * gamma_b
    return inv * (g - g.mean(axis=axes, keepdims=True)
                  - xhat * (g * xhat).mean(axis=axes, keepdims=True))


class BatchNorm(Function):
    """Training-mode batch normalization over every axis except the feature ``axis``.

    y = gamma * (x - mu) / sqrt(var + eps) + beta, mu and var (biased) over the batch;
    gx = (gamma/sigma)/m * (m gy - sum gy - xhat sum(gy xhat)),
    ggamma = sum(gy xhat),  gbeta = sum(gy)   (sums over the m elements per feature).

    Shapes: x (N, ..., C, ...), gamma and beta of the feature axes' shape (C,).
    Saves xhat, 1/sigma and gamma. The batch mean and variance are written into
    ``stats`` (a dict) so the caller can update moving statistics without
    computing them twice.
    """

    def forward(ctx, x, gamma, beta, axes, param_shape, epsilon, stats):
        xhat, inv, mean, var = _normalize_fused(x, axes, epsilon)
        gamma_b = gamma.reshape(param_shape)
        ctx.save_for_backward(xhat, inv, gamma_b)
        ctx.axes, ctx.gamma_shape = axes, gamma.shape
        stats["mean"], stats["var"] = mean.reshape(gamma.shape), var.reshape(gamma.shape)
        return xhat * gamma_b + beta.reshape(param_shape)

    def backward(ctx, gy):
        xhat, inv, gamma_b = ctx.saved
        need_x, need_gamma, need_beta = ctx.needs_input_grad
        axes = ctx.axes
        gx = _normalize_backward(gy, xhat, inv, gamma_b, axes) if need_x else None
        gg = (gy * xhat).sum(axis=axes).reshape(ctx.gamma_shape) if need_gamma else None
        gb = gy.sum(axis=axes).reshape(ctx.gamma_shape) if need_beta else None
        return gx, gg, gb


class LayerNorm(Function):
    """Normalization of each sample over the trailing ``axes``.

    y = gamma * (x - mu) / sqrt(var + eps) + beta, mu and var (biased) over ``axes``;
    gx = (1/sigma) (g - mean(g) - xhat mean(g xhat)), g = gamma gy  (means over ``axes``),
    ggamma = sum(gy xhat),  gbeta = sum(gy)   (sums over the other axes).

    Shapes: gamma and beta have the shape of x over ``axes``. Saves xhat, 1/sigma, gamma.
    """

    def forward(ctx, x, gamma, beta, axes, param_shape, epsilon):
        xhat, inv, _, _ = _normalize_fused(x, axes, epsilon)
        gamma_b = gamma.reshape(param_shape)
        ctx.save_for_backward(xhat, inv, gamma_b)
        ctx.axes, ctx.gamma_shape = axes, gamma.shape
        return xhat * gamma_b + beta.reshape(param_shape)

    def backward(ctx, gy):
        xhat, inv, gamma_b = ctx.saved
        need_x, need_gamma, need_beta = ctx.needs_input_grad
        other = tuple(i for i in range(gy.ndim) if i not in ctx.axes)
        gx = _normalize_backward(gy, xhat, inv, gamma_b, ctx.axes) if need_x else None
        gg = (gy * xhat).sum(axis=other).reshape(ctx.gamma_shape) if need_gamma else None
        gb = gy.sum(axis=other).reshape(ctx.gamma_shape) if need_beta else None
        return gx, gg, gb


def _param_or_constant(p, shape, value, dtype, op, name):
    """The given scale/offset, or a constant one (no gradient) when it is None."""
    if p is None:
        return np.full(shape, value, dtype=dtype)
    if int(np.prod(np.shape(data_of(p)))) != int(np.prod(shape)):
        raise ValueError(f"{op}: {name} must have {int(np.prod(shape))} elements "
                         f"(shape {tuple(shape)}). Received: {name}.shape={np.shape(data_of(p))}")
    return p


def _float_dtype(x):
    dt = data_of(x).dtype
    if dt.kind != "f":
        from ..config import float_dtype
        return float_dtype()
    return dt


def batch_norm(x, gamma, beta, axis=-1, epsilon=1e-3, training=True, moving_mean=None,
               moving_var=None):
    """Batch normalization; returns (y, mean, var).

    Args:
        x: (N, ..., C) (features on ``axis``).
        gamma, beta: scale and offset of the feature axis shape (C,), or None for 1 and 0.
        axis: the feature axis (int or tuple); statistics are over every other axis.
        epsilon: added to the variance.
        training: True normalizes with the batch's mean and biased variance (one
            fused op); False with ``moving_mean`` and ``moving_var``.

    Returns:
        (y, mean, var): in training the batch statistics (constants, no gradient:
        a layer updates its moving statistics from them, e.g.
        moving_mean = momentum * moving_mean + (1 - momentum) * mean); otherwise
        the moving statistics that were used.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> y, m, v = ops.batch_norm(np.array([[1.], [3.]]), None, None, epsilon=0.0)
        >>> y.numpy()[:, 0], m.numpy(), v.numpy()
        (array([-1.,  1.]), array([2.]), array([1.]))
    """
    xd = data_of(x)
    keep = normalize_axis(axis, xd.ndim)
    shape = tuple(xd.shape[a] for a in keep)
    dt = _float_dtype(x)
    gamma = _param_or_constant(gamma, shape, 1, dt, "batch_norm", "gamma")
    beta = _param_or_constant(beta, shape, 0, dt, "batch_norm", "beta")
    if not training:
        if moving_mean is None or moving_var is None:
            raise ValueError("batch_norm: training=False needs moving_mean and moving_var")
        y = batch_normalization(x, moving_mean, moving_var, axis=keep, offset=beta, scale=gamma,
                                epsilon=epsilon)
        return y, moving_mean, moving_var
    axes = tuple(i for i in range(xd.ndim) if i not in keep)
    param_shape = tuple(n if i in keep else 1 for i, n in enumerate(xd.shape))
    stats = {}
    y = BatchNorm.apply(x, gamma, beta, axes=axes, param_shape=param_shape, epsilon=epsilon,
                        stats=stats)
    return y, Tensor._from_op(stats["mean"], None), Tensor._from_op(stats["var"], None)


def layer_norm(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Layer normalization of each sample over ``axis`` (an int or several axes).

    Args:
        x: any shape.
        gamma, beta: of the shape of x over ``axis`` (e.g. (D,) for axis=-1), or None.
        axis: the axes normalized together.
        epsilon: added to the variance (Keras default 1e-3).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.layer_norm(np.array([[1., 3.]]), None, None, epsilon=0.0).numpy()
        array([[-1.,  1.]])
    """
    xd = data_of(x)
    axes = normalize_axis(axis, xd.ndim)
    shape = tuple(xd.shape[a] for a in axes)
    dt = _float_dtype(x)
    gamma = _param_or_constant(gamma, shape, 1, dt, "layer_norm", "gamma")
    beta = _param_or_constant(beta, shape, 0, dt, "layer_norm", "beta")
    param_shape = tuple(n if i in axes else 1 for i, n in enumerate(xd.shape))
    return LayerNorm.apply(x, gamma, beta, axes=axes, param_shape=param_shape, epsilon=epsilon)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """Normalize with given statistics (keras.ops.batch_normalization), a composite of ops.

    y = (x - mean) * scale / sqrt(variance + epsilon) + offset, with mean, variance,
    offset and scale of the shape of x along ``axis`` (C,), broadcast along it.
    Gradients reach every tensor argument through the elementwise ops.
    """
    from .elementwise import add, divide, multiply, sqrt, subtract
    from .shape import reshape
    xd = data_of(x)
    keep = normalize_axis(axis, xd.ndim)
    param_shape = tuple(n if i in keep else 1 for i, n in enumerate(xd.shape))
    dt = _float_dtype(x)

    def bcast(p):
        p = p if isinstance(p, Tensor) else Tensor(np.asarray(p, dtype=dt))
        return reshape(p, param_shape)

    inv = divide(1.0, sqrt(add(bcast(variance), epsilon)))
    if scale is not None:
        inv = multiply(inv, bcast(scale))
    y = multiply(subtract(x, bcast(mean)), inv)
    return add(y, bcast(offset)) if offset is not None else y
