"""Keras losses, as functions returning per-sample losses and as ``Loss`` classes.

Functions take ``(y_true, y_pred)`` (Tensors or arrays) and return a Tensor with one
loss per sample (the last axis reduced); classes wrap them with ``sample_weight``
and a reduction. Everything is built from ``shendu.ops``, so gradients flow to
y_pred (and to a float y_true tensor that requires them).
"""
import math
import os
import sys
import warnings

import numpy as np

from .. import config, ops
from ..autograd.tensor import Tensor
from ..ops._util import data_of
from .loss import (LossFunctionWrapper, float_tensor, reduce_weighted_values,
                   squeeze_or_expand_to_same_rank)


def _prepare(y_true, y_pred):
    """y_pred as a float Tensor, y_true in its dtype, ranks reconciled (as Keras)."""
    y_pred = float_tensor(y_pred)
    y_true = float_tensor(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


# ---- regression ------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis.

    Example:
        >>> import numpy as np
        >>> mean_squared_error(np.array([[0., 1.]]), np.array([[1., 1.]])).numpy()
        array([0.5])
    """
    return ops.mean_squared_error(*_prepare(y_true, y_pred))


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    return ops.mean_absolute_error(*_prepare(y_true, y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|) over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), config.epsilon()))
    return 100.0 * ops.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = config.epsilon()
    d = ops.log(ops.maximum(y_pred, eps) + 1.0) - ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.mean(ops.square(d), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of e^2/2 where |e| <= delta, delta |e| - delta^2/2 beyond."""
    return ops.huber(*_prepare(y_true, y_pred), delta=delta)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) over the last axis.

    log cosh x = x + softplus(-2x) - log 2, which never overflows (cosh does for |x| > 710).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def _l2_normalize(x, axis):
    # max(||x||, eps) as Keras, written as sqrt(max(||x||^2, eps^2)) so that a zero
    # vector gets a zero gradient instead of 0 / 0 from the derivative of sqrt at 0.
    eps = config.epsilon()
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), eps * eps))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along ``axis``: -1 for parallel
    vectors, so that minimising it aligns them."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return -ops.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


# ---- probabilistic ---------------------------------------------------------------------

def check_binary_targets(y_true, where):
    """Binary cross-entropy targets are probabilities of the positive class: in [0, 1].
    A label such as 2 or -1 would give a loss without meaning (and one that can go below
    zero), so it fails, naming ``where`` and the range received."""
    y = data_of(y_true)
    if y.size == 0 or y.dtype.kind not in "biuf":
        return
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 1:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{where}: the targets must be in [0, 1] (the probability of the "
                         f"positive class); received a value of {bad} (the targets range over "
                         f"[{lo}, {hi}])")


