"""batch_norm, layer_norm, batch_normalization: NumPy reference, gradcheck, PyTorch."""
import numpy as np
import pytest

import shendu.ops as ops
from shendu.autograd.tensor import Tensor
from shendu.kernels import tuning
from shendu.testing import gradcheck


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def ref_norm(x, gamma, beta, axes, eps, pshape):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * gamma.reshape(pshape) + beta.reshape(pshape)


# (x shape, feature axis)
BN_CASES = [((5, 3), -1), ((1, 3, 4, 2), -1), ((3, 2, 5), 1), ((2, 3, 3, 4), (1, 3))]


def _pshape(shape, keep):
    keep = [k % len(shape) for k in ((keep,) if isinstance(keep, int) else keep)]
    return tuple(n if i in keep else 1 for i, n in enumerate(shape)), keep


@pytest.mark.parametrize("xs,axis", BN_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_forward_and_stats(xs, axis, dtype):
    rng = np.random.default_rng(0)
    pshape, keep = _pshape(xs, axis)
    cshape = tuple(xs[k] for k in keep)
    x = (rng.standard_normal(xs) * 3 + 1).astype(dtype)
    g, b = rng.standard_normal(cshape).astype(dtype), rng.standard_normal(cshape).astype(dtype)
    y, mean, var = ops.batch_norm(x, g, b, axis=axis)
    assert y.dtype == mean.dtype == var.dtype == dtype
    axes = tuple(i for i in range(len(xs)) if i not in keep)
    x64 = x.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert rel_err(y.numpy(), ref_norm(x64, g, b, axes, 1e-3, pshape)) < tol
    assert mean.shape == var.shape == cshape
    assert rel_err(mean.numpy(), x64.mean(axis=axes).reshape(cshape)) < tol
    assert rel_err(var.numpy(), x64.var(axis=axes).reshape(cshape)) < tol
    assert not mean.requires_grad


@pytest.mark.parametrize("xs,axis", BN_CASES)
def test_batch_norm_gradcheck(xs, axis):
    rng = np.random.default_rng(1)
    _, keep = _pshape(xs, axis)
    cshape = tuple(xs[k] for k in keep)
    gradcheck(lambda x, g, b: ops.batch_norm(x, g, b, axis=axis)[0],
              rng.standard_normal(xs), rng.standard_normal(cshape), rng.standard_normal(cshape))


@pytest.mark.parametrize("shape", [(5, 3), (4, 6, 5, 3), (2, 300, 7)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("parts", [1, 2, 3])
def test_channels_last_batch_norm_matches_the_general_path(shape, dtype, parts, monkeypatch):
    """Statistics over every axis but the last go through the bn_* kernels in row blocks
    (shared by threads): the same y, statistics and gradients as the general path."""
    import importlib
    norm = importlib.import_module("shendu.ops.normalization")
    monkeypatch.setattr(tuning, "BN_BLOCK_BYTES", 16)  # several row blocks
    monkeypatch.setattr(norm, "split_parallelism", lambda: parts)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 2 + 50).astype(dtype)  # a mean far from 0
    g, b = (rng.standard_normal(shape[-1]).astype(dtype) for _ in range(2))
    gy = rng.standard_normal(shape).astype(dtype)

    def run():
        ts = [Tensor(a, requires_grad=True) for a in (x, g, b)]
        y, mean, var = ops.batch_norm(*ts, axis=-1)
        rows = y._ctx.rows  # (before backward releases the node)
        (y * Tensor(gy)).sum().backward()
        return rows, [y.numpy(), mean.numpy(), var.numpy()] + [t.grad for t in ts]

    rows, fast = run()
    assert rows is not None and len(rows) > 1  # the kernels, in several row blocks
    with monkeypatch.context() as m:
        m.setattr(norm.BatchNorm, "forward", _general_forward(norm))
        rows, want = run()
    assert rows is None
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    for name, f, w in zip(["y", "mean", "var", "gx", "ggamma", "gbeta"], fast, want):
        assert f.dtype == dtype, name
        np.testing.assert_allclose(f, w, err_msg=name, **tol)


def test_small_channels_last_batch_norm_is_one_block(monkeypatch):
    """A Dense layer's batch (<= BN_BLOCK_BYTES) is one block: no thread to wake."""
    import importlib
    norm = importlib.import_module("shendu.ops.normalization")
    monkeypatch.setattr(norm, "split_parallelism", lambda: 2)
    x = Tensor(np.random.default_rng(0).standard_normal((128, 64)).astype(np.float32),
               requires_grad=True)
    assert ops.batch_norm(x, None, None)[0]._ctx.rows == [(0, 128)]
    big = Tensor(np.zeros((128, 32, 32, 8), np.float32), requires_grad=True)
    assert len(ops.batch_norm(big, None, None)[0]._ctx.rows) % tuning.CHUNKS_MULTIPLE == 0


def _general_forward(norm):
    """BatchNorm.forward forced onto the general (any axes) path."""
    def forward(ctx, x, gamma, beta, axes, param_shape, epsilon, stats):
        ctx.rows = None
        xhat, inv, mean, var = norm._normalize_fused(x, axes, epsilon)
        gamma_b = gamma.reshape(param_shape)
        ctx.save_for_backward(xhat, inv, gamma_b)
        ctx.axes, ctx.gamma_shape = axes, gamma.shape
        stats["mean"], stats["var"] = mean.reshape(gamma.shape), var.reshape(gamma.shape)
        return xhat * gamma_b + beta.reshape(param_shape)
    return forward


def test_channels_last_batch_norm_gradcheck(monkeypatch):
    import importlib
    norm = importlib.import_module("shendu.ops.normalization")
    monkeypatch.setattr(tuning, "BN_BLOCK_BYTES", 64)
    monkeypatch.setattr(norm, "split_parallelism", lambda: 2)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5)) + 5
    g, b = rng.standard_normal(5), rng.standard_normal(5)
    gradcheck(lambda a, c, d: ops.batch_norm(a, c, d, axis=-1)[0], x, g, b)


