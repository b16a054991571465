"""Metrics that are running means of a loss function: KLDivergence, Poisson, LogCoshError
and the hinge family (the functions are the losses', as in Keras)."""
from .. import losses
from .metric import MeanMetricWrapper


class KLDivergence(MeanMetricWrapper):
    """Running mean of sum(y_true log(y_true / y_pred)) (clipped to [eps, 1])."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Running mean of mean(y_pred - y_true log(y_pred + eps))."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Running mean of mean(log(cosh(y_pred - y_true)))."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Running mean of mean(max(1 - y_true y_pred, 0)), 0/1 labels mapped to -1/1."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of mean(max(1 - y_true y_pred, 0)^2)."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of max(max((1 - y_true) y_pred) - sum(y_true y_pred) + 1, 0)."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
