"""The engine's contract: accumulation, broadcasting, graph freeing, no_grad, dtypes, errors."""
import subprocess
import sys

import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import gradcheck


def test_gradient_accumulates_over_shared_uses():
    x = shendu.tensor([2.0, -1.0], requires_grad=True)
    y = x * x + 3 * x + x  # dy/dx = 2x + 4
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 2.0])


def test_grad_accumulates_across_backward_calls_until_reset():
    w = shendu.tensor([1.0], requires_grad=True)
    (w * 2).sum().backward()
    (w * 5).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [7.0])
    w.zero_grad()
    assert w.grad is None


def test_broadcast_gradient_is_summed_back():
    a = shendu.tensor(np.ones((3, 1), np.float32), requires_grad=True)
    b = shendu.tensor(np.ones((4,), np.float32), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((4,), 3.0))


def test_backward_twice_without_retain_graph_raises():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (shendu.tensor([1.0]) * 2).sum().backward()


def test_nonscalar_backward_needs_seed():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="explicit"):
        y.backward()
    y.backward(shendu.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 30.0])


def test_no_grad_records_nothing_and_restores():
    x = shendu.tensor([1.0], requires_grad=True)
    with shendu.no_grad():
        y = x * 2
        assert not shendu.is_grad_enabled()
    assert shendu.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None

    @shendu.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = shendu.tensor([3.0], requires_grad=True)
    y = x * x.detach()  # d/dx = x (the detached factor is a constant)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_deep_chain_does_not_hit_recursion_limit():
    x = shendu.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-3)


def test_graph_is_freed_after_backward():
    x = shendu.tensor(np.ones(10), requires_grad=True)
    y = (x.exp()).sum()
    node = y._ctx
    y.backward()
    assert node.released and node.saved == () and node.inputs == ()


def test_tensor_dtype_rules():
    assert shendu.tensor([1.0, 2.0]).dtype == np.float32
    assert shendu.tensor(np.zeros(2)).dtype == np.float64
    assert shendu.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert shendu.tensor([1, 2]).dtype.kind == "i"
    x = shendu.tensor(np.ones(3, np.float32))
    for y in (x * 2.0, x + 1, 2.0 / x, x ** 2, -x, x - 0.5):
        assert y.dtype == np.float32
    assert (shendu.tensor([1, 2]) / shendu.tensor([2, 2])).dtype == np.float32


def test_cast_backward_returns_input_dtype():
    x = shendu.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ops.cast(x, "float32")
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_comparisons_give_bool_tensors_without_grad():
    x = shendu.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == bool and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), [False, True, True])


def test_item_array_and_repr():
    x = shendu.tensor([[1.5]])
    assert x.item() == 1.5
    assert np.asarray(x).shape == (1, 1)
    assert "tensor(" in repr(x)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="float"):
        shendu.tensor([1, 2], requires_grad=True)


def test_constructors_are_seedable():
    a = shendu.randn(2, 3, generator=shendu.Generator(7))
    b = shendu.randn((2, 3), generator=shendu.Generator(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    assert shendu.zeros((2,)).dtype == np.float32
    assert shendu.arange(5).dtype.kind == "i"
    assert shendu.full((2,), 3.0).numpy().tolist() == [3.0, 3.0]
    assert shendu.rand(3, seed=1).numpy().max() < 1


@pytest.mark.parametrize("op, a, b", [
    (ops.add, (2, 3), (4,)),
    (ops.multiply, (2, 3), (3, 2)),
    (ops.matmul, (2, 3), (4, 5)),
    (ops.matmul, (5, 2, 3), (4, 3, 2)),
])
def test_shape_errors_name_op_and_shapes(op, a, b):
    with pytest.raises(ValueError) as e:
        op(shendu.zeros(a), shendu.zeros(b))
    msg = str(e.value)
    assert op.__name__ in msg and str(a) in msg and str(b) in msg


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(shendu.Function):
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        def backward(ctx, gy):
            x, = ctx.saved
            return gy * x  # wrong: should be 2 x gy

    with pytest.raises(AssertionError, match="gradcheck failed"):
        gradcheck(lambda x: BadSquare.apply(x), np.random.default_rng(0).standard_normal(4))


def test_gradcheck_reports_errors_per_input():
    errs = gradcheck(lambda a, b: (a * b).sum(), np.ones(3), np.full(3, 2.0))
    assert len(errs) == 2 and max(errs) < 1e-8


def test_import_is_light():
    code = "import sys, shendu; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "import shendu must not import numba"


# ---- engine.grad: gradients returned, not accumulated ------------------------------------------
def test_grad_returns_leaf_and_intermediate_gradients_without_touching_dot_grad():
    from shendu.autograd.engine import grad
    rng = np.random.default_rng(0)
    w = shendu.Variable(rng.normal(size=(3, 2)))
    w.grad = shendu.tensor(np.full((3, 2), 7.0))  # a training step's gradient, must survive
    x = shendu.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    h = ops.tanh(x @ w)
    y = (h * h).sum()
    gx, gh = grad(y, [x, h])
    hv = np.tanh(x.numpy() @ w.numpy())
    np.testing.assert_allclose(gh.numpy(), 2 * hv, rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), (2 * hv * (1 - hv ** 2)) @ w.numpy().T, rtol=1e-12)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 7.0))
    assert x.grad is None and gx.requires_grad is False


def test_grad_matches_backward_and_finite_differences_on_a_shared_use():
    from shendu.autograd.engine import grad
    x0 = np.random.default_rng(1).normal(size=(5,))
    f = lambda t: ops.sin(t) * t + t * 3.0  # noqa: E731  (t used twice: contributions add)
    x = shendu.tensor(x0, requires_grad=True)
    seed = np.arange(5.0)
    g, = grad(f(x), [x], grad=seed)
    f(x).backward(seed)
    np.testing.assert_allclose(g.numpy(), x.grad.numpy(), rtol=1e-12)
    eps = 1e-6
    numeric = (f(shendu.tensor(x0 + eps)).numpy() - f(shendu.tensor(x0 - eps)).numpy()) / (2 * eps)
    np.testing.assert_allclose(g.numpy(), seed * numeric, rtol=1e-6, atol=1e-8)


def test_grad_gives_zeros_for_an_unused_tensor_and_keeps_the_graph_on_request():
    from shendu.autograd.engine import grad
    a = shendu.tensor([1.0, 2.0], requires_grad=True)
    b = shendu.tensor([3.0], requires_grad=True)
    y = (a * 2.0).sum()
    ga, gb = grad(y, [a, b], retain_graph=True)
    np.testing.assert_array_equal(gb.numpy(), [0.0])
    ga2, = grad(y, [a])  # the graph is still there
    np.testing.assert_array_equal(ga2.numpy(), ga.numpy())
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, [a])
    with pytest.raises(RuntimeError, match="seed gradient"):
        grad(a * 2.0, [a])
