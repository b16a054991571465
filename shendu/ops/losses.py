"""Fused, numerically stable loss ops that return one loss per sample.

Each op reduces over the class (or last) axis only, so the caller can weight
samples and choose the reduction. Writing a loss as one Function instead of a
chain of elementwise ops keeps it stable (logits never pass through exp or a
saturating sigmoid on the way to a log) and gives the short gradients that the
chain would only reach after cancellation, e.g. softmax(z) - t for softmax
cross-entropy.

Shapes: ``pred`` and ``target`` have the same shape, except that integer class
indices (``softmax_cross_entropy``, ``categorical_cross_entropy``) have the shape
of the prediction without its class axis. The output has the prediction's shape
without the reduced axis (a 0-d prediction is not reduced).
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of, normalize_axis
from .activation import _sigmoid
from .elementwise import cast


def _class_axis(op, ndim, axis):
    if ndim == 0:
        raise ValueError(f"{op}: the prediction must have a class axis; got a 0-d tensor")
    ax, = normalize_axis(axis, ndim)
    return ax


def _mean_axis(ndim, axis):
    """The axes a per-sample mean reduces: none for a 0-d input."""
    return () if ndim == 0 else normalize_axis(axis, ndim)


def _check_same_shape(op, pred, target, pred_name="prediction", target_name="target"):
    if pred.shape != target.shape:
        raise ValueError(f"{op}: {target_name} and {pred_name} must have the same shape; "
                         f"received {target_name}.shape={target.shape}, "
                         f"{pred_name}.shape={pred.shape}")


def _check_labels(op, labels, pred_shape, ax):
    classes = pred_shape[ax]
    expected = pred_shape[:ax] + pred_shape[ax + 1:]
    if labels.shape != expected:
        raise ValueError(f"{op}: integer labels must have the prediction's shape without the "
                         f"class axis {ax}, {expected}; received labels.shape={labels.shape}, "
                         f"prediction.shape={pred_shape}")
    if labels.size:
        bad = (labels < 0) | (labels >= classes)
        if bad.any():
            raise ValueError(f"{op}: label {labels[bad].flat[0]} is outside the valid range "
                             f"[0, {classes}) for a prediction with {classes} classes")


def _one_hot_like(labels, like, ax):
    t = np.zeros_like(like)
    np.put_along_axis(t, np.expand_dims(labels, ax), 1, axis=ax)
    return t


def _mean_and_spread(values, axes):
    """mean over ``axes``; backward spreads gy back: g_i = gy / n (see ``_spread``)."""
    if not axes:
        return values, 1
    return values.mean(axis=axes), values.shape[axes[0]]


def _spread(gy, axes, n):
    g = np.expand_dims(gy, axes) if axes else gy
    return g / gy.dtype.type(n)


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of softmax(z) against target t along ``axis``.

    loss = -sum_i t_i log softmax(z)_i = sum(t) logsumexp(z) - sum_i t_i z_i
    gz   = gy * (softmax(z) sum(t) - t)      (= gy * (softmax(z) - t) for a distribution t)
    gt   = -gy * log softmax(z)
    With integer labels k instead of t, t is the one-hot of k (and gets no gradient).
    log softmax is formed as (z - max z) - log sum e^(z - max z): no exp overflows and the
    log never sees 0, so logits of +-1000 give finite losses. Saves log softmax(z) and t.
    """

    def forward(ctx, z, t, axis):
        ax = _class_axis("softmax_cross_entropy", z.ndim, axis)
        ctx.sparse = t.dtype.kind in "iu"
        if ctx.sparse:
            _check_labels("softmax_cross_entropy", t, z.shape, ax)
        else:
            _check_same_shape("softmax_cross_entropy", z, t, "logits")
        shifted = z - z.max(axis=ax, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=ax, keepdims=True))
        ctx.save_for_backward(logp, t)
        ctx.ax = ax
        if ctx.sparse:
            return -np.take_along_axis(logp, np.expand_dims(t, ax), axis=ax).squeeze(ax)
        return -(t * logp).sum(axis=ax)

    def backward(ctx, gy):
        logp, t = ctx.saved
        g = np.expand_dims(gy, ctx.ax)
        p = np.exp(logp)
        if ctx.sparse:
            # softmax minus the one-hot, written in place at the label positions only
            k = np.expand_dims(t, ctx.ax)
            np.put_along_axis(p, k, np.take_along_axis(p, k, axis=ctx.ax) - 1, axis=ctx.ax)
            return g * p, None
        need_z, need_t = ctx.needs_input_grad
        gz = g * (p * t.sum(axis=ctx.ax, keepdims=True) - t) if need_z else None
        return gz, (-g * logp if need_t else None)


