"""``Loss``: a configurable callable that turns per-sample losses into one number.

A loss object computes per-sample losses with ``call(y_true, y_pred)``, weights them
with ``sample_weight`` and reduces them::

    loss = MeanSquaredError()                 # reduction='sum_over_batch_size'
    value = loss(y_true, y_pred, sample_weight=w)
    value.backward()

Reductions (Keras 3): 'sum_over_batch_size' and 'mean' divide the weighted sum by the
number of loss values; 'mean_with_sample_weight' divides by the sum of the weights;
'sum' adds; None or 'none' returns the weighted per-sample losses.
"""
import numpy as np

from .. import ops
from ..autograd.tensor import as_tensor

REDUCTIONS = (None, "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{REDUCTIONS}. Received: reduction={reduction!r}")
    return reduction


def float_tensor(x, dtype=None):
    """``x`` as a float Tensor: ``dtype`` if given, else its own float type or floatx."""
    from ..config import float_dtype
    x = as_tensor(x)
    if dtype is None:
        dtype = x.dtype if x.dtype.kind == "f" else float_dtype()
    return ops.cast(x, dtype)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Reconcile ranks that differ by a trailing 1: (N,) with (N, 1) and the like.

    When one is rank 1 and the other (N, 1), the rank-1 one gains an axis (when
    ``expand_rank_1``); otherwise the trailing 1 is squeezed, as in Keras.
    """
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduce (already weighted) loss values; see the module docstring."""
    if reduction is None or reduction == "none" or values.ndim == 0:
        return values
    total = ops.sum(values)
    if values.size == 0:
        return total  # an empty batch adds nothing (Keras divides with divide_no_nan)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(sample_weight.data))
        return total / divisor if divisor else total * 0.0
    return total / float(values.size)


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Multiply per-sample ``values`` by ``sample_weight`` and reduce.

    ``sample_weight`` may be a scalar, per sample (N,) or (N, 1), or of the shape of
    ``values``; a lower-rank weight applies to every trailing entry of its sample.
    """
    reduction = standardize_reduction(reduction)
    if sample_weight is not None:
        sample_weight = float_tensor(sample_weight, values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if 0 < sample_weight.ndim < values.ndim:
            sample_weight = ops.reshape(sample_weight, sample_weight.shape +
                                        (1,) * (values.ndim - sample_weight.ndim))
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


class Loss:
    """Base of loss objects: subclasses define ``call(y_true, y_pred)`` -> per-sample losses.

    Args:
        name: the loss's name (used in logs).
        reduction: see the module docstring ('sum_over_batch_size' by default, as Keras).
        dtype: the computation dtype; by default y_pred's float type (floatx for integers).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = None if dtype is None else np.dtype(dtype).name

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = float_tensor(y_pred, self.dtype)
        losses = self.call(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight, self.reduction)

    def call(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} reduction={self.reduction}>"


def _snake_case(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper()
                                   or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class LossFunctionWrapper(Loss):
    """A Loss around a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses.

    Example:
        >>> import numpy as np
        >>> from shendu.losses import mean_squared_error
        >>> loss = LossFunctionWrapper(mean_squared_error, name="mse")
        >>> float(loss(np.zeros((2, 2)), np.ones((2, 2))))
        1.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is LossFunctionWrapper:
            from . import get
            config["fn"] = get(config["fn"])
        return cls(**config)
