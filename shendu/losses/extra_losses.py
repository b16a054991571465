"""Keras 3's newer losses: categorical focal and generalized cross-entropy, Dice, Tversky,
Circle and CTC, each as a function and a ``Loss`` class, built from ``shendu.ops`` so that
gradients reach y_pred."""
import warnings

import numpy as np

from .. import config, ops
from ..ops._util import data_of
from .loss import LossFunctionWrapper, float_tensor, reduce_weighted_values

_DEFAULT = "sum_over_batch_size"


def _pred_and_true(y_true, y_pred):
    y_pred = float_tensor(y_pred)
    return float_tensor(y_true, y_pred.dtype), y_pred


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Focal loss over classes (Lin et al. 2017), Keras's form:

        p = y_pred / sum(y_pred)  (softmax(y_pred) with ``from_logits``), clipped to [eps, 1-eps]
        loss = sum_c alpha (1 - p_c)^gamma (-y_c log p_c)

    Example:
        >>> import numpy as np
        >>> round(float(categorical_focal_crossentropy([[0., 1.]], [[0.5, 0.5]])[0]), 6)
        0.043322
    """
    if isinstance(axis, bool):
        raise ValueError(f"categorical_focal_crossentropy: `axis` must be an int. "
                         f"Received: axis={axis}")
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        warnings.warn("categorical_focal_crossentropy expects y_pred of shape (batch_size, "
                      f"num_classes) with num_classes > 1. Received: y_pred.shape={y_pred.shape}. "
                      "Consider 'binary_crossentropy' for 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    p = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    focal = ops.power(1.0 - p, float(gamma)) * alpha * (-y_true * ops.log(p))
    return ops.sum(focal, axis=axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy (Zhang & Sabuncu 2018) for integer labels:
    (1 - p_y^q) / q, p_y the predicted probability of the true class; q -> 0 is the
    cross-entropy, q = 1 the mean absolute error (robust to noisy labels)."""
    y_pred = float_tensor(y_pred)
    labels = np.asarray(data_of(y_true)).astype(np.int64)
    onehot = ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    p = ops.sum(y_pred * onehot, axis=-1)
    return (1.0 - ops.power(p, float(q))) / q


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(t p) / (sum t + sum p + eps) over ``axis`` (all axes by default)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    inter = ops.sum(y_true * y_pred, axis=axis)
    return 1.0 - 2.0 * inter / (ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
                                + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha FP + beta FN + eps), with TP = sum(t p), FP = sum(t (1 - p)),
    FN = sum((1 - t) p) as Keras names them; alpha = beta = 0.5 is the Dice loss."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    tp = ops.sum(y_true * y_pred, axis=axis)
    fp = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    fn = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - tp / (tp + fp * alpha + fn * beta + config.epsilon())


def _circle_masks(labels, ref_labels, remove_diagonal):
    positive = labels[:, None] == ref_labels[None, :]
    if remove_diagonal:
        positive = positive & ~np.eye(*positive.shape, dtype=bool)
    return positive, ~(labels[:, None] == ref_labels[None, :])


