"""Linear's products on two threads (inside a step that owns the cores) equal the whole ones."""
import numpy as np
import pytest

import shendu.ops as ops
import shendu.ops.products as products
from shendu.kernels import tuning
from shendu.autograd.tensor import Tensor
from shendu.testing import assert_allclose_normwise


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [64, 131])
def test_linear_on_two_threads_equals_one(rows, dtype, rng, monkeypatch):
    x = rng.standard_normal((rows, 40)).astype(dtype)
    w = rng.standard_normal((40, 7)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    gy = rng.standard_normal((rows, 7)).astype(dtype)
    monkeypatch.setattr(tuning, "CONCURRENT_MIN_FMA", 0)
    calls, real = [], products.parallel
    monkeypatch.setattr(products, "parallel", lambda fns: calls.append(len(fns)) or real(fns))
    results = []
    for parts in (1, 2):
        monkeypatch.setattr(products, "split_parallelism", lambda: parts)
        xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
        y = ops.linear(xt, wt, bt)
        y.backward(gy)
        results.append([y.numpy(), xt.grad, wt.grad, bt.grad])
    assert calls == [2, 2]  # the forward halves, then the two backward products
    tol = 1e-6 if dtype == np.float32 else 1e-13  # BLAS may block the halves differently
    for a, e in zip(*results):
        assert a.dtype == dtype
        assert_allclose_normwise(a, e, rtol=tol)
