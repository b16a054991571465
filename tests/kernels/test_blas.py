"""NumPy's BLAS sgemm called directly (kernels.blas), as the Numba recurrences do."""
import sys

import numpy as np
import pytest

from shendu.kernels import blas
from shendu.testing import assert_allclose_normwise


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="blas.py finds the library through /proc/self/maps (Linux)")
def test_numpys_blas_is_found_on_linux_wheels():
    # NumPy's wheels and the usual system builds (OpenBLAS, MKL, BLIS) export cblas_sgemm
    # under one of the names blas.py tries; not finding it here would silently slow the LSTM.
    assert blas.sgemm() is not None, f"no cblas_sgemm in {blas._loaded_blas_paths()}"


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (7, 5, 3), (64, 128, 512), (33, 512, 128)])
def test_sgemm_equals_matmul(m, k, n, rng):
    fn = blas.sgemm()
    if fn is None:
        pytest.skip("no cblas_sgemm found in the loaded BLAS")
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.full((m, n), np.nan, np.float32)
    fn(blas.ROW_MAJOR, blas.NO_TRANS, blas.NO_TRANS, m, n, k, 1.0, a.ctypes.data, k,
       b.ctypes.data, n, 0.0, c.ctypes.data, n)
    assert_allclose_normwise(c, a @ b, rtol=1e-5)  # two BLAS calls may block the sums differently
