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

    What it does: pins the BLAS library that NumPy's matrix products use to one thread
    (through threadpoolctl, until ``disable_determinism()``; ``set_num_threads`` then
    only records its value), so a product sums in the same order whatever thread count
    is set. Everything else already has a fixed order: the NumPy reference ops, and
    shendu's Numba kernels (``shendu/kernels``), whose sums do not depend on the thread
    count (serial loops, or a fixed number of blocks added in a fixed order). Every random
    draw (initializers, dropout, shuffling, augmentation) comes from generators that
    ``shendu.utils.set_random_seed`` seeds and that checkpoints save.

    What is bit-reproducible: a run repeated, or interrupted and resumed from a
    checkpoint (``BackupAndRestore``, ``ModelCheckpoint``, ``load_model`` + ``fit``), on
    the same machine with the same library versions (NumPy, its BLAS build, Numba),
    the same ``SHENDU_KERNELS`` setting, and the same data and script. With this flag on,
    also at any thread count; with it off, only at the same thread count.

    What is NOT guaranteed: results across machines or CPU models (BLAS and NumPy pick
    different SIMD kernels and blockings), across BLAS builds (OpenBLAS, MKL,
    Accelerate) or NumPy/Numba versions, between the Numba kernels and the NumPy
    references (``set_backend_kernels``), and, without this flag, across thread counts.
    Without threadpoolctl installed the flag cannot pin BLAS (it warns): set
    ``OMP_NUM_THREADS=1`` / ``OPENBLAS_NUM_THREADS=1`` before starting Python instead.
    It costs speed: large matrix products use one core.
    """
    global _DETERMINISTIC
    _DETERMINISTIC = True
    from .kernels.threads import pin_blas_to_one_thread
    if not pin_blas_to_one_thread(True):
        import warnings
        warnings.warn("enable_determinism: threadpoolctl is not installed, so BLAS threads "
                      "cannot be pinned; set OMP_NUM_THREADS=1 for thread-count-independent "
                      "matrix products", stacklevel=2)


def disable_determinism():
    """Undo ``enable_determinism()``: BLAS gets its thread limits back."""
    global _DETERMINISTIC
    _DETERMINISTIC = False
    from .kernels.threads import pin_blas_to_one_thread
    pin_blas_to_one_thread(False)


def is_determinism_enabled():
    """Whether ``enable_determinism()`` is in effect."""
    return _DETERMINISTIC


# ---- speed: fast kernels and threads (the machinery lives in shendu/kernels) -------------
def set_backend_kernels(enabled):
    """Use the fast (Numba) kernels when True, the plain NumPy references when False.

    The default is True unless the environment sets ``SHENDU_KERNELS=numpy``.
    """
    from .kernels import set_kernels_enabled
    set_kernels_enabled(enabled)


def backend_kernels_enabled():
    from .kernels import kernels_enabled
    return kernels_enabled()


def set_num_threads(n):
    """Threads for BLAS matrix products and the Numba kernels (one shared budget)."""
    from .kernels.threads import set_num_threads as _set
    _set(n)


def get_num_threads():
    from .kernels.threads import get_num_threads as _get
    return _get()
