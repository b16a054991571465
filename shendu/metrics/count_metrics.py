"""Confusion counts at thresholds (TruePositives, FalsePositives, TrueNegatives,
FalseNegatives) and the metrics that read one rate at a bound on another
(SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision).

A prediction p counts as positive at threshold h when p > h; counts are weighted by
``sample_weight`` and accumulated over batches.
"""
import numpy as np

from .confusion_metrics import _divide_no_nan, _flat_inputs
from .metric import Metric


class _Counts(Metric):
    """tp, fp, tn, fn at each of ``self.thresholds``."""

    def _init_counts(self, thresholds):
        self.thresholds = np.atleast_1d(np.asarray(thresholds, np.float64))
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), name="true_positives")
        self.true_negatives = self.add_variable((n,), name="true_negatives")
        self.false_positives = self.add_variable((n,), name="false_positives")
        self.false_negatives = self.add_variable((n,), name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, w = _flat_inputs(y_true, y_pred, sample_weight, getattr(self, "class_id", None))
        above = p[None, :] > self.thresholds[:, None]          # (thresholds, entries)
        wt, wf = w * t, w * ~t
        tp, fp = above @ wt, above @ wf
        self.true_positives.data += tp
        self.false_positives.data += fp
        self.false_negatives.data += wt.sum() - tp
        self.true_negatives.data += wf.sum() - fp


class _Count(_Counts):
    _which = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._scalar = thresholds is None or np.ndim(thresholds) == 0
        self._init_counts(0.5 if thresholds is None else thresholds)
        self.accumulator = getattr(self, self._which)

    def result(self):
        value = self.accumulator.data
        return self._out(value[0] if self._scalar else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_Count):
    """The weighted number of positive labels predicted above the threshold(s) (0.5).

    Example:
        >>> m = TruePositives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); float(m.result())
        2.0
    """
    _which = "true_positives"


class FalsePositives(_Count):
    """The weighted number of negative labels predicted above the threshold(s) (0.5)."""
    _which = "false_positives"


class TrueNegatives(_Count):
    """The weighted number of negative labels predicted at or below the threshold(s) (0.5)."""
    _which = "true_negatives"


class FalseNegatives(_Count):
    """The weighted number of positive labels predicted at or below the threshold(s) (0.5)."""
    _which = "false_negatives"


class _AtBound(_Counts):
    """max of one rate over the thresholds where another rate is >= ``value``.

    The ``num_thresholds`` thresholds are 0, 1/(n-1), ..., 1 (0.5 alone for n = 1);
    0 when no threshold meets the bound.
    """
    _arg = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        cls = type(self).__name__
        if not 0 <= value <= 1:
            raise ValueError(f"{cls}: `{self._arg}` must be in the range [0, 1]. "
                             f"Received: {self._arg}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"{cls}: `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        thresholds = [0.5] if num_thresholds == 1 else \
            [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        self._init_counts(thresholds)

    def _rates(self):
        tp, tn = self.true_positives.data, self.true_negatives.data
        fp, fn = self.false_positives.data, self.false_negatives.data
        return {"sensitivity": _divide_no_nan(tp, tp + fn), "recall": _divide_no_nan(tp, tp + fn),
                "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def result(self):
        rates = self._rates()
        feasible = rates[self._arg] >= self.value
        return self._out(np.max(np.where(feasible, rates[self._target], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), self._arg: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


class SensitivityAtSpecificity(_AtBound):
    """The best sensitivity (recall) over thresholds with specificity >= ``specificity``."""
    _arg, _target = "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtBound):
    """The best specificity over thresholds with sensitivity >= ``sensitivity``."""
    _arg, _target = "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtBound):
    """The best precision over thresholds with recall >= ``recall``."""
    _arg, _target = "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtBound):
    """The best recall over thresholds with precision >= ``precision``."""
    _arg, _target = "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
