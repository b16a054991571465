"""Intersection-over-union metrics from a running confusion matrix: IoU, MeanIoU,
BinaryIoU, OneHotIoU, OneHotMeanIoU."""
import numpy as np

from .. import config
from .confusion_metrics import _expand_to
from .metric import Metric, to_array


class IoU(Metric):
    """Mean over ``target_class_ids`` of IoU_c = TP_c / (TP_c + FP_c + FN_c), from the
    (true class, predicted class) confusion matrix of every batch seen; classes whose
    denominator is 0 are left out of the mean.

    Args:
        num_classes: the number of classes (the matrix is num_classes x num_classes).
        target_class_ids: the classes averaged.
        ignore_class: a label value left out (e.g. a void class), or None.
        sparse_y_true / sparse_y_pred: False for one-hot (or score) inputs, argmax'ed
            along ``axis``.

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"{type(self).__name__}: `num_classes` must be a positive integer. "
                             f"Received: num_classes={num_classes!r}")
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or \
                min(target_class_ids) < 0:
            raise ValueError(f"{type(self).__name__}: every target class id must be in "
                             f"[0, {num_classes}). Received: target_class_ids={target_class_ids}")
        self.num_classes, self.target_class_ids = int(num_classes), target_class_ids
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.total_cm = self.add_variable((num_classes, num_classes),
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_array(y_true), to_array(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        # A per-sample weight applies to every label of its sample (Keras would need it
        # flattened to the labels' size already).
        w = np.ones(y_true.shape) if sample_weight is None else \
            np.broadcast_to(_expand_to(to_array(sample_weight, np.float64), y_true.ndim),
                            y_true.shape)
        t = y_true.reshape(-1).astype(np.int64)
        p = y_pred.reshape(-1).astype(np.int64)
        w = w.reshape(-1)
        n = self.num_classes
        keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        np.add.at(self.total_cm.data, (t[keep], p[keep]), w[keep])

    def result(self):
        cm = self.total_cm.data
        tp = np.diag(cm)
        denominator = (cm.sum(0) + cm.sum(1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denominator > 1e-9
        eps = config.epsilon()
        iou = np.where(valid, tp / (denominator + eps), 0.0)
        return self._out(iou.sum() / (valid.sum() + eps))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU for a binary prediction: p >= ``threshold`` is class 1."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = (to_array(y_pred, np.float64) >= self.threshold).astype(np.int64)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class OneHotIoU(IoU):
    """IoU with one-hot labels (and scores or one-hot predictions unless ``sparse_y_pred``)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot labels (and scores unless ``sparse_y_pred``)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
