"""Tensor constructors. Random ones take an explicit, seedable generator."""
import numpy as np

from ..autograd.tensor import Tensor, as_tensor
from .random import as_generator


def _dtype(dtype):
    from ..config import float_dtype
    return float_dtype() if dtype is None else np.dtype(dtype)


def convert_to_tensor(x, dtype=None):
    """``x`` as a Tensor (no copy when it already is one of that dtype), as keras.ops."""
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


def eye(n, m=None, dtype=None):
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)))


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values; integer arguments give an int64 tensor, as NumPy and PyTorch."""
    if stop is None:
        start, stop = 0, start
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
