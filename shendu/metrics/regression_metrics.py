"""Regression and probabilistic metrics: running means of per-sample errors."""
import numpy as np

from .. import losses
from ..autograd.tensor import Tensor
from .metric import Mean, MeanMetricWrapper, same_rank, to_array


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
