"""The kernel registry: switching, lazy Numba import, thread settings; gradients through kernels."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu
import shendu.ops as ops
from shendu import kernels as registry
from shendu.testing import assert_allclose_normwise, gradcheck


@pytest.fixture
def kernels_on():
    pytest.importorskip("numba")
    before = registry.kernels_enabled()
    shendu.config.set_backend_kernels(True)
    yield
    shendu.config.set_backend_kernels(before)


def test_import_shendu_does_not_import_numba():
    code = "import sys, shendu; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_env_var_forces_references():
    code = ("import shendu; from shendu import kernels as registry; "
            "print(registry.kernels_enabled(), registry.kernel('im2col') is registry.get_reference('im2col'))")
    env = dict(os.environ, SHENDU_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    assert out.stdout.split() == ["False", "True"]


def test_switching_kernels(kernels_on):
    assert registry.kernel("max_pool_forward") is registry.fast_kernels()["max_pool_forward"]
    shendu.config.set_backend_kernels(False)
    assert not shendu.config.backend_kernels_enabled()
    assert registry.kernel("max_pool_forward") is registry.get_reference("max_pool_forward")
    with pytest.raises(KeyError, match="no kernel named 'nope'"):
        registry.kernel("nope")


def test_set_num_threads_sets_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = shendu.config.get_num_threads()
    try:
        shendu.config.set_num_threads(1)
        assert shendu.config.get_num_threads() == 1
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        shendu.config.set_num_threads(before)
    with pytest.raises(ValueError, match="Received: n=0"):
        shendu.config.set_num_threads(0)


# gradients through the fast path, float64 central differences

def test_gradcheck_conv_through_kernels(kernels_on, rng):
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 2, 3, 4))
    gradcheck(lambda a, b: ops.conv(a, b, strides=2, padding="same"), x, w)
    gradcheck(lambda a, b: ops.conv(a, b), x[:1], w)


def test_gradcheck_pool_bias_relu_dropout_through_kernels(kernels_on, rng):
    x = rng.standard_normal((1, 7, 5, 3))
    # distinct values and no value near 0 after the bias: no kinks inside the eps step
    x = np.sign(x) * (0.1 + np.abs(x)) + np.arange(x.size).reshape(x.shape) * 1e-3
    gradcheck(lambda a: ops.max_pool(a, 2, padding="same"), x)
    gradcheck(lambda a: ops.max_pool(a, 3, strides=2), x)
    gradcheck(lambda a, b: ops.bias_relu(a, b), x, np.zeros(3))
    gradcheck(lambda a: ops.dropout(a, 0.5, seed=3), x)


def test_same_seed_same_dropout_with_kernels_on_and_off(kernels_on):
    x = np.ones((4, 50), np.float32)
    a = ops.dropout(x, 0.3, seed=5).numpy().copy()
    shendu.config.set_backend_kernels(False)
    np.testing.assert_array_equal(ops.dropout(x, 0.3, seed=5).numpy(), a)


@pytest.mark.parametrize("kernels", [True, False])
def test_conv_without_grad_in_chunks_matches(kernels, rng, monkeypatch):
    """Inference builds the columns a few samples at a time: same result as one piece."""
    from shendu.kernels import tuning
    pytest.importorskip("numba")
    before = registry.kernels_enabled()
    shendu.config.set_backend_kernels(kernels)
    try:
        x = rng.standard_normal((7, 9, 8, 3)).astype(np.float32)
        w = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
        whole = ops.conv(x, w, strides=2, padding="same").numpy().copy()
        monkeypatch.setattr(tuning, "CONV_CHUNK_COLS_BYTES", 1000)
        with shendu.no_grad():
            chunked = ops.conv(x, w, strides=2, padding="same").numpy()
        assert_allclose_normwise(chunked, whole, rtol=1e-5)
    finally:
        shendu.config.set_backend_kernels(before)


def test_conv_bias_relu_is_conv_then_bias_relu(kernels_on, rng):
    x = rng.standard_normal((3, 8, 7, 2))
    w = rng.standard_normal((3, 3, 2, 4))
    b = rng.standard_normal(4)
    fused = ops.conv_bias_relu(x, w, b, strides=2, padding="same").numpy()
    plain = np.maximum(ops.conv(x, w, strides=2, padding="same").numpy() + b, 0)
    np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    with shendu.no_grad():
        np.testing.assert_allclose(ops.conv_bias_relu(x, w, b, strides=2, padding="same").numpy(),
                                   plain, rtol=1e-12, atol=1e-12)
    x = np.sign(x) * (0.2 + np.abs(x))
    gradcheck(lambda a, k, c: ops.conv_bias_relu(a, k, c), x[:2, :5, :5], w, b)


@pytest.mark.parametrize("fast", [True, False])
def test_bias_relu_in_place(fast, rng):
    pytest.importorskip("numba")
    fn = registry.fast_kernels()["bias_relu"] if fast else registry.get_reference("bias_relu")
    x = rng.standard_normal((5, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    expected = np.maximum(x + b, 0)
    assert fn(x, b, out=x) is x
    np.testing.assert_array_equal(x, expected)
    buf = rng.standard_normal((6, 6)).astype(np.float32)  # out overlaps x, shifted a row
    x, out = buf[:5], buf[1:]
    expected = np.maximum(x + b, 0)
    assert fn(x, b, out=out) is out
    np.testing.assert_array_equal(out, expected)
