"""max_pool, average_pool, global pooling: loop reference, gradcheck, PyTorch cross-checks."""
import itertools

import numpy as np
import pytest

import shendu.ops as ops
from shendu.autograd.tensor import Tensor
from shendu.testing import distinct, gradcheck


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def tf_pads(n, p, s, padding):
    if padding == "valid":
        return 0, 0
    total = max((-(-n // s) - 1) * s + p - n, 0)
    return total // 2, total - total // 2


def ref_pool(x, pool, strides, padding, kind):
    """Loop reference: each window's max, or mean over its real (unpadded) elements."""
    nsp = x.ndim - 2
    pool = (pool,) * nsp if isinstance(pool, int) else pool
    strides = pool if strides is None else ((strides,) * nsp if isinstance(strides, int) else strides)
    pads = [tf_pads(n, p, s, padding) for n, p, s in zip(x.shape[1:-1], pool, strides)]
    out = [(n + lo + hi - p) // s + 1 for n, p, s, (lo, hi) in zip(x.shape[1:-1], pool, strides, pads)]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for o in itertools.product(*map(range, out)):
        idx = tuple(slice(max(oi * s - lo, 0), min(oi * s - lo + p, n))
                    for oi, s, (lo, _), p, n in zip(o, strides, pads, pool, x.shape[1:-1]))
        win = x[(slice(None),) + idx + (slice(None),)].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + o] = win.max(axis=1) if kind == "max" else win.mean(axis=1)
    return y


# (x shape, pool_size, strides, padding)
POOL_CASES = [
    ((2, 7, 3), 2, None, "valid"),
    ((1, 7, 2), 3, 2, "same"),
    ((2, 5, 1), 2, 1, "same"),
    ((2, 6, 5, 2), 2, None, "valid"),
    ((1, 7, 6, 3), 3, 2, "same"),
    ((2, 5, 7, 1), (2, 3), (1, 2), "valid"),
    ((1, 5, 5, 2), 2, 1, "same"),
    ((1, 4, 5, 2), (3, 2), (2, 3), "same"),
]


@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pool_forward_matches_loop_reference(xs, p, s, pad, kind, dtype):
    x = distinct(np.random.default_rng(0), xs).astype(dtype)
    f = ops.max_pool if kind == "max" else ops.average_pool
    y = f(x, p, s, pad)
    assert y.dtype == dtype
    ref = ref_pool(x.astype(np.float64), p, s, pad, kind)
    assert y.shape == ref.shape
    assert rel_err(y.numpy(), ref) < (1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES)
def test_max_pool_gradcheck(xs, p, s, pad):
    # distinct values: no window has a tie, so the max is differentiable at the sample
    gradcheck(lambda x: ops.max_pool(x, p, s, pad), distinct(np.random.default_rng(1), xs))


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("xs,p,s,pad", [((2, 7, 9, 3), 2, 2, "valid"),
                                        ((1, 8, 7, 2), 3, 2, "same")])
def test_max_pool_of_conv_bias_relu_gradchecks(xs, p, s, pad, kernels):
    """max_pool of a ConvBiasRelu output is a plain MaxPool node (ops rewrite no graph;
    fusing the two is planned for models by shendu/fusion.py): float64 gradcheck through
    it, with a whole channel at the pooled ReLU kink."""
    from shendu import kernels as registry
    before = registry.kernels_enabled()
    registry.set_kernels_enabled(kernels)
    try:
        rng = np.random.default_rng(3)
        x, w = rng.standard_normal(xs), rng.standard_normal((3, 3, xs[-1], 4))
        b = rng.standard_normal(4)
        b[0] = -50.0  # a whole channel at 0: every max is 0, a pooled ReLU kink
        fn = lambda x, w, b: ops.max_pool(ops.conv_bias_relu(x, w, b, 1, "same"), p, s, pad)  # noqa: E731
        gradcheck(fn, x, w, b)
        y = fn(*[Tensor(a, requires_grad=True) for a in (x, w, b)])
        assert type(y._ctx).__name__ == "MaxPool"
    finally:
        registry.set_kernels_enabled(before)


def test_conv_output_used_twice_gets_both_gradients():
    """The ConvBiasRelu node stays in the graph for other uses of its output."""
    rng = np.random.default_rng(4)
    gradcheck(lambda x, w, b: ops.max_pool(ops.conv_bias_relu(x, w, b), 2).sum()
              + (ops.conv_bias_relu(x, w, b) * 0.5).sum(),
              rng.standard_normal((1, 6, 6, 2)), rng.standard_normal((3, 3, 2, 3)),
              rng.standard_normal(3))
    x, w, b = (Tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((1, 6, 6, 2), (3, 3, 2, 3), (3,)))
    a = ops.conv_bias_relu(x, w, b)
    (ops.max_pool(a, 2).sum() + (a * a).sum()).backward()
    gx = x.grad.numpy().copy()
    x2, w2, b2 = (Tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    a2 = ops.conv_bias_relu(x2, w2, b2)
    (ops.max_pool(a2 * 1, 2).sum() + (a2 * a2).sum()).backward()
    np.testing.assert_allclose(gx, x2.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES)
def test_average_pool_gradcheck(xs, p, s, pad):
    gradcheck(lambda x: ops.average_pool(x, p, s, pad), np.random.default_rng(2).standard_normal(xs))


def test_same_average_pool_divides_by_real_elements():
    y = ops.average_pool(np.arange(1.0, 6.0).reshape(1, 5, 1), 2, padding="same").numpy()
    # windows [1 2] [3 4] [5 pad]: the last averages one real element
    np.testing.assert_allclose(y[0, :, 0], [1.5, 3.5, 5.0])


def test_max_pool_tie_gives_gradient_to_first():
    x = Tensor(np.array([[[1.0], [1.0], [0.0], [0.0]]]), requires_grad=True)
    ops.max_pool(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, :, 0], [1.0, 0.0, 1.0, 0.0])


def test_aliases_and_default_strides():
    x = np.random.default_rng(3).standard_normal((1, 6, 6, 2))
    assert ops.max_pool2d(x, 3).shape == (1, 2, 2, 2)
    assert ops.avg_pool2d(x, (2, 3)).shape == (1, 3, 2, 2)
    assert ops.max_pool1d(x[:, 0], 2).shape == (1, 3, 2)


def test_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool.*larger than the padded input"):
        ops.max_pool(np.zeros((1, 2, 2, 1)), 3)
    with pytest.raises(ValueError, match=r"average_pool.*rank"):
        ops.average_pool(np.zeros((4, 4)), 2)


def test_global_pooling():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(ops.global_average_pool(x).numpy(), x.mean(axis=(1, 2)))
    np.testing.assert_allclose(ops.global_max_pool(x, keepdims=True).numpy(),
                               x.max(axis=(1, 2), keepdims=True))
    assert ops.global_average_pool(x[:, 0]).shape == (2, 5)
    gradcheck(lambda x: ops.global_average_pool(x), rng.standard_normal((2, 3, 2)))
    gradcheck(lambda x: ops.global_max_pool(x), distinct(rng, (1, 3, 2, 2)))


# --- PyTorch cross-checks ---------------------------------------------------------


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: cross-checks skipped")


def _torch_pad(torch, tx, pads, value):
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return torch.nn.functional.pad(tx, flat, value=value)


@pytest.mark.torch
@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES + [((4, 16, 16, 8), 3, 2, "valid")])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_matches_torch(xs, p, s, pad, kind):
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x = distinct(rng, xs).astype(np.float32)
    xt = Tensor(x, requires_grad=True)
    y = (ops.max_pool if kind == "max" else ops.average_pool)(xt, p, s, pad)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(Tensor(gy))

    nsp = x.ndim - 2
    pool = (p,) * nsp if isinstance(p, int) else p
    st = pool if s is None else ((s,) * nsp if isinstance(s, int) else s)
    pads = [tf_pads(n, pi, si, pad) for n, pi, si in zip(xs[1:-1], pool, st)]
    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=True)
    if kind == "max":
        # torch pads symmetrically; TF's 'same' puts the odd one at the end: pad by hand
        mp = {1: F.max_pool1d, 2: F.max_pool2d}[nsp]
        ty = mp(_torch_pad(torch, tx, pads, float("-inf")), pool, st)
    else:
        # TF averages over real elements only: sum over the zero-padded window / count
        ap = {1: F.avg_pool1d, 2: F.avg_pool2d}[nsp]
        ones = torch.ones((1, 1) + tuple(xs[1:-1]), dtype=torch.float32)
        ty = ap(_torch_pad(torch, tx, pads, 0.0), pool, st) / ap(_torch_pad(torch, ones, pads, 0.0), pool, st)
    ty.backward(torch.tensor(np.moveaxis(gy, -1, 1)))
    assert rel_err(y.numpy(), np.moveaxis(ty.detach().numpy(), 1, -1)) <= 1e-5
    assert rel_err(xt.grad.numpy(), np.moveaxis(tx.grad.numpy(), 1, -1)) <= 1e-5