def _masked_logsumexp(x, mask):
    """log sum_{mask} e^x per row, and which rows have any entry; an empty row (whose value
    is -inf) gets 0 here, so that nothing inf or nan reaches the backward pass."""
    has = mask.any(axis=1)
    m = np.where(mask, x.data, -np.inf).max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = ops.sum(ops.exp(ops.where(mask, x - m, -np.inf)), axis=1)
    return ops.log(ops.where(has, s, 1.0)) + m[:, 0], has


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80,
           margin=0.4):
    """Circle loss (Sun et al. 2020) on L2-normalized embeddings ``y_pred`` with integer
    labels ``y_true``; each sample is compared with ``ref_embeddings`` (default: the batch).

        d = max(1 - y_pred ref^T, 0)                     (cosine distances)
        a_p = max(margin + d, 0) on positive pairs;  a_n = max(1 + margin - d, 0) on negatives
        loss = softplus(logsumexp_p(-gamma a_p (margin - d))
                        + logsumexp_n(gamma a_n (1 - margin - d)))

    A sample without positives (or negatives) gets -inf in its log-sum-exp, hence 0.
    """
    y_pred = float_tensor(y_pred)
    labels = np.asarray(data_of(y_true)).astype(np.int64).reshape(-1)
    ref = y_pred if ref_embeddings is None else float_tensor(ref_embeddings, y_pred.dtype)
    ref_labels = labels if ref_labels is None else \
        np.asarray(data_of(ref_labels)).astype(np.int64).reshape(-1)
    dist = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(ref)), 0.0)
    positive, negative = _circle_masks(labels, ref_labels, remove_diagonal)
    pos_w = ops.maximum((margin + dist) * positive.astype(dist.dtype), 0.0)
    neg_w = ops.maximum((1.0 + margin - dist) * negative.astype(dist.dtype), 0.0)
    pos = -gamma * pos_w * (margin - dist)
    neg = gamma * neg_w * (1.0 - margin - dist)
    p_loss, has_pos = _masked_logsumexp(pos, positive)
    n_loss, has_neg = _masked_logsumexp(neg, negative)
    return ops.where(has_pos & has_neg, ops.softplus(p_loss + n_loss), 0.0)


def ctc(y_true, y_pred):
    """Connectionist temporal classification loss per sample, for integer labels
    ``y_true`` (batch, max_label_length) padded with 0 (0 is also the blank) and logits
    ``y_pred`` (batch, time, classes) over the full time axis (ops.ctc_loss)."""
    if np.ndim(data_of(y_true)) != 2:
        raise ValueError(f"ctc: `y_true` must be integer labels of shape (batch_size, "
                         f"max_length). Received: y_true.shape={np.shape(data_of(y_true))}")
    if np.ndim(data_of(y_pred)) != 3:
        raise ValueError(f"ctc: `y_pred` must be logits of shape (batch_size, max_length, "
                         f"num_classes). Received: y_pred.shape={np.shape(data_of(y_pred))}")
    labels = np.asarray(data_of(y_true)).astype(np.int32)
    batch, time = np.shape(data_of(y_pred))[:2]
    return ops.ctc_loss(labels, y_pred, (labels != 0).sum(-1).astype(np.int32),
                        np.full((batch,), time, np.int32), mask_index=0)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """The class form of :func:`categorical_focal_crossentropy`."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=_DEFAULT, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha, self.gamma, self.from_logits = alpha, gamma, from_logits
        self.label_smoothing, self.axis = label_smoothing, axis


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """The class form of :func:`categorical_generalized_cross_entropy`; q in (0, 1)."""

    def __init__(self, q=0.5, reduction=_DEFAULT, name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: `q` must be in the interval "
                             f"(0, 1). Received: q={q}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name,
                         dtype=dtype, q=q)
        self.q = q


class Dice(LossFunctionWrapper):
    """The class form of :func:`dice`."""

    def __init__(self, reduction=_DEFAULT, name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """The class form of :func:`tversky`."""

    def __init__(self, alpha=0.5, beta=0.5, reduction=_DEFAULT, name="tversky", axis=None,
                 dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


class Circle(LossFunctionWrapper):
    """The class form of :func:`circle`. As in Keras, samples whose loss is 0 are masked
    out of the reduction: 'sum_over_batch_size' averages over the samples with a loss."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_DEFAULT,
                 name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = float_tensor(y_pred, self.dtype)
        losses = self.call(y_true, y_pred)
        valid = losses.data > 0
        if self.reduction in ("mean", "sum_over_batch_size"):
            mask_w = np.where(valid, valid.size / valid.sum() if valid.any() else 0.0, 0.0)
        else:
            mask_w = valid.astype(np.float64)
        weight = mask_w if sample_weight is None else \
            mask_w * np.asarray(data_of(sample_weight), np.float64).reshape(mask_w.shape)
        return reduce_weighted_values(losses, weight.astype(losses.dtype), self.reduction)


class CTC(LossFunctionWrapper):
    """The class form of :func:`ctc`."""

    def __init__(self, reduction=_DEFAULT, name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

