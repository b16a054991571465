"""conv_bias_relu_max_pool: the same values and gradients as max_pool(conv_bias_relu(...)),
chunked or not, with kept or rebuilt columns, through the fast chunk kernels or their
references. (Its use by models, planned by shendu/fusion.py: tests/test_fusion.py.)"""
import math

import numpy as np
import pytest

import shendu
import shendu.ops as ops
import shendu.ops.conv_pool as conv_pool
from shendu.ops import _chunking
from shendu import kernels as registry
from shendu.kernels import tuning
from shendu.autograd.tensor import Tensor
from shendu.testing import assert_allclose_normwise, gradcheck

# (x shape, kernel size, filters, conv kwargs, pool kwargs)
CASES = [
    ((3, 12, 12, 1), (3, 3), 4, {}, {}),
    ((2, 13, 13, 3), (3, 3), 4, {}, {}),  # the reference net's 2nd conv: row/col 11 unread
    ((2, 9, 8, 3), (3, 2), 5, dict(padding="same"), {}),
    ((4, 11, 10, 2), (3, 3), 4, dict(strides=(2, 1)), dict(pool_size=(3, 2), pool_strides=(1, 2))),
    ((2, 10, 9, 2), (2, 2), 3, dict(dilation_rate=(2, 1)), dict(pool_size=3)),
]


def _chunk_sizes(monkeypatch, chunk, keep):
    monkeypatch.setattr(tuning, "CONV_POOL_CHUNK_BYTES", chunk)
    monkeypatch.setattr(tuning, "CONV_POOL_INFERENCE_CHUNK_BYTES", chunk)
    monkeypatch.setattr(tuning, "CHUNKS_MULTIPLE", 1)
    monkeypatch.setattr(tuning, "CONV_POOL_KEEP_COLS_BYTES", keep)


def _reference_chunks(monkeypatch):
    """Run the op's chunks through the NumPy references of the chunk kernels (the other
    kernels stay fast)."""
    real = conv_pool.kernel
    monkeypatch.setattr(conv_pool, "kernel", lambda name: registry.get_reference(name)
                        if name.startswith("conv_pool_") else real(name))


def _run(fused, x, w, b, gy, conv_kw, pool_kw):
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    if fused:
        y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw)
    else:
        a = ops.conv_bias_relu(xt, wt, bt, **conv_kw)
        y = ops.max_pool(a, pool_kw.get("pool_size", 2), strides=pool_kw.get("pool_strides"))
    (y * Tensor(gy)).sum().backward()
    return [y.numpy(), xt.grad, wt.grad, bt.grad]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunk, keep, parts", [(1, 0, 1), (1, 1 << 30, 1), (1 << 30, 0, 1),
                                               (1, 0, 2), (1, 1 << 30, 3)])
def test_matches_conv_then_pool(case, dtype, chunk, keep, parts, rng, monkeypatch):
    shape, k, filters, conv_kw, pool_kw = case
    _chunk_sizes(monkeypatch, chunk, keep)  # one sample per chunk, or one chunk
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)  # runs on threads
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(dtype)
    b = 0.5 * rng.standard_normal(filters)
    b[::2] -= 2 * np.sqrt(w[..., 0].size)  # about two sd of the conv output: many zeros
    b = b.astype(dtype)
    y = _run(True, x, w, b, np.zeros(1, dtype), conv_kw, pool_kw)[0]
    assert (y > 0).any() and (y == 0).any()  # both sides of the ReLU are exercised
    gy = rng.standard_normal(y.shape).astype(dtype)
    got, want = _run(True, x, w, b, gy, conv_kw, pool_kw), _run(False, x, w, b, gy, conv_kw, pool_kw)
    rtol = 1e-5 if dtype == np.float32 else 1e-12  # normwise: sums in another order
    for name, g, e in zip(["y", "gx", "gW", "gb"], got, want):
        assert g.dtype == dtype, name
        assert_allclose_normwise(g, e, rtol=rtol, err_msg=name)
    with shendu.no_grad():  # inference: no argmax kept, chunks of its own size
        np.testing.assert_array_equal(
            ops.conv_bias_relu_max_pool(x, w, b, **conv_kw, **pool_kw).numpy(), got[0])