class SigmoidBinaryCrossEntropy(Function):
    """Binary cross-entropy of sigmoid(z) against t, averaged over ``axis``.

    l    = -t log s(z) - (1 - t) log(1 - s(z)) = max(z, 0) - z t + log(1 + e^-|z|)
    loss = mean_axis l
    gz   = gy / n * (s(z) - t),    gt = -gy / n * z        (n = size of ``axis``)
    The right-hand form never exponentiates a positive number. Saves z and t.
    """

    def forward(ctx, z, t, axis):
        _check_same_shape("sigmoid_binary_cross_entropy", z, t, "logits")
        ctx.save_for_backward(z, t)
        ctx.axes = _mean_axis(z.ndim, axis)
        l = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        y, ctx.n = _mean_and_spread(l, ctx.axes)
        return y

    def backward(ctx, gy):
        z, t = ctx.saved
        g = _spread(gy, ctx.axes, ctx.n)
        need_z, need_t = ctx.needs_input_grad
        return (g * (_sigmoid(z) - t) if need_z else None), (-g * z if need_t else None)


class BinaryCrossEntropy(Function):
    """Binary cross-entropy of probabilities p against t, averaged over ``axis`` (Keras).

    c    = clip(p, eps, 1 - eps)
    loss = mean_axis -(t log c + (1 - t) log(1 - c))
    gp   = gy / n * (-t / c + (1 - t) / (1 - c)) where eps <= p <= 1 - eps, else 0
    gt   = -gy / n * (log c - log(1 - c))
    The clip keeps the log finite for saturated probabilities. Saves c, t and the clip mask.
    """

    def forward(ctx, p, t, axis, epsilon):
        _check_same_shape("binary_cross_entropy", p, t, "probabilities")
        eps = p.dtype.type(epsilon)
        c = np.clip(p, eps, 1 - eps).astype(p.dtype, copy=False)
        # NOTE: the gradient passes at the clip boundary itself, as in the Clip op.
        ctx.save_for_backward(c, t, (p >= eps) & (p <= 1 - eps))
        ctx.axes = _mean_axis(p.ndim, axis)
        l = -(t * np.log(c) + (1 - t) * np.log1p(-c))
        y, ctx.n = _mean_and_spread(l, ctx.axes)
        return y

    def backward(ctx, gy):
        c, t, inside = ctx.saved
        g = _spread(gy, ctx.axes, ctx.n)
        need_p, need_t = ctx.needs_input_grad
        gp = g * inside * ((1 - t) / (1 - c) - t / c) if need_p else None
        gt = -g * (np.log(c) - np.log1p(-c)) if need_t else None
        return gp, gt


class CategoricalCrossEntropy(Function):
    """Cross-entropy of probabilities p against t along ``axis``, as Keras computes it.

    q    = p / sum(p),   c = clip(q, eps, 1 - eps)
    loss = -sum_i t_i log c_i
    gq_i = -gy t_i / c_i where eps <= q_i <= 1 - eps, else 0
    gp_j = (gq_j - sum_i gq_i q_i) / sum(p)      (the Jacobian of the normalisation)
    gt   = -gy log c
    Integer labels k stand for the one-hot of k (no gradient). Saves q, c, t, sum(p).
    """

    def forward(ctx, p, t, axis, epsilon):
        ax = _class_axis("categorical_cross_entropy", p.ndim, axis)
        ctx.sparse = t.dtype.kind in "iu"
        if ctx.sparse:
            _check_labels("categorical_cross_entropy", t, p.shape, ax)
        else:
            _check_same_shape("categorical_cross_entropy", p, t, "probabilities")
        s = p.sum(axis=ax, keepdims=True)
        q = p / s
        eps = p.dtype.type(epsilon)
        c = np.clip(q, eps, 1 - eps).astype(p.dtype, copy=False)
        ctx.save_for_backward(q, c, t, s)
        ctx.ax = ax
        if ctx.sparse:
            return -np.log(np.take_along_axis(c, np.expand_dims(t, ax), axis=ax)).squeeze(ax)
        return -(t * np.log(c)).sum(axis=ax)

    def backward(ctx, gy):
        q, c, t, s = ctx.saved
        g = np.expand_dims(gy, ctx.ax)
        tt = _one_hot_like(t, q, ctx.ax) if ctx.sparse else t
        need_p, need_t = ctx.needs_input_grad
        gp = None
        if need_p:
            # NOTE: the clip passes the gradient where it changed nothing, its boundary included.
            inside = (c == q)
            gq = -g * tt * inside / c
            gp = (gq - (gq * q).sum(axis=ctx.ax, keepdims=True)) / s
        gt = -g * np.log(c) if (need_t and not ctx.sparse) else None
        return gp, gt


class MeanSquaredError(Function):
    """loss = mean_last (p - t)^2;  gp = gy * 2 (p - t) / n,  gt = -gp.  Saves p - t."""

    def forward(ctx, t, p):
        _check_same_shape("mean_squared_error", p, t, "y_pred", "y_true")
        d = p - t
        ctx.save_for_backward(d)
        ctx.axes = _mean_axis(p.ndim, -1)
        y, ctx.n = _mean_and_spread(d * d, ctx.axes)
        return y

    def backward(ctx, gy):
        d, = ctx.saved
        gp = _spread(gy, ctx.axes, ctx.n) * 2 * d
        return -gp, gp