def test_batch_norm_without_scale_and_offset():
    x = np.random.default_rng(2).standard_normal((4, 3))
    y, _, _ = ops.batch_norm(x, None, None)
    np.testing.assert_allclose(y.numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3))
    gradcheck(lambda x: ops.batch_norm(x, None, None)[0], x)


def test_batch_norm_inference_uses_moving_statistics():
    rng = np.random.default_rng(3)
    x, g, b = rng.standard_normal((4, 2, 3)), rng.standard_normal(3), rng.standard_normal(3)
    mm, mv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    y, m, v = ops.batch_norm(x, g, b, training=False, moving_mean=mm, moving_var=mv)
    np.testing.assert_allclose(y.numpy(), (x - mm) / np.sqrt(mv + 1e-3) * g + b)
    assert m is mm and v is mv
    gradcheck(lambda x, g, b: ops.batch_norm(x, g, b, training=False, moving_mean=mm,
                                             moving_var=mv)[0], x, g, b)
    with pytest.raises(ValueError, match="moving_mean"):
        ops.batch_norm(x, g, b, training=False)


# (x shape, normalized axes)
LN_CASES = [((4, 5), -1), ((2, 3, 4), -1), ((2, 3, 2, 3), (-2, -1)), ((3, 4, 2), (1, 2)), ((1, 7), -1)]


@pytest.mark.parametrize("xs,axis", LN_CASES)
def test_layer_norm_forward_and_gradcheck(xs, axis):
    rng = np.random.default_rng(4)
    pshape, keep = _pshape(xs, axis)
    shape = tuple(xs[k] for k in keep)
    x, g, b = rng.standard_normal(xs) * 2, rng.standard_normal(shape), rng.standard_normal(shape)
    y = ops.layer_norm(x, g, b, axis=axis)
    assert rel_err(y.numpy(), ref_norm(x, g, b, tuple(keep), 1e-3, pshape)) < 1e-12
    assert ops.layer_norm(x.astype(np.float32), g.astype(np.float32), b.astype(np.float32),
                          axis=axis).dtype == np.float32
    gradcheck(lambda x, g, b: ops.layer_norm(x, g, b, axis=axis), x, g, b)


