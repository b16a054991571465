"""Fused loss ops: gradients, NumPy reference values, stability, errors, PyTorch parity."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import gradcheck

RNG = np.random.default_rng(7)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _data():
    z = RNG.standard_normal((3, 4))
    dist = RNG.dirichlet(np.ones(4), 3)
    labels = np.array([0, 3, 1])
    probs = RNG.uniform(0.05, 0.95, (3, 4))
    return z, dist, labels, probs


# ---- gradients -----------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    "softmax_dense", "softmax_sparse", "softmax_axis0", "softmax_3d_sparse", "sigmoid_bce",
    "bce", "cce_dense", "cce_sparse", "mse", "mae", "huber", "huber_small_delta",
])
def test_gradcheck(case):
    z, dist, labels, probs = _data()
    t01 = RNG.uniform(size=(3, 4))
    y = RNG.standard_normal((3, 4)) * 2
    cases = {
        "softmax_dense": (lambda a, b: ops.softmax_cross_entropy(a, b), z, dist),
        "softmax_sparse": (lambda a: ops.softmax_cross_entropy(a, labels), z),
        "softmax_axis0": (lambda a, b: ops.softmax_cross_entropy(a, b, axis=0), z, dist),
        "softmax_3d_sparse": (lambda a: ops.softmax_cross_entropy(a, np.array([[0, 2], [1, 1]]),
                                                                  axis=1),
                              RNG.standard_normal((2, 3, 2))),
        "sigmoid_bce": (lambda a, b: ops.sigmoid_binary_cross_entropy(a, b), z, t01),
        "bce": (lambda a, b: ops.binary_cross_entropy(a, b), probs, t01),
        "cce_dense": (lambda a, b: ops.categorical_cross_entropy(a, b), probs, dist),
        "cce_sparse": (lambda a: ops.categorical_cross_entropy(a, labels), probs),
        "mse": (lambda a, b: ops.mean_squared_error(a, b), y, z),
        "mae": (lambda a, b: ops.mean_absolute_error(a, b), y, z),
        "huber": (lambda a, b: ops.huber(a, b), y, z),
        "huber_small_delta": (lambda a, b: ops.huber(a, b, delta=0.3), y, z),
    }
    fn, *inputs = cases[case]
    errors = gradcheck(fn, *inputs, atol=1e-7, rtol=1e-6)
    assert max(e for e in errors if e is not None) < 1e-6


# ---- values against NumPy formulas ------------------------------------------------------

def test_forward_values():
    z, dist, labels, probs = _data()
    t01 = RNG.uniform(size=(3, 4))
    logp = np.log(_softmax(z))
    np.testing.assert_allclose(ops.softmax_cross_entropy(z, dist).numpy(), -(dist * logp).sum(-1))
    np.testing.assert_allclose(ops.softmax_cross_entropy(z, labels).numpy(),
                               -logp[np.arange(3), labels])
    np.testing.assert_allclose(ops.softmax_cross_entropy(z.T, dist.T, axis=0).numpy(),
                               -(dist * logp).sum(-1))
    s = 1 / (1 + np.exp(-z))
    bce = -(t01 * np.log(s) + (1 - t01) * np.log(1 - s))
    np.testing.assert_allclose(ops.sigmoid_binary_cross_entropy(z, t01).numpy(), bce.mean(-1))
    bce_p = -(t01 * np.log(probs) + (1 - t01) * np.log(1 - probs))
    np.testing.assert_allclose(ops.binary_cross_entropy(probs, t01).numpy(), bce_p.mean(-1))
    q = probs / probs.sum(-1, keepdims=True)
    np.testing.assert_allclose(ops.categorical_cross_entropy(probs, dist).numpy(),
                               -(dist * np.log(q)).sum(-1))
    np.testing.assert_allclose(ops.categorical_cross_entropy(probs, labels).numpy(),
                               -np.log(q[np.arange(3), labels]))
    e = probs - dist
    np.testing.assert_allclose(ops.mean_squared_error(dist, probs).numpy(), (e * e).mean(-1))
    np.testing.assert_allclose(ops.mean_absolute_error(dist, probs).numpy(), np.abs(e).mean(-1))
    big = 3 * e
    hub = np.where(np.abs(big) <= 0.5, 0.5 * big ** 2, 0.5 * np.abs(big) - 0.125)
    np.testing.assert_allclose(ops.huber(dist, dist + big, delta=0.5).numpy(), hub.mean(-1))


def test_probability_clipping_as_keras():
    eps = 1e-7
    p = np.array([[0.0, 1.0, 0.5]])
    t = np.array([[1.0, 0.0, 1.0]])
    c = np.clip(p, eps, 1 - eps)
    expected = -(t * np.log(c) + (1 - t) * np.log(1 - c)).mean(-1)
    np.testing.assert_allclose(ops.binary_cross_entropy(p, t).numpy(), expected)
    # categorical: normalised then clipped; a zero probability on the true class stays finite
    loss = ops.categorical_cross_entropy(np.array([[0.0, 2.0]]), np.array([0])).numpy()
    np.testing.assert_allclose(loss, [-np.log(eps)])


def test_zero_d_and_empty():
    assert ops.mean_squared_error(np.float64(1.0), np.float64(3.0)).numpy() == 4.0
    out = ops.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, np.int64))
    assert out.shape == (0,)


def test_dtypes_kept():
    z = np.zeros((2, 3), np.float32)
    assert ops.softmax_cross_entropy(z, np.array([0, 1])).dtype == np.float32
    assert ops.softmax_cross_entropy(z, np.full((2, 3), 1 / 3)).dtype == np.float32  # f64 target
    assert ops.mean_squared_error(np.array([[1, 2, 3]]), z[:1]).dtype == np.float32  # int target


# ---- stability --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype)
    cases = [
        (lambda a: ops.softmax_cross_entropy(a, np.array([1, 0])), 2000.0),
        (lambda a: ops.softmax_cross_entropy(a, np.array([[0, 1, 0], [0.5, 0, 0.5]], dtype)), None),
        (lambda a: ops.sigmoid_binary_cross_entropy(a, np.array([[0, 1, 1], [1, 0, 0]], dtype)),
         None),
    ]
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        for fn, expect in cases:
            x = shendu.tensor(z, requires_grad=True)
            loss = fn(x)
            assert np.all(np.isfinite(loss.numpy()))
            loss.sum().backward()
            assert np.all(np.isfinite(x.grad.numpy()))
            if expect is not None:
                assert loss.numpy()[0] == pytest.approx(expect, rel=1e-6)
    # and the probability forms on saturated probabilities from a softmax / sigmoid
    p = ops.softmax(shendu.tensor(z, requires_grad=True))
    loss = ops.categorical_cross_entropy(p, np.array([1, 0]))
    assert np.all(np.isfinite(loss.numpy()))
    loss.sum().backward()
    s = ops.sigmoid(shendu.tensor(z, requires_grad=True))
    loss = ops.binary_cross_entropy(s, np.array([[0, 1, 1], [1, 0, 0]], dtype))
    assert np.all(np.isfinite(loss.numpy()))


# ---- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("fn,name", [
    (lambda: ops.softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 4))),
     "softmax_cross_entropy"),
    (lambda: ops.sigmoid_binary_cross_entropy(np.zeros((2, 3)), np.zeros((3, 2))),
     "sigmoid_binary_cross_entropy"),
    (lambda: ops.binary_cross_entropy(np.zeros((2, 3)), np.zeros((2, 1))), "binary_cross_entropy"),
    (lambda: ops.categorical_cross_entropy(np.ones((2, 3)), np.zeros((2, 4))),
     "categorical_cross_entropy"),
    (lambda: ops.mean_squared_error(np.zeros((2, 4)), np.zeros((2, 3))), "mean_squared_error"),
    (lambda: ops.mean_absolute_error(np.zeros((2, 4)), np.zeros((2, 3))), "mean_absolute_error"),
    (lambda: ops.huber(np.zeros((2, 4)), np.zeros((2, 3))), "huber"),
])
def test_shape_mismatch_names_op_and_shapes(fn, name):
    with pytest.raises(ValueError) as e:
        fn()
    msg = str(e.value)
    assert name in msg and "(2, 3)" in msg


def test_bad_labels():
    with pytest.raises(ValueError, match=r"label 5 .*\[0, 3\).*3 classes"):
        ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"label -1 .*3 classes"):
        ops.categorical_cross_entropy(np.ones((2, 3)), np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\(3,\)"):
        ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


# ---- PyTorch parity (float32) --------------------------------------------------------------

def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64))
                 / max(np.linalg.norm(np.asarray(b, np.float64)), 1e-30))


def _both(our_fn, torch_fn, *arrays, grad_of=(0,)):
    """Forward and backward of ours and torch's in float32; the worst normwise error."""
    torch = pytest.importorskip("torch", reason="PyTorch cross-checks need torch")
    ours = [shendu.tensor(a, requires_grad=(i in grad_of and a.dtype.kind == "f"))
            for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=(i in grad_of and a.dtype.kind == "f"))
              for i, a in enumerate(arrays)]
    yo, yt = our_fn(*ours), torch_fn(*theirs)
    assert yo.dtype == np.float32
    gy = RNG.standard_normal(yo.shape).astype(np.float32)
    yo.backward(shendu.tensor(gy))
    yt.backward(torch.tensor(gy))
    errs = [_rel(yo.numpy(), yt.detach().numpy())]
    errs += [_rel(ours[i].grad.numpy(), theirs[i].grad.numpy()) for i in grad_of]
    return max(errs)