def _smooth_binary(y_true, label_smoothing):
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else y_true


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy averaged over ``axis``.

    With ``from_logits`` y_pred are logits (the stable fused op); otherwise probabilities,
    clipped to [eps, 1 - eps] as Keras. ``label_smoothing`` moves targets towards 0.5:
    t -> t (1 - ls) + ls / 2.
    """
    check_binary_targets(y_true, "binary_crossentropy")
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        return ops.sigmoid_binary_cross_entropy(y_pred, y_true, axis=axis)
    return ops.binary_cross_entropy(y_pred, y_true, epsilon=config.epsilon(), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Focal loss (Lin et al. 2017): bce scaled by (1 - p_t)^gamma, averaged over ``axis``.

    p_t = t p + (1 - t)(1 - p); with class balancing each term is also weighted by
    t alpha + (1 - t)(1 - alpha).
    """
    check_binary_targets(y_true, "binary_focal_crossentropy")
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        p = ops.sigmoid(y_pred)
        bce = ops.softplus(y_pred) - y_pred * y_true  # -log-likelihood without a saturating log
    else:
        eps = config.epsilon()
        p = y_pred
        c = ops.clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * ops.log(c) + (1.0 - y_true) * ops.log(1.0 - c))
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    focal = ops.power(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


_warned_integer_labels = False


def _as_class_indices(y_true, pred_shape, axis):
    """Integer y_true shaped like y_pred without its class axis (or with a trailing 1 in
    its place): those are class indices. Returns them as an array, else None."""
    labels = data_of(y_true)
    if labels.dtype.kind not in "iu" or not pred_shape:
        return None
    ax = axis % len(pred_shape)
    without = pred_shape[:ax] + pred_shape[ax + 1:]
    if labels.shape == without:
        return labels
    if pred_shape[ax] != 1 and labels.shape == pred_shape[:ax] + (1,) + pred_shape[ax + 1:]:
        return labels.reshape(without)
    return None


def _warn_integer_labels(labels_shape, pred_shape):
    global _warned_integer_labels
    if not _warned_integer_labels:
        _warned_integer_labels = True
        warnings.warn(
            f"categorical_crossentropy received integer labels of shape {labels_shape} for "
            f"predictions of shape {pred_shape}; they are treated as class indices, as "
            "sparse_categorical_crossentropy would. Use sparse_categorical_crossentropy for "
            "integer labels, or one-hot encode them (this warning is shown once).",
            UserWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    """The stacklevel, for a warning raised by our caller, of the first frame outside
    shendu: the warning then points at the user's line, however deep the call came in."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(root + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _sparse_loss(labels, y_pred, from_logits, axis):
    if from_logits:
        return ops.softmax_cross_entropy(y_pred, labels, axis=axis)
    return ops.categorical_cross_entropy(y_pred, labels, axis=axis, epsilon=config.epsilon())


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot / probability targets and predictions along ``axis``.

    With ``from_logits`` y_pred are logits (fused, stable softmax cross-entropy); otherwise
    probabilities, normalised to sum 1 and clipped to [eps, 1 - eps] as Keras.
    ``label_smoothing``: t -> t (1 - ls) + ls / num_classes.

    Integer y_true of y_pred's shape without the class axis (or with a trailing 1) are
    taken as class indices, as ``sparse_categorical_crossentropy`` does, with a one-time
    UserWarning.
    """
    y_pred = float_tensor(y_pred)
    labels = _as_class_indices(y_true, y_pred.shape, axis)
    if labels is not None:
        _warn_integer_labels(data_of(y_true).shape, y_pred.shape)
        if not label_smoothing:
            return _sparse_loss(labels, y_pred, from_logits, axis)
        y_true = _one_hot(labels, y_pred.shape[axis], axis, y_pred.dtype)
    y_true = float_tensor(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return ops.softmax_cross_entropy(y_pred, y_true, axis=axis)
    return ops.categorical_cross_entropy(y_pred, y_true, axis=axis, epsilon=config.epsilon())


def _one_hot(labels, classes, axis, dtype):
    onehot = np.moveaxis(np.eye(classes, dtype=dtype)[labels], -1, axis)
    return Tensor._from_op(onehot, None)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Cross-entropy between integer class indices and predictions along ``axis``.

    y_true has y_pred's shape without the class axis (a trailing 1 is dropped); float
    labels must hold whole numbers. Labels equal to ``ignore_class`` get a zero loss.
    """
    y_pred = float_tensor(y_pred)
    labels = data_of(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.dtype.kind not in "iu":
        as_int = labels.astype(np.int64)
        if not np.array_equal(as_int, labels):
            raise ValueError("sparse_categorical_crossentropy expects integer class indices; "
                             f"received y_true of dtype {labels.dtype} with non-integer values")
        labels = as_int
    if ignore_class is None:
        return _sparse_loss(labels, y_pred, from_logits, axis)
    keep = labels != ignore_class
    losses = _sparse_loss(np.where(keep, labels, 0), y_pred, from_logits, axis)
    return losses * keep.astype(y_pred.dtype)


def kl_divergence(y_true, y_pred):
    """sum(t log(t / p)) over the last axis, with t and p clipped to [eps, 1]."""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(p - t log(p + eps)) over the last axis: the Poisson negative log-likelihood
    of counts t under rate p, without its constant log(t!)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


# ---- hinge -----------------------------------------------------------------------------

def _to_signed_labels(y_true):
    # Keras accepts {0, 1} labels for the hinge losses and maps them to {-1, 1}.
    d = y_true.data
    if np.all((d == 0) | (d == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - t p, 0)) over the last axis; t in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(ops.maximum(1.0 - _to_signed_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - t p, 0)^2) over the last axis; t in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(ops.square(ops.maximum(1.0 - _to_signed_labels(y_true) * y_pred, 0.0)),
                    axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(neg - pos + 1, 0) with pos = sum(t p), neg = max((1 - t) p) over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


# ---- classes ---------------------------------------------------------------------------

_DEFAULT = "sum_over_batch_size"


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors per sample, reduced over the batch."""

    def __init__(self, reduction=_DEFAULT, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors per sample, reduced over the batch."""

    def __init__(self, reduction=_DEFAULT, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 * mean |(y_true - y_pred) / y_true| per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean (log(1 + y_pred) - log(1 + y_true))^2 per sample."""

    def __init__(self, reduction=_DEFAULT, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``."""

    def __init__(self, axis=-1, reduction=_DEFAULT, name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis


class Huber(LossFunctionWrapper):
    """Huber loss: squared within ``delta``, absolute beyond."""

    def __init__(self, delta=1.0, reduction=_DEFAULT, name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """mean log(cosh(y_pred - y_true)) per sample."""

    def __init__(self, reduction=_DEFAULT, name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """mean max(1 - y_true y_pred, 0) per sample."""

    def __init__(self, reduction=_DEFAULT, name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean max(1 - y_true y_pred, 0)^2 per sample."""

    def __init__(self, reduction=_DEFAULT, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(neg - pos + 1, 0) per sample."""

    def __init__(self, reduction=_DEFAULT, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence sum t log(t / p) per sample."""

    def __init__(self, reduction=_DEFAULT, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """mean(y_pred - y_true log y_pred) per sample."""

    def __init__(self, reduction=_DEFAULT, name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy, from probabilities or (``from_logits``) logits."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal cross-entropy (down-weights easy examples by (1 - p_t)^gamma)."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy, from probabilities or (``from_logits``) logits.

    Integer labels are taken as class indices (with a one-time warning); see
    :func:`categorical_crossentropy`.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_DEFAULT,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy against integer class indices.

    With ``ignore_class``, entries of that label get no loss, and the
    'sum_over_batch_size' reduction averages over the remaining entries only (as Keras).
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction=_DEFAULT,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits, self.ignore_class = from_logits, ignore_class

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.ignore_class is None:
            return super().__call__(y_true, y_pred, sample_weight)
        y_pred = float_tensor(y_pred, self.dtype)
        losses = self.call(y_true, y_pred)
        keep = (data_of(y_true).reshape(losses.shape) != self.ignore_class).astype(losses.dtype)
        if self.reduction in ("sum_over_batch_size", "mean"):
            # mean over the kept entries: scale weights so that dividing by the count of
            # all entries divides by the count of kept ones instead
            keep *= keep.size / max(keep.sum(), 1.0)
        if sample_weight is not None:
            sw = np.asarray(data_of(sample_weight), dtype=losses.dtype)
            if sw.ndim == keep.ndim + 1 and sw.shape[-1] == 1:
                sw = sw.reshape(sw.shape[:-1])
            keep = keep * sw.reshape(sw.shape + (1,) * (keep.ndim - sw.ndim))
        return reduce_weighted_values(losses, keep, self.reduction)