ONE_CALL_CASES = [c for c in CASES if c[4].get("pool_size", 2) == 2 and "pool_strides" not in c[4]]


@pytest.mark.parametrize("case", ONE_CALL_CASES + [
    ((5, 28, 28, 1), (3, 3), 8, {}, {}),  # one chunk of 3380 rows: products in row blocks
])
@pytest.mark.parametrize("x_grad", [True, False])
@pytest.mark.parametrize("keep, parts", [(0, 1), (1 << 30, 1), (0, 2), (1 << 30, 3)])
def test_fast_chunks_match_the_reference_chunks(case, x_grad, keep, parts, rng, monkeypatch,
                                                fast_kernels):
    """float32 under a 2x2 pool: each chunk is one Numba call (the overrides of
    conv_pool_forward_chunk / conv_pool_backward_chunk, BLAS called from Numba); the same
    values as the chunks run through their NumPy references."""
    pytest.importorskip("numba")
    from shendu.kernels import blas, numba_cpu
    if blas.sgemm() is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS: the one-call chunks are off")
    rows = math.prod(case[0][1:3])  # (an upper bound of the conv outputs per sample)
    chunk = 1 if rows * case[0][0] <= tuning.GEMM_ROWS else 1 << 30
    shape, k, filters, conv_kw, pool_kw = case
    _chunk_sizes(monkeypatch, chunk, keep)
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(np.float32)
    b = (0.5 * rng.standard_normal(filters)).astype(np.float32)
    gy = rng.standard_normal(ops.conv_bias_relu_max_pool(x, w, b, **conv_kw).shape)
    gy = gy.astype(np.float32)
    assert numba_cpu._one_call_sgemm(x, w.reshape(-1, filters), pool=(2, 2),
                                     pool_strides=(2, 2)) is not None  # the one-call path

    def run():
        xt, wt, bt = Tensor(x, requires_grad=x_grad), Tensor(w, requires_grad=True), \
            Tensor(b, requires_grad=True)
        y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw)
        (y * Tensor(gy)).sum().backward()
        with shendu.no_grad():
            y_inf = ops.conv_bias_relu_max_pool(x, w, b, **conv_kw).numpy()
        return [y.numpy(), y_inf, xt.grad, wt.grad, bt.grad]

    assert conv_pool.kernel("conv_pool_forward_chunk") is numba_cpu.conv_pool_forward_chunk
    got = run()
    _reference_chunks(monkeypatch)
    want = run()
    for name, g, e in zip(["y", "y (inference)", "gx", "gW", "gb"], got, want):
        if e is None:
            assert g is None, name
        else:
            assert g.dtype == np.float32, name
            # normwise: gW sums over the batch in another order (one entry near zero
            # differed by 3e-5 on a Zen 4 machine in a gradient whose entries reach 67)
            assert_allclose_normwise(g, e, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("one_call, parts", [(True, 1), (True, 2), (False, 1), (False, 3)])
def test_fused_dropout_is_dropout_of_the_result(case, dtype, one_call, parts, rng, monkeypatch):
    """dropout_rate/dropout_seed: the same mask as ops.dropout's counter hash with that
    seed over the whole output, whatever the chunks; the same gradients."""
    shape, k, filters, conv_kw, pool_kw = case
    monkeypatch.setattr(tuning, "CONV_POOL_CHUNK_BYTES", 1)  # a chunk per sample
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)
    if not one_call:
        _reference_chunks(monkeypatch)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(dtype)
    b = (0.5 * rng.standard_normal(filters)).astype(dtype)
    seed, rate = 2 ** 62 + 12345, 0.4  # (a seed near the top: the chunk seeds wrap)

    def run(fused, gy=None):
        xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
        if fused:
            y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw, dropout_rate=rate,
                                            dropout_seed=seed)
        else:
            y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw)
            y = ops.random.CounterDropout.apply(y, seed=seed, rate=rate)
        if gy is None:
            return y.numpy()
        (y * Tensor(gy)).sum().backward()
        return [y.numpy(), xt.grad, wt.grad, bt.grad]

    want_y = run(False)
    assert (want_y == 0).mean() > 0.3 and (want_y > 0).any()
    np.testing.assert_array_equal(run(True), want_y)  # the same mask, the same values
    gy = rng.standard_normal(want_y.shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for name, g, e in zip(["y", "gx", "gW", "gb"], run(True, gy), run(False, gy)):
        assert g.dtype == dtype, name
        assert_allclose_normwise(g, e, rtol=rtol, err_msg=name)


def test_fused_dropout_checks_its_arguments():
    x, w, b = np.ones((1, 6, 6, 1), np.float32), np.ones((3, 3, 1, 2), np.float32), \
        np.zeros(2, np.float32)
    for rate, seed in [(1.0, 3), (-0.1, 3), (0.5, None)]:
        with pytest.raises(ValueError, match="dropout_rate"):
            ops.conv_bias_relu_max_pool(x, w, b, dropout_rate=rate, dropout_seed=seed)


@pytest.mark.parametrize("case", CASES)
def test_gradcheck(case, rng, monkeypatch):
    monkeypatch.setattr(tuning, "CONV_POOL_CHUNK_BYTES", 1)
    shape, k, filters, conv_kw, pool_kw = case
    x = rng.standard_normal(shape)
    w = rng.standard_normal(k + (shape[-1], filters))
    b = 0.5 * rng.standard_normal(filters)
    gradcheck(lambda x, w, b: ops.conv_bias_relu_max_pool(x, w, b, **conv_kw, **pool_kw), x, w, b)
    # with a fused dropout (its mask a fixed function of the seed)
    gradcheck(lambda x, w, b: ops.conv_bias_relu_max_pool(
        x, w, b, **conv_kw, **pool_kw, dropout_rate=0.3, dropout_seed=7), x, w, b)


def test_inference_keeps_no_graph_and_matches(rng):
    x = rng.standard_normal((5, 10, 10, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    with shendu.no_grad():
        y = ops.conv_bias_relu_max_pool(x, w, b)
    assert y._ctx is None
    assert_allclose_normwise(y.numpy(), ops.max_pool(ops.conv_bias_relu(x, w, b), 2).numpy(),
                             rtol=1e-6)


def test_same_pool_and_1d_fall_back_to_the_two_ops(rng):
    x = rng.standard_normal((2, 7, 7, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    y = ops.conv_bias_relu_max_pool(x, w, b, pool_padding="same")
    want = ops.max_pool(ops.conv_bias_relu(x, w, b), 2, padding="same")
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    x1, w1 = x[:, 0], w[0]
    np.testing.assert_array_equal(ops.conv_bias_relu_max_pool(x1, w1, b).numpy(),
                                  ops.max_pool(ops.conv_bias_relu(x1, w1, b), 2).numpy())


@pytest.mark.parametrize("n, per_sample, budget", [(128, 86528, 1 << 20), (128, 115200, 1 << 20),
                                                    (1000, 86528, 2 << 20), (3, 10, 1),
                                                    (5, 10, 1 << 30), (1, 10, 1), (7, 100, 250)])
@pytest.mark.parametrize("multiple", [1, 4])
def test_chunks_cover_the_batch_evenly(n, per_sample, budget, multiple):
    chunks = _chunking.chunks(n, per_sample, budget, multiple)
    assert [c[0] for c in chunks] == [0] + [c[1] for c in chunks[:-1]] and chunks[-1][1] == n
    sizes = [e - i for i, e in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert max(sizes) == 1 or max(sizes) * per_sample <= budget  # within the budget
    assert len(chunks) % multiple == 0 or len(chunks) == n  # every core gets as many
    few = -(-n // max(1, budget // per_sample))  # the fewest chunks within the budget
    assert few <= len(chunks) < few + multiple or len(chunks) == n