@pytest.mark.torch
def test_torch_cross_entropy_indices_and_probabilities():
    torch = pytest.importorskip("torch", reason="PyTorch cross-checks need torch")
    F = torch.nn.functional
    z = (RNG.standard_normal((16, 10)) * 3).astype(np.float32)
    k = RNG.integers(0, 10, 16)
    t = RNG.dirichlet(np.ones(10), 16).astype(np.float32)
    assert _both(ops.softmax_cross_entropy, lambda a, b: F.cross_entropy(a, b, reduction="none"),
                 z, k) <= 1e-5
    assert _both(ops.softmax_cross_entropy, lambda a, b: F.cross_entropy(a, b, reduction="none"),
                 z, t, grad_of=(0, 1)) <= 1e-5
    # class axis 1 of a (N, C, L) tensor, as torch lays it out
    z3 = RNG.standard_normal((4, 5, 6)).astype(np.float32)
    k3 = RNG.integers(0, 5, (4, 6))
    assert _both(lambda a, b: ops.softmax_cross_entropy(a, b, axis=1),
                 lambda a, b: F.cross_entropy(a, b, reduction="none"), z3, k3) <= 1e-5


@pytest.mark.torch
def test_torch_binary_cross_entropies():
    torch = pytest.importorskip("torch", reason="PyTorch cross-checks need torch")
    F = torch.nn.functional
    z = (RNG.standard_normal((16, 5)) * 3).astype(np.float32)
    t = RNG.uniform(size=(16, 5)).astype(np.float32)
    p = RNG.uniform(0.02, 0.98, (16, 5)).astype(np.float32)
    assert _both(ops.sigmoid_binary_cross_entropy,
                 lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none").mean(-1),
                 z, t, grad_of=(0, 1)) <= 1e-5
    assert _both(ops.binary_cross_entropy,
                 lambda a, b: F.binary_cross_entropy(a, b, reduction="none").mean(-1),
                 p, t) <= 1e-5


@pytest.mark.torch
def test_torch_regression_losses():
    torch = pytest.importorskip("torch", reason="PyTorch cross-checks need torch")
    F = torch.nn.functional
    y = RNG.standard_normal((16, 7)).astype(np.float32)
    p = (y + RNG.standard_normal((16, 7)) * 2).astype(np.float32)
    for ours, theirs in [
        (ops.mean_squared_error, lambda a, b: F.mse_loss(b, a, reduction="none").mean(-1)),
        (ops.mean_absolute_error, lambda a, b: F.l1_loss(b, a, reduction="none").mean(-1)),
        (ops.huber, lambda a, b: F.huber_loss(b, a, reduction="none").mean(-1)),
        (lambda a, b: ops.huber(a, b, delta=2.5),
         lambda a, b: F.huber_loss(b, a, reduction="none", delta=2.5).mean(-1)),
    ]:
        assert _both(ours, theirs, y, p, grad_of=(0, 1)) <= 1e-5
