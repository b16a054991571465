"""Library-wide settings: the default float type, the fuzz factor, thread counts.

Kept free of heavy imports so that ``import shendu`` stays fast.
"""
import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7


def floatx():
    """The default float type of weights and layer computations ('float32')."""
    return _FLOATX


def set_floatx(value):
    """Set the default float type: 'float16', 'float32' or 'float64'."""
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(
            f"set_floatx expects 'float16', 'float32' or 'float64'. Received: value={value!r}")
    _FLOATX = value


def epsilon():
    """The fuzz factor used to keep logs and divisions finite (Keras: 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def float_dtype():
    """``floatx()`` as a NumPy dtype."""
    return np.dtype(_FLOATX)
