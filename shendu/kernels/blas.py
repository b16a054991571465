"""The float32 matrix product of NumPy's own BLAS, callable from inside Numba kernels.

A recurrence alternates a small matrix product with a gate kernel at every step. Called
from Python, each step pays the interpreter, and when the batch is split over threads
(``threads.parallel``) the threads queue for the GIL between their products; on the LSTM
benchmark that overhead was a sizeable share of the layer's time. A Numba
kernel that calls BLAS itself runs the whole time loop with the GIL released.

``sgemm()`` finds ``cblas_sgemm`` in the BLAS library NumPy has loaded (the scipy-openblas
of NumPy's wheels, or a system OpenBLAS, MKL or BLIS), under the names those builds
export, checks it against ``np.matmul`` once, and returns it as a ctypes function that a
Numba kernel takes as an argument (so the kernel is compiled and cached once, whatever
address the library is loaded at). None when no such library is found: callers then
keep their Python loop.

    C (M, N) = A (M, K) @ B (K, N), row-major, A and B not transposed:
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, M, N, K, 1.0, A, K, B, N, 0.0, C, N)
"""
import ctypes

import numpy as np

# CBLAS's enum values (cblas.h): the layout and whether an operand is transposed.
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (symbol, integer type): the 64-bit-index builds first (NumPy's own wheels)
_CANDIDATES = [("scipy_cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm64_", ctypes.c_int64),
               ("cblas_sgemm_64", ctypes.c_int64), ("scipy_cblas_sgemm", ctypes.c_int),
               ("cblas_sgemm", ctypes.c_int)]
_FOUND = []


def _loaded_blas_paths():
    """Shared libraries mapped into this process whose names say BLAS (Linux: /proc/self/maps)."""
    np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)  # NumPy has loaded its BLAS
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if ".so" in line}
    except OSError:
        return []
    names = ("blas", "mkl_rt", "blis")
    return sorted(p for p in paths if any(n in p.rsplit("/", 1)[-1].lower() for n in names))


def _bind(lib):
    for name, index in _CANDIDATES:
        fn = getattr(lib, name, None)
        if fn is None:
            continue
        fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, index, index, index,
                       ctypes.c_float, ctypes.c_void_p, index, ctypes.c_void_p, index,
                       ctypes.c_float, ctypes.c_void_p, index]
        fn.restype = None
        return fn
    return None


def _agrees(fn):
    """One small product through ``fn`` equals NumPy's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    c = np.zeros((5, 4), np.float32)
    fn(ROW_MAJOR, NO_TRANS, NO_TRANS, 5, 4, 3, 1.0, a.ctypes.data, 3, b.ctypes.data, 4, 0.0,
       c.ctypes.data, 4)
    return np.allclose(c, a @ b, rtol=1e-5, atol=1e-6)


def sgemm():
    """NumPy's BLAS ``cblas_sgemm`` as a ctypes function, or None (see the module docstring)."""
    if not _FOUND:
        fn = None
        for path in _loaded_blas_paths():
            try:
                fn = _bind(ctypes.CDLL(path))
            except OSError:
                fn = None
            if fn is not None and _agrees(fn):
                break
            fn = None
        _FOUND.append(fn)
    return _FOUND[0]
