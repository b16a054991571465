"""Comparisons of floating-point results that hold on every CPU.

A float32 result that sums many terms (a matrix product, a convolution, a gradient
summed over a batch) depends on the order of the sum, and that order differs between
BLAS kernels (``OPENBLAS_CORETYPE``), thread counts, chunkings and SIMD widths. Single
entries that come out near zero as a difference of large terms then differ by much more
than their own magnitude. Comparing the whole array normwise,
``||a - b|| <= rtol * ||b||``, bounds the error relative to the result's scale, which is
what a different order of summation changes.
"""
import numpy as np


def normwise_error(actual, desired):
    """``||actual - desired|| / ||desired||`` in float64 (0 when both are zero)."""
    a = np.asarray(actual, np.float64)
    b = np.asarray(desired, np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = np.linalg.norm(b)
    diff = np.linalg.norm(a - b)
    return float(diff / scale) if scale > 0 else float(diff)


def assert_allclose_normwise(actual, desired, rtol=1e-5, err_msg=""):
    """Assert ``||actual - desired|| <= rtol * ||desired||`` (NaNs and infs must match).

    >>> import numpy as np
    >>> b = np.array([67.0, -0.3439923, 12.5], np.float32)
    >>> assert_allclose_normwise(b + np.float32(3e-5), b)
    """
    a = np.asarray(actual)
    b = np.asarray(desired)
    if a.shape != b.shape:
        raise AssertionError(f"{err_msg}: shapes differ: {a.shape} vs {b.shape}".lstrip(": "))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(b64)
    if not np.array_equal(np.isfinite(a64), finite) or \
            not np.array_equal(a64[~finite], b64[~finite], equal_nan=True):
        raise AssertionError(f"{err_msg}: non-finite entries differ".lstrip(": "))
    err = normwise_error(a64[finite], b64[finite])
    if not err <= rtol:
        raise AssertionError(f"{err_msg}: normwise relative error {err:.3g} > rtol {rtol:g} "
                             f"(shape {a.shape}, ||desired|| {np.linalg.norm(b64[finite]):.4g})"
                             .lstrip(": "))