def test_batch_normalization_composite():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 2))
    mean, var, off, sc = rng.standard_normal(4), rng.uniform(0.5, 2, 4), rng.standard_normal(4), \
        rng.standard_normal(4)
    y = ops.batch_normalization(x, mean, var, axis=1, offset=off, scale=sc, epsilon=1e-2)
    ref = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-2) * sc[:, None] + off[:, None]
    assert rel_err(y.numpy(), ref) < 1e-12
    assert ops.batch_normalization(x.astype(np.float32), mean, var, axis=1).dtype == np.float32
    gradcheck(lambda x, m, v, o, s: ops.batch_normalization(x, m, v, 1, o, s), x, mean, var, off, sc)


def test_normalization_shape_errors():
    with pytest.raises(ValueError, match=r"batch_norm: gamma"):
        ops.batch_norm(np.zeros((2, 3)), np.ones(4), np.zeros(3))
    with pytest.raises(ValueError, match=r"layer_norm: beta"):
        ops.layer_norm(np.zeros((2, 3)), np.ones(3), np.zeros(2))


# --- PyTorch cross-checks ---------------------------------------------------------


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: cross-checks skipped")


@pytest.mark.torch
@pytest.mark.parametrize("xs", [(8, 5), (4, 3, 5, 6), (1, 6, 6, 3)])
def test_batch_norm_matches_torch(xs):
    torch = _torch()
    rng = np.random.default_rng(6)
    C = xs[-1]
    x = (rng.standard_normal(xs) * 2 + 0.5).astype(np.float32)
    g, b = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    mm, mv = rng.standard_normal(C).astype(np.float32), rng.uniform(0.5, 2, C).astype(np.float32)
    xt, gt, bt = (Tensor(a, requires_grad=True) for a in (x, g, b))
    y, mean, var = ops.batch_norm(xt, gt, bt, epsilon=1e-3)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(Tensor(gy))

    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)
    tg, tb = torch.tensor(g, requires_grad=True), torch.tensor(b, requires_grad=True)
    rm, rv = torch.tensor(mm), torch.tensor(mv)
    ty = torch.nn.functional.batch_norm(tx, rm, rv, tg, tb, training=True, momentum=0.01, eps=1e-3)
    ty.backward(torch.tensor(np.moveaxis(gy, -1, 1)))
    assert rel_err(y.numpy(), np.moveaxis(ty.detach().numpy(), 1, -1)) <= 1e-5
    assert rel_err(xt.grad.numpy(), np.moveaxis(tx.grad.numpy(), 1, -1)) <= 1e-5
    assert rel_err(gt.grad.numpy(), tg.grad.numpy()) <= 1e-5
    assert rel_err(bt.grad.numpy(), tb.grad.numpy()) <= 1e-5
    # Moving statistics, Keras's rule with momentum 0.99 = PyTorch's with momentum 0.01;
    # PyTorch keeps the unbiased variance, so correct ours by m / (m - 1).
    m = x.size // C
    new_mean = 0.99 * mm + 0.01 * mean.numpy()
    new_var = 0.99 * mv + 0.01 * var.numpy() * (m / (m - 1))
    assert rel_err(new_mean, rm.numpy()) <= 1e-5
    assert rel_err(new_var, rv.numpy()) <= 1e-5


@pytest.mark.torch
@pytest.mark.parametrize("xs,nd", [((4, 7), 1), ((2, 5, 8), 1), ((2, 3, 4, 5), 2)])
def test_layer_norm_matches_torch(xs, nd):
    torch = _torch()
    rng = np.random.default_rng(7)
    shape = xs[-nd:]
    x = (rng.standard_normal(xs) * 2 + 0.5).astype(np.float32)
    g, b = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    xt, gt, bt = (Tensor(a, requires_grad=True) for a in (x, g, b))
    y = ops.layer_norm(xt, gt, bt, axis=tuple(range(-nd, 0)), epsilon=1e-3)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(Tensor(gy))
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    ty = torch.nn.functional.layer_norm(tx, shape, tg, tb, eps=1e-3)
    ty.backward(torch.tensor(gy))
    for ours, theirs in ((y.numpy(), ty.detach()), (xt.grad, tx.grad), (gt.grad, tg.grad),
                         (bt.grad, tb.grad)):
        assert rel_err(np.asarray(ours), theirs.numpy()) <= 1e-5
