"""F1Score and FBetaScore over multi-label (or one-hot) predictions."""
import numpy as np

from .. import config
from .metric import Metric, to_array


class FBetaScore(Metric):
    """F-beta = (1 + beta^2) P R / (beta^2 P + R), per class from counts over all batches.

    A prediction is positive when it is above ``threshold``, or (threshold None) when it is
    its row's largest value and not 0. ``average``: None (one score per class), 'micro'
    (counts pooled over classes), 'macro' (mean of the class scores) or 'weighted' (mean
    weighted by each class's number of positive labels). Inputs are (batch, classes).

    Example:
        >>> m = FBetaScore(average="micro", threshold=0.5)
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.3]])
        >>> round(float(m.result()), 4)
        0.5
    """

    _AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        cls = type(self).__name__
        if average not in self._AVERAGES:
            raise ValueError(f"{cls}: `average` must be one of {self._AVERAGES}. "
                             f"Received: average={average!r}")
        if not isinstance(beta, float) or beta <= 0:
            raise ValueError(f"{cls}: `beta` must be a Python float > 0. Received: beta={beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0 < threshold <= 1):
            raise ValueError(f"{cls}: `threshold` must be a Python float with 0 < threshold <= 1. "
                             f"Received: threshold={threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._classes = None

    def _build(self, shape_true, shape_pred):
        if len(shape_true) != 2 or len(shape_pred) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape={shape_pred} and "
                             f"y_true.shape={shape_true}.")
        shape = () if self.average == "micro" else (shape_pred[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self._classes = shape_pred[-1]

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_array(y_true, np.float64)
        y_pred = to_array(y_pred, np.float64)
        if self._classes is None:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            pos = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            pos = y_pred > self.threshold
        pos = pos.astype(np.float64)
        w = 1.0 if sample_weight is None else to_array(sample_weight, np.float64).reshape(-1, 1)

        def total(x):
            return np.sum(x * w, axis=self.axis)
        self.true_positives.data += total(pos * y_true)
        self.false_positives.data += total(pos * (1 - y_true))
        self.false_negatives.data += total((1 - pos) * y_true)
        self.intermediate_weights.data += total(y_true)

    def result(self):
        if self._classes is None:
            return self._out(0.0)
        eps = config.epsilon()
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            w = self.intermediate_weights.data
            score = np.sum(score * w / (np.sum(w) + eps))
        elif self.average is not None:
            score = np.mean(score)
        return self._out(score)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """FBetaScore with beta = 1: 2 P R / (P + R)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