class MeanAbsoluteError(Function):
    """loss = mean_last |p - t|;  gp = gy * sign(p - t) / n,  gt = -gp.  Saves p - t."""

    def forward(ctx, t, p):
        _check_same_shape("mean_absolute_error", p, t, "y_pred", "y_true")
        d = p - t
        ctx.save_for_backward(d)
        ctx.axes = _mean_axis(p.ndim, -1)
        y, ctx.n = _mean_and_spread(np.abs(d), ctx.axes)
        return y

    def backward(ctx, gy):
        d, = ctx.saved
        # NOTE: subgradient 0 where p == t (sign(0) = 0), as PyTorch's l1_loss.
        gp = _spread(gy, ctx.axes, ctx.n) * np.sign(d)
        return -gp, gp


class Huber(Function):
    """Huber loss with threshold delta on e = p - t, averaged over the last axis.

    l  = e^2 / 2 if |e| <= delta else delta |e| - delta^2 / 2
    gp = gy / n * clip(e, -delta, delta),   gt = -gp.   Saves e.
    """

    def forward(ctx, t, p, delta):
        _check_same_shape("huber", p, t, "y_pred", "y_true")
        e = p - t
        a = np.abs(e)
        d = p.dtype.type(delta)
        ctx.save_for_backward(e)
        ctx.delta = d
        ctx.axes = _mean_axis(p.ndim, -1)
        l = np.where(a <= d, e * e / 2, d * a - d * d / 2)
        y, ctx.n = _mean_and_spread(l, ctx.axes)
        return y

    def backward(ctx, gy):
        e, = ctx.saved
        gp = _spread(gy, ctx.axes, ctx.n) * np.clip(e, -ctx.delta, ctx.delta)
        return -gp, gp


def _float_pred(x):
    x = as_tensor(x)
    if x.dtype.kind != "f":
        from ..config import float_dtype
        x = cast(x, float_dtype())
    return x


def _float_target(t, dtype):
    """A float target in the prediction's dtype (differentiable if it is a float tensor)."""
    if isinstance(t, Tensor):
        return t if t.dtype == dtype else cast(t, dtype)
    return Tensor._from_op(np.asarray(t, dtype=dtype), None)


def _class_target(t, dtype):
    """Integer labels pass through unchanged; anything else becomes a float target."""
    a = data_of(t)
    if a.dtype.kind in "iu":
        return t if isinstance(t, Tensor) else Tensor._from_op(a, None)
    return _float_target(t, dtype)


def softmax_cross_entropy(logits, target, axis=-1):
    """Per-sample cross-entropy of softmax(logits) against ``target``.

    Args:
        logits: float tensor, classes along ``axis``.
        target: integer class indices (the shape of ``logits`` without ``axis``) or
            probabilities / one-hot vectors (the shape of ``logits``).
        axis: the class axis.

    Returns:
        The loss, with the shape of ``logits`` without ``axis``.

    Example:
        >>> import numpy as np, shendu
        >>> z = shendu.tensor(np.array([[0.0, 0.0]]))
        >>> float(softmax_cross_entropy(z, np.array([1])).data[0])  # ln 2
        0.6931471805599453
    """
    z = _float_pred(logits)
    return SoftmaxCrossEntropy.apply(z, _class_target(target, z.dtype), axis=axis)


def sigmoid_binary_cross_entropy(logits, target, axis=-1):
    """Per-sample binary cross-entropy of sigmoid(logits) against ``target`` (same shape),
    averaged over ``axis`` as Keras's ``binary_crossentropy(from_logits=True)``."""
    z = _float_pred(logits)
    return SigmoidBinaryCrossEntropy.apply(z, _float_target(target, z.dtype), axis=axis)


def binary_cross_entropy(probs, target, epsilon=1e-7, axis=-1):
    """Per-sample binary cross-entropy of probabilities (clipped to [eps, 1 - eps], as
    Keras) against ``target`` of the same shape, averaged over ``axis``."""
    p = _float_pred(probs)
    return BinaryCrossEntropy.apply(p, _float_target(target, p.dtype), axis=axis,
                                    epsilon=float(epsilon))


def categorical_cross_entropy(probs, target, axis=-1, epsilon=1e-7):
    """Per-sample cross-entropy of probabilities against ``target`` (one-hot / probabilities
    of the same shape, or integer labels), as Keras: probs are normalised to sum 1 along
    ``axis`` and clipped to [eps, 1 - eps] before the log."""
    p = _float_pred(probs)
    return CategoricalCrossEntropy.apply(p, _class_target(target, p.dtype), axis=axis,
                                         epsilon=float(epsilon))


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)^2) over the last axis."""
    p = _float_pred(y_pred)
    return MeanSquaredError.apply(_float_target(y_true, p.dtype), p)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|) over the last axis."""
    p = _float_pred(y_pred)
    return MeanAbsoluteError.apply(_float_target(y_true, p.dtype), p)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss (quadratic within ``delta``, linear beyond) averaged over the last axis."""
    p = _float_pred(y_pred)
    return Huber.apply(_float_target(y_true, p.dtype), p, delta=float(delta))
