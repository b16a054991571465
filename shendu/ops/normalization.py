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

from .. import kernels
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..kernels import kernel, tuning, workspace
from ..kernels.threads import split_parallelism
from . import _chunking
from ._util import data_of, normalize_axis

# Channels-last batch norm (statistics over every axis but the last) goes through the
# kernels below in row blocks of about this many bytes of x, shared by the cores where
# the step allows (ops/_chunking.py); the per-block sums are added in block order.
# (kernels/tuning.py: BN_BLOCK_BYTES, CHUNKS_MULTIPLE)


# --- the channels-last kernels: x as an (M, C) matrix, statistics per column -----------
# Sums are taken in float64 around a per-channel shift s (the first row), so that
# var = mean((x - s)^2) - mean(x - s)^2 loses nothing to cancellation when |mean| >> std.


@kernels.reference("bn_moments")
def bn_moments(x, shift):
    """(sum_m (x - s), sum_m (x - s)^2) per column, in float64 (s = ``shift``, float64)."""
    d = x.astype(np.float64) - shift
    return d.sum(axis=0), (d * d).sum(axis=0)


@kernels.reference("bn_grad_moments")
def bn_grad_moments(gy, x, mean):
    """(sum_m gy, sum_m gy (x - mean)) per column, in float64 (mean float64)."""
    g = gy.astype(np.float64)
    return g.sum(axis=0), (g * (x.astype(np.float64) - mean)).sum(axis=0)


@kernels.reference("bn_affine")
def bn_affine(x, center, a, b, gy=None, g_scale=None, out=None):
    """out = (x - center) * a + b, plus gy * g_scale when ``gy`` is given, per column
    (center, a, b, g_scale of x's dtype, shape (C,)): the forward y = xhat gamma + beta
    and the input gradient gx = A gy + B (x - mean) + C' are both this one pass."""
    y = (x - center) * a + b
    if gy is not None:
        y += gy * g_scale
    if out is None:
        return y
    out[...] = y
    return out


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
        if axes == tuple(range(x.ndim - 1)) and x.dtype.kind == "f" and x.size \
                and gamma.dtype == beta.dtype == x.dtype:
            return _channels_last_forward(ctx, x, gamma, beta, epsilon, stats)
        ctx.rows = None
        xhat, inv, mean, var = _normalize_fused(x, axes, epsilon)
        gamma_b = gamma.reshape(param_shape)
        ctx.save_for_backward(xhat, inv, gamma_b)
        ctx.axes, ctx.gamma_shape = axes, gamma.shape
        stats["mean"], stats["var"] = mean.reshape(gamma.shape), var.reshape(gamma.shape)
        return xhat * gamma_b + beta.reshape(param_shape)

    def backward(ctx, gy):
        if ctx.rows is not None:
            return _channels_last_backward(ctx, gy)
        xhat, inv, gamma_b = ctx.saved
        need_x, need_gamma, need_beta = ctx.needs_input_grad
        axes = ctx.axes
        gx = _normalize_backward(gy, xhat, inv, gamma_b, axes) if need_x else None
        gg = (gy * xhat).sum(axis=axes).reshape(ctx.gamma_shape) if need_gamma else None
        gb = gy.sum(axis=axes).reshape(ctx.gamma_shape) if need_beta else None
        return gx, gg, gb


def _row_blocks(x2):
    if x2.nbytes <= tuning.BN_BLOCK_BYTES:  # (a Dense layer's batch: one block, no thread to wake)
        return [(0, len(x2))]
    return _chunking.chunks(len(x2), x2.shape[1] * x2.itemsize, tuning.BN_BLOCK_BYTES,
                            tuning.CHUNKS_MULTIPLE)


def _block_sums(fn, blocks):
    """fn(i, e) -> (a, b) for every row block, shared by the cores; the sums in order."""
    parts = [None] * len(blocks)

    def block(j):
        parts[j] = fn(*blocks[j])

    _chunking.each_chunk(block, len(blocks), split_parallelism())
    return (_chunking.in_order_sum([p[0] for p in parts]),
            _chunking.in_order_sum([p[1] for p in parts]))


def _each_block(fn, blocks):
    _chunking.each_chunk(lambda j: fn(*blocks[j]), len(blocks), split_parallelism())


def _channels_last_forward(ctx, x, gamma, beta, epsilon, stats):
    """BatchNorm.forward for statistics over every axis but the last, x as (M, C): one
    pass for the sums (kernel ``bn_moments``), one for y (``bn_affine``). Saves x, the
    mean and 1/sigma instead of xhat: backward recomputes xhat as it goes."""
    x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    M, dt = len(x2), x.dtype
    ctx.rows = blocks = _row_blocks(x2)
    shift = x2[0].astype(np.float64)
    s1, s2 = _block_sums(lambda i, e: kernel("bn_moments")(x2[i:e], shift), blocks)
    d = s1 / M
    mean, var = shift + d, np.maximum(s2 / M - d * d, 0.0)
    inv = 1.0 / np.sqrt(var + epsilon)
    y2 = workspace.empty(x2.shape, dt)
    a, center = (gamma * inv).astype(dt), mean.astype(dt)
    _each_block(lambda i, e: kernel("bn_affine")(x2[i:e], center, a, beta, out=y2[i:e]), blocks)
    ctx.save_for_backward(x2, mean, inv, gamma)
    stats["mean"], stats["var"] = mean.astype(dt), var.astype(dt)
    return y2.reshape(x.shape)


def _channels_last_backward(ctx, gy):
    """BatchNorm.backward for the channels-last forward: one pass for sum(gy) and
    sum(gy (x - mean)) (kernel ``bn_grad_moments``), one for gx (``bn_affine``):

        ggamma = sum(gy xhat) = inv * sum(gy (x - mean)),   gbeta = sum(gy),
        gx = gamma inv gy - (gamma inv^2 ggamma / M)(x - mean) - gamma inv gbeta / M.
    """
    x2, mean, inv, gamma = ctx.saved
    need_x, need_gamma, need_beta = ctx.needs_input_grad
    M, C, dt, blocks = len(x2), x2.shape[1], x2.dtype, ctx.rows
    g2 = np.ascontiguousarray(gy, dt).reshape(-1, C)
    sg, sgd = _block_sums(lambda i, e: kernel("bn_grad_moments")(g2[i:e], x2[i:e], mean),
                          blocks)
    gg = sgd * inv
    gx = None
    if need_x:
        k = gamma.astype(np.float64) * inv
        gx2 = workspace.empty(g2.shape, dt)
        A, B, Cc = k.astype(dt), (-k * inv * gg / M).astype(dt), (-k * sg / M).astype(dt)
        center = mean.astype(dt)
        _each_block(lambda i, e: kernel("bn_affine")(x2[i:e], center, B, Cc, g2[i:e], A,
                                                     out=gx2[i:e]), blocks)
        gx = gx2.reshape(gy.shape)
    return (gx, gg.astype(dt) if need_gamma else None, sg.astype(dt) if need_beta else None)


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
