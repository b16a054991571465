"""Accuracy metrics: function forms (one value per sample, as Tensors without a graph)
and their running-mean classes."""
import numpy as np

from .. import config
from ..autograd.tensor import Tensor
from .metric import MeanMetricWrapper, same_rank, to_array


def _result(matches):
    return Tensor._from_op(matches.astype(config.floatx()), None)


def _class_labels(y_true, y_pred):
    """Integer class indices from y_true: labels as given when y_true has y_pred's shape
    without the class axis (or with a trailing 1 there), else the argmax of one-hot rows."""
    if y_true.ndim == y_pred.ndim - 1:
        return y_true
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1 and y_pred.shape[-1] != 1:
        return y_true[..., 0]
    return np.argmax(y_true, axis=-1)


def accuracy(y_true, y_pred):
    """1.0 where y_true == y_pred exactly, else 0.0 (elementwise)."""
    y_true, y_pred = same_rank(to_array(y_true), to_array(y_pred))
    return _result(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) matches the 0/1 label y_true (elementwise)."""
    y_true, y_pred = same_rank(to_array(y_true), to_array(y_pred))
    return _result(y_true == (y_pred > threshold).astype(y_true.dtype))


def categorical_accuracy(y_true, y_pred):
    """1.0 per sample where argmax(y_pred) is the true class (one-hot rows or, as
    everywhere in shendu, integer class indices)."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    return _result(_class_labels(y_true, y_pred) == np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 per sample where argmax(y_pred) equals the integer label y_true."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _result(y_true == np.argmax(y_pred, axis=-1))


def _in_top_k(labels, y_pred, k):
    # NOTE: the true class counts as in the top k when fewer than k classes score strictly
    # higher, so classes tied at the boundary all count (as tf.math.in_top_k).
    labels = labels.astype(np.int64, copy=False)
    score = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (y_pred > score).sum(axis=-1) < k


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 per sample where the true class (one-hot y_true) is among the k highest scores."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    return _result(_in_top_k(_class_labels(y_true, y_pred), y_pred, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 per sample where the integer label y_true is among the k highest scores."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _result(_in_top_k(y_true, y_pred, k))


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches the binary label.

    Example:
        >>> m = BinaryAccuracy()
        >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        >>> float(m.result())
        0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) is the class of a one-hot y_true."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) equals an integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the class of a one-hot y_true is among the top ``k`` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often an integer label is among the top ``k`` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
