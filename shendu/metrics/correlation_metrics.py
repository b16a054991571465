"""Per-sample similarity and correlation metrics: CosineSimilarity, PearsonCorrelation,
ConcordanceCorrelation (NumPy, no graph)."""
import numpy as np

from .. import config
from ..autograd.tensor import Tensor
from .metric import MeanMetricWrapper, same_rank, to_array


def _pair(y_true, y_pred):
    y_pred = to_array(y_pred)
    y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype(config.floatx())
    return same_rank(to_array(y_true, y_pred.dtype), y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(y_true_hat * y_pred_hat) along ``axis``, both L2-normalized (at least 1e-12
    in norm): 1 for the same direction, -1 for opposite ones. (The loss of that name is
    its negative.)"""
    y_true, y_pred = _pair(y_true, y_pred)

    def unit(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))
    return Tensor._from_op(np.sum(unit(y_true) * unit(y_pred), axis=axis), None)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's r of y_true and y_pred along ``axis``: mean(z_true z_pred), z the
    centred values divided by their (population) standard deviation.

    Example:
        >>> float(pearson_correlation([[1., 2., 3.]], [[2., 4., 7.]])[0].numpy().round(4))
        0.9934
    """
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - y_true.mean(axis=axis, keepdims=True)
    p = y_pred - y_pred.mean(axis=axis, keepdims=True)
    t = t / t.std(axis=axis, keepdims=True)
    p = p / p.std(axis=axis, keepdims=True)
    return Tensor._from_op(np.mean(t * p, axis=axis), None)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation as Keras computes it along ``axis``:
    mean(2 (y_true - mean_pred)(y_pred - mean_pred) / (var_true + var_pred +
    (mean_true - mean_pred)^2 + eps)) (Keras centres y_true on the prediction mean in the
    covariance term; this matches it)."""
    y_true, y_pred = _pair(y_true, y_pred)
    mt = y_true.mean(axis=axis, keepdims=True)
    mp = y_pred.mean(axis=axis, keepdims=True)
    norm = (y_true - mt).var(axis=axis, keepdims=True) + \
        (y_pred - mp).var(axis=axis, keepdims=True) + np.square(mt - mp)
    covar = (y_true - mp) * (y_pred - mp)
    return Tensor._from_op(np.mean(2 * covar / (norm + config.epsilon()), axis=axis), None)


class _AxisMetric(MeanMetricWrapper):
    """A running mean of ``_function(y_true, y_pred, axis)``."""

    def __init__(self, name, dtype=None, axis=-1):
        super().__init__(type(self)._function, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class CosineSimilarity(_AxisMetric):
    """Running mean of :func:`cosine_similarity`."""
    _function = staticmethod(cosine_similarity)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)


class PearsonCorrelation(_AxisMetric):
    """Running mean of :func:`pearson_correlation` over the samples."""
    _function = staticmethod(pearson_correlation)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(_AxisMetric):
    """Running mean of :func:`concordance_correlation` over the samples."""
    _function = staticmethod(concordance_correlation)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)
