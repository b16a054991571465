"""``Metric``: a running statistic over batches, kept in non-trainable Variables.

    m = Mean()
    m.update_state([1, 2]); m.update_state([3])
    float(m.result())   # 2.0
    m.reset_state()

Metrics read the ``.data`` of Tensors and compute with NumPy: they never build an
autograd graph, and a batch costs a few vectorised NumPy calls. Running totals are
accumulated in float64 (a float32 count stops growing at 2^24 samples); ``result()``
returns a Tensor of the metric's ``dtype`` (floatx by default), as Keras.
"""
import numpy as np

from .. import config
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..autograd.variable import Variable

_STATE_DTYPE = np.float64


def to_array(x, dtype=None):
    """The array of a Tensor (no copy) or of anything array-like."""
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    return a if dtype is None or a.dtype == dtype else a.astype(dtype)


def same_rank(a, b):
    """NumPy twin of ``losses.loss.squeeze_or_expand_to_same_rank``: reconcile ranks that
    differ by a trailing 1 ((N,) with (N, 1))."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b[..., None]) if b.ndim == 1 else (a[..., 0], b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a[..., None], b) if a.ndim == 1 else (a, b[..., 0])
    return a, b


def reduce_to_samplewise(values, sample_weight, reduce_fn):
    """Per-sample values (weighted) and per-sample weights, as Keras's metrics reduce them.

    Values of higher rank than the weights are reduced (``reduce_fn``) down to the
    weights' rank; both then collapse to one number per sample (axis 0).
    """
    values = to_array(values, _STATE_DTYPE)
    if sample_weight is not None:
        sample_weight = to_array(sample_weight, _STATE_DTYPE)
        values, sample_weight = same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce_fn(values, axis=tuple(range(sample_weight.ndim, values.ndim)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def _snake_case(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper()
                                   or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Metric:
    """Base of stateful metrics: ``update_state`` per batch, ``result`` at any time,
    ``reset_state`` between epochs. Subclasses create state with ``add_variable``.

    Args:
        name: shown in logs and history (default: the class name in snake case).
        dtype: dtype of ``result()`` (default floatx).
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = np.dtype(dtype or config.floatx()).name
        self._variables = []

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        """A non-trainable state Variable (float64 unless ``dtype``), reset to its initial value."""
        value = np.zeros(shape, dtype or _STATE_DTYPE)
        if initializer == "ones":
            value += 1
        elif initializer != "zeros":
            value += np.asarray(initializer, value.dtype)
        v = Variable(value, trainable=False, name=name)
        v._initial = value
        self._variables.append(v)
        return v

    add_weight = add_variable

    @property
    def variables(self):
        return list(self._variables)

    def update_state(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def reset_state(self):
        for v in self._variables:
            v.data[...] = v._initial

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _out(self, value):
        return Tensor._from_op(np.asarray(value, self.dtype), None)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """The (weighted) sum of all values seen.

    Example:
        >>> m = Sum(); m.update_state([1, 3, 5, 7]); float(m.result())
        16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise(values, sample_weight, np.sum)
        self.total.data += values.sum()

    def result(self):
        return self._out(self.total.data)


class Mean(Metric):
    """The (weighted) mean of all values seen: sum(w v) / sum(w).

    Example:
        >>> m = Mean(); m.update_state([1, 3, 5, 7]); float(m.result())
        4.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = reduce_to_samplewise(values, sample_weight, np.mean)
        self.total.data += values.sum()
        if sample_weight is not None:
            self.count.data += sample_weight.sum()
        else:
            self.count.data += values.shape[0] if values.ndim else 1

    def result(self):
        count = self.count.data
        return self._out(self.total.data / count if count else 0.0)


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)`` over all samples.

    ``fn`` may return arrays or Tensors; it runs under ``no_grad`` so that a Tensor
    loss function builds no graph.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper:
            from . import _lookup, ALL_OBJECTS
            config["fn"] = _lookup("metric", ALL_OBJECTS, config["fn"])
        return cls(**config)
