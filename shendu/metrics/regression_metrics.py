"""Regression and probabilistic metrics: running means of per-sample errors, and R2Score."""
import warnings

import numpy as np

from .. import losses
from ..autograd.tensor import Tensor
from .metric import Mean, MeanMetricWrapper, Metric, same_rank, to_array


def _pair(y_true, y_pred):
    y_pred = to_array(y_pred)
    y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float64)
    return same_rank(to_array(y_true, y_pred.dtype), y_pred)


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis (NumPy, no graph)."""
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_pred - y_true
    return Tensor._from_op(np.mean(d * d, axis=-1), None)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis (NumPy, no graph)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return Tensor._from_op(np.mean(np.abs(y_pred - y_true), axis=-1), None)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of the per-sample mean squared error."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of the per-sample mean absolute error."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the running mean of squared errors (over all entries, as Keras)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(y_true, y_pred)
        d = y_pred - y_true
        super().update_state(d * d, sample_weight)

    def result(self):
        return self._out(np.sqrt(self.total.data / self.count.data) if self.count.data else 0.0)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary cross-entropy."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the categorical cross-entropy."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical cross-entropy."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)


class R2Score(Metric):
    """The coefficient of determination, per output column over every batch seen:

        R2_j = 1 - sum_i w_ij (y_ij - p_ij)^2 / sum_i w_ij (y_ij - mean_j)^2

    (0 where a column has no variance), aggregated with ``class_aggregation``: None (one
    score per column), 'uniform_average' (their mean) or 'variance_weighted_average'.
    With ``num_regressors`` p > 0 it is adjusted: 1 - (1 - R2)(n - 1) / (n - p - 1), n the
    number of values seen (Keras falls back to plain R2, with a warning, when n <= p + 1).

    Example:
        >>> m = R2Score(); m.update_state([[1.], [2.], [3.]], [[1.], [2.], [4.]])
        >>> float(m.result())
        0.5
    """

    _CLASS_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self._CLASS_AGGREGATIONS:
            raise ValueError(f"R2Score: `class_aggregation` must be one of "
                             f"{self._CLASS_AGGREGATIONS}. Received: "
                             f"class_aggregation={class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: `num_regressors` must be >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._columns = None

    def _build(self, shape_true, shape_pred):
        if len(shape_true) != 2 or len(shape_pred) != 2:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={shape_pred} and "
                             f"y_true.shape={shape_true}.")
        n = shape_pred[-1]
        self.squared_sum = self.add_variable((n,), name="squared_sum")
        self.sum = self.add_variable((n,), name="sum")
        self.total_mse = self.add_variable((n,), name="residual")
        self.count = self.add_variable((n,), name="count")
        self._columns = n

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = (a.astype(np.float64) for a in _pair(y_true, y_pred))
        if self._columns is None:
            self._build(y_true.shape, y_pred.shape)
        w = np.ones(()) if sample_weight is None else to_array(sample_weight, np.float64)
        if w.ndim == 1:
            w = w[:, None]
        w = np.broadcast_to(w, y_true.shape)
        self.sum.data += (y_true * w).sum(0)
        self.squared_sum.data += (y_true * y_true * w).sum(0)
        self.total_mse.data += ((y_true - y_pred) ** 2 * w).sum(0)
        self.count.data += w.sum(0)
        self.num_samples.data += y_true.size

    def result(self):
        if self._columns is None:
            return self._out(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.data / self.count.data
            total = self.squared_sum.data - self.sum.data * mean
            raw = 1 - self.total_mse.data / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(self.num_samples.data), self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn("R2Score: more independent predictors than data points in the "
                              "adjusted R2 score; falling back to the plain R2 score.",
                              stacklevel=2)
            elif p == n - 1:
                warnings.warn("R2Score: division by zero in the adjusted R2 score; falling back "
                              "to the plain R2 score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return self._out(score)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
