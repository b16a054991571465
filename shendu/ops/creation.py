"""Tensor constructors. Random ones take an explicit, seedable generator."""
import numpy as np

from ..autograd.tensor import Tensor, as_tensor
from .random import as_generator


def _dtype(dtype):
    from ..config import float_dtype
    return float_dtype() if dtype is None else np.dtype(dtype)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a Tensor (no copy when it already is one of that dtype), as keras.ops.
    Sparse and ragged tensors do not exist here: ``sparse=True``/``ragged=True`` are refused."""
    if sparse or ragged:
        raise ValueError(f"convert_to_tensor: sparse and ragged tensors are not supported. "
                         f"Received: sparse={sparse}, ragged={ragged}")
    return as_tensor(x, dtype=dtype)


def zeros(shape, dtype=None, requires_grad=False):
    return Tensor(np.zeros(shape, _dtype(dtype)), requires_grad=requires_grad)


def ones(shape, dtype=None, requires_grad=False):
    return Tensor(np.ones(shape, _dtype(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    return Tensor(np.full(shape, fill_value, _dtype(dtype)), requires_grad=requires_grad)


def zeros_like(x, dtype=None):
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.zeros_like(x, dtype=dtype))


def ones_like(x, dtype=None):
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.ones_like(x, dtype=dtype))


def full_like(x, fill_value, dtype=None):
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.full_like(x, fill_value, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    """Ones on the ``k``-th diagonal of an N x M matrix (floatx by default)."""
    return Tensor(np.eye(N, M, k=k, dtype=_dtype(dtype)))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values; integer arguments give an int64 tensor, as NumPy and PyTorch."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    arr = np.arange(start, stop, step)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype == np.float64:
        arr = arr.astype(_dtype(None))
    return Tensor(arr)


def randn(*shape, generator=None, seed=None, dtype=None, requires_grad=False):
    """Standard normal samples: ``randn(2, 3, generator=shendu.Generator(0))``."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    g = as_generator(generator if generator is not None else seed)
    return Tensor(g.standard_normal(shape).astype(_dtype(dtype)), requires_grad=requires_grad)


def rand(*shape, generator=None, seed=None, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    g = as_generator(generator if generator is not None else seed)
    return Tensor(g.random(shape).astype(_dtype(dtype)), requires_grad=requires_grad)


def randint(low, high, shape, generator=None, seed=None, dtype="int64"):
    g = as_generator(generator if generator is not None else seed)
    return Tensor(g.integers(low, high, size=shape).astype(dtype))


def _spaced(op, values, dtype, axis):
    arr = values if dtype is None else values.astype(dtype)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(_dtype(None))
    return Tensor(np.moveaxis(arr, 0, axis) if arr.ndim > 1 else arr)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop (stop included when ``endpoint``);
    array start/stop give one such run per element, along ``axis``. Not differentiable.

    Example:
        >>> import shendu.ops as ops
        >>> ops.linspace(0, 1, 5).numpy()
        array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    if int(num) < 0:
        raise ValueError(f"linspace: num must be >= 0. Received: num={num}")
    a, b = np.asarray(start.data if isinstance(start, Tensor) else start), \
        np.asarray(stop.data if isinstance(stop, Tensor) else stop)
    values, step = np.linspace(a, b, int(num), endpoint=endpoint, retstep=True, dtype=np.float64)
    y = _spaced("linspace", values, dtype, axis)
    return (y, Tensor(np.asarray(step, y.dtype))) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """base ** linspace(start, stop): ``num`` values evenly spaced on a log scale."""
    values = np.logspace(np.asarray(start), np.asarray(stop), int(num), endpoint=endpoint,
                         base=base, dtype=np.float64)
    return _spaced("logspace", values, dtype, axis)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values from start to stop in geometric progression."""
    values = np.geomspace(np.asarray(start), np.asarray(stop), int(num), endpoint=endpoint,
                          dtype=np.float64)
    return _spaced("geomspace", values, dtype, axis)


def _window(fn, name):
    def window(x):
        n = int(x.data if isinstance(x, Tensor) else x)
        return Tensor(fn(n).astype(_dtype(None)))
    window.__name__ = window.__qualname__ = name
    window.__doc__ = f"The {name} window of ``x`` points (floatx), as ``numpy.{name}``."
    return window


bartlett = _window(np.bartlett, "bartlett")
blackman = _window(np.blackman, "blackman")
hamming = _window(np.hamming, "hamming")
hanning = _window(np.hanning, "hanning")


def kaiser(x, beta):
    """The Kaiser window of ``x`` points with shape parameter ``beta`` (floatx)."""
    n = int(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.kaiser(n, float(beta)).astype(_dtype(None)))
