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


# ---- determinism -------------------------------------------------------------------------
_DETERMINISTIC = False


def enable_determinism():
    """Ask for bit-reproducible runs: same seed, same data, same results.

    shendu's kernels are NumPy code with a fixed reduction order, and every random
    draw (initializers, dropout, shuffling) comes from generators that
    ``shendu.utils.set_random_seed`` seeds and that checkpoints save, so a run with a
    fixed seed is reproducible on one machine already; this flag records the intent
    for code that has a faster, order-changing path (it must take the fixed-order path
    while the flag is on). What is NOT guaranteed bit-for-bit: results across machines
    or BLAS libraries (matmul blocking differs with the CPU and thread count), and
    across NumPy versions. Pin BLAS threads (OMP_NUM_THREADS) for reproducible matmuls.
    """
    global _DETERMINISTIC
    _DETERMINISTIC = True


def disable_determinism():
    global _DETERMINISTIC
    _DETERMINISTIC = False


def is_determinism_enabled():
    """Whether ``enable_determinism()`` is in effect."""
    return _DETERMINISTIC


# ---- speed: fast kernels and threads (the machinery lives in shendu/backend) -------------
def set_backend_kernels(enabled):
    """Use the fast (Numba) kernels when True, the plain NumPy references when False.

    The default is True unless the environment sets ``SHENDU_KERNELS=numpy``.
    """
    from .backend import set_kernels_enabled
    set_kernels_enabled(enabled)


def backend_kernels_enabled():
    from .backend import kernels_enabled
    return kernels_enabled()


def set_num_threads(n):
    """Threads for BLAS matrix products and the Numba kernels (one shared budget)."""
    from .backend.threads import set_num_threads as _set
    _set(n)


def get_num_threads():
    from .backend.threads import get_num_threads as _get
    return _get()
