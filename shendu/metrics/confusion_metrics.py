"""Metrics over confusion counts at thresholds: Precision, Recall, AUC.

A prediction p counts as positive at threshold h when p > h. Counts are weighted by
``sample_weight`` (broadcast to the predictions' shape) and accumulated over batches.
"""
import numpy as np

from .metric import Metric, same_rank, to_array

_EPS = 1e-7


def _flat_inputs(y_true, y_pred, sample_weight, class_id=None, top_k=None):
    """Flattened boolean labels, float predictions and weights."""
    y_true, y_pred = same_rank(to_array(y_true), to_array(y_pred, np.float64))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; received "
                         f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")
    w = np.ones(y_pred.shape) if sample_weight is None else np.broadcast_to(
        _expand_to(to_array(sample_weight, np.float64), y_pred.ndim), y_pred.shape)
    if top_k is not None:
        # everything outside each row's top k becomes -inf: never above a threshold
        cut = np.argpartition(-y_pred, min(top_k, y_pred.shape[-1]) - 1, axis=-1)[..., top_k:]
        y_pred = y_pred.copy()
        np.put_along_axis(y_pred, cut, -np.inf, axis=-1)
    if class_id is not None:
        y_true, y_pred, w = y_true[..., class_id], y_pred[..., class_id], w[..., class_id]
    return y_true.reshape(-1).astype(bool), y_pred.reshape(-1), w.reshape(-1)


def _expand_to(w, ndim):
    if w.ndim == ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    return w.reshape(w.shape + (1,) * (ndim - w.ndim)) if w.ndim < ndim else w


def _divide_no_nan(a, b):
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


class _ThresholdCounts(Metric):
    """tp, fp, fn per threshold, shared by Precision and Recall."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else -np.inf
        self._scalar = thresholds is None or np.ndim(thresholds) == 0
        self.thresholds = np.atleast_1d(np.asarray(default if thresholds is None else thresholds,
                                                   np.float64))
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), name="true_positives")
        self.false_positives = self.add_variable((n,), name="false_positives")
        self.false_negatives = self.add_variable((n,), name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, w = _flat_inputs(y_true, y_pred, sample_weight, self.class_id, self.top_k)
        above = p[None, :] > self.thresholds[:, None]          # (thresholds, entries)
        wt, wf = w * t, w * ~t
        self.true_positives.data += above @ wt
        self.false_positives.data += above @ wf
        self.false_negatives.data += wt.sum() - above @ wt

    def _finish(self, value):
        return self._out(value[0] if self._scalar else value)

    def get_config(self):
        config = super().get_config()
        config.update(thresholds=self.init_thresholds, top_k=self.top_k, class_id=self.class_id)
        return config


class Precision(_ThresholdCounts):
    """tp / (tp + fp), 0 when nothing was predicted positive.

    Example:
        >>> m = Precision(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); round(float(m.result()), 4)
        0.6667
    """

    def result(self):
        tp = self.true_positives.data
        return self._finish(_divide_no_nan(tp, tp + self.false_positives.data))


class Recall(_ThresholdCounts):
    """tp / (tp + fn), 0 when there was no positive label."""

    def result(self):
        tp = self.true_positives.data
        return self._finish(_divide_no_nan(tp, tp + self.false_negatives.data))


class AUC(Metric):
    """Area under the ROC (or precision-recall) curve, from counts at fixed thresholds.

    The thresholds are -eps, 1/(n-1), ..., (n-2)/(n-1), 1+eps for ``num_thresholds`` n
    (or the given ``thresholds`` between -eps and 1+eps). ROC: the trapezoid rule over
    (false-positive rate, recall) ('interpolation'), or the lower ('minoring') / upper
    ('majoring') Riemann sum. PR with 'interpolation' integrates precision interpolated
    between thresholds as Davis & Goadrich (2006).

    Args:
        num_thresholds, curve ('ROC' or 'PR'), summation_method, thresholds: as Keras.
        from_logits: apply a sigmoid to the predictions first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name or "auc", dtype=dtype)
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'. Received: curve={curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring'. Received: summation_method={summation_method!r}")
        if multi_label or label_weights is not None:
            raise NotImplementedError("AUC: multi_label and label_weights are not supported yet")
        if num_thresholds <= 1 and thresholds is None:
            raise ValueError(f"AUC: num_thresholds must be > 1. Received: "
                             f"num_thresholds={num_thresholds}")
        self.curve, self.summation_method = curve.upper(), summation_method
        self.from_logits, self.multi_label, self.num_labels = from_logits, False, num_labels
        self._init_thresholds = thresholds
        if thresholds is not None:
            inner = np.sort(np.asarray(thresholds, np.float64))
        else:
            inner = np.arange(1, num_thresholds - 1) / (num_thresholds - 1)
        self.thresholds = np.concatenate([[-_EPS], inner, [1 + _EPS]])
        self.num_thresholds = len(self.thresholds)
        n = self.num_thresholds
        self.true_positives = self.add_variable((n,), name="true_positives")
        self.false_positives = self.add_variable((n,), name="false_positives")
        self.true_negatives = self.add_variable((n,), name="true_negatives")
        self.false_negatives = self.add_variable((n,), name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, w = _flat_inputs(y_true, y_pred, sample_weight)
        if self.from_logits:
            p = 0.5 * (1 + np.tanh(0.5 * p))  # sigmoid without overflow
        # Bucket each prediction by the number of thresholds strictly below it: it is
        # positive at exactly those thresholds. Suffix sums of the bucket weights then
        # give every count in O(entries log thresholds + thresholds).
        n = self.num_thresholds
        bucket = np.searchsorted(self.thresholds, p, side="left")
        pos = np.bincount(bucket, weights=w * t, minlength=n + 1)
        neg = np.bincount(bucket, weights=w * ~t, minlength=n + 1)
        tp = np.cumsum(pos[::-1])[::-1][1:]
        fp = np.cumsum(neg[::-1])[::-1][1:]
        self.true_positives.data += tp
        self.false_positives.data += fp
        self.false_negatives.data += pos.sum() - tp
        self.true_negatives.data += neg.sum() - fp

    def result(self):
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._out(self._interpolate_pr_auc())
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._out(np.sum((x[:-1] - x[1:]) * heights))

    def _interpolate_pr_auc(self):
        """Between adjacent thresholds precision is tp / p with tp linear in the number
        of predicted positives p: tp = a p + b. Integrating (a p + b) / p d(recall)
        exactly gives, per interval, a (dtp + b ln(p_i / p_{i+1})) / (tp + fn)."""
        tp, fp, fn = self.true_positives.data, self.false_positives.data, \
            self.false_negatives.data
        p = tp + fp
        dtp = tp[:-1] - tp[1:]
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        return np.sum(_divide_no_nan(slope * (dtp + intercept * log_ratio),
                                     np.maximum(tp[1:] + fn[1:], 0)))

    def get_config(self):
        config = super().get_config()
        config.update(num_thresholds=self.num_thresholds if self._init_thresholds is None
                      else None, curve=self.curve, summation_method=self.summation_method,
                      thresholds=self._init_thresholds, from_logits=self.from_logits)
        if config["num_thresholds"] is None:
            del config["num_thresholds"]
        return config
