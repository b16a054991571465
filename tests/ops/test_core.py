"""keras.ops core: conversion, stop_gradient, custom_gradient, scatters and slices, control flow."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, gradcheck, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _scatter_ref(values):
    out = np.zeros((3, 2), values.dtype)
    np.add.at(out, (np.array([0, 2, 0]), np.array([1, 0, 1])), values)
    return out


def _scatter_update_ref(x, u):
    y = x.copy()
    y[[2, 0]] = u
    return y


def _slice_update_ref(x, u):
    y = x.copy()
    y[1:3, 2:4] = u
    return y


SPECS = [
    OpSpec("scatter_repeats_add", lambda v: ops.scatter(np.array([[0, 1], [2, 0], [0, 1]]), v, (3, 2)),
           lambda r: [(_n(r, 3),)], _scatter_ref),
    OpSpec("scatter_update_rows", lambda x, u: ops.scatter_update(x, np.array([[2], [0]]), u),
           lambda r: [(_n(r, 4, 3), _n(r, 2, 3))], _scatter_update_ref),
    OpSpec("slice", lambda x: ops.slice(x, (1, 2), (2, 2)), lambda r: [(_n(r, 3, 5),)],
           lambda x: x[1:3, 2:4]),
    OpSpec("slice_update", lambda x, u: ops.slice_update(x, (1, 2), u), lambda r: [(_n(r, 3, 5), _n(r, 2, 2))],
           _slice_update_ref),
    OpSpec("unstack", lambda x: ops.unstack(x, axis=1)[1], lambda r: [(_n(r, 2, 3),)], lambda x: x[:, 1]),
    OpSpec("select", lambda a, b: ops.select([a.data > 0.5, a.data < -0.5], [a, b], 7.0),
           lambda r: [(_n(r, 3, 4), _n(r, 3, 4))],
           lambda a, b: np.select([a > 0.5, a < -0.5], [a, b], 7.0)),
    OpSpec("copy", ops.copy, lambda r: [(_n(r, 2, 3),)], np.copy),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_conversion_and_facts():
    x = shendu.tensor(np.arange(6.0).reshape(2, 3))
    a = ops.convert_to_numpy(x)
    a[0, 0] = 100.0  # a copy: the tensor must not change
    assert x.numpy()[0, 0] == 0
    assert ops.dtype(x) == "float64" and ops.ndim(x) == 2 and ops.size(x) == 6 and ops.shape(x) == (2, 3)
    assert ops.is_tensor(x) and not ops.is_tensor(a)
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    with pytest.raises(ValueError, match="sparse=True"):
        ops.convert_to_tensor(a, sparse=True)
    assert ops.empty((2,)).dtype == np.float32 and ops.identity(2).tolist() == [[1, 0], [0, 1]]
    rows, cols = ops.unravel_index(np.array([5, 1]), (2, 3))
    assert rows.tolist() == [1, 0] and cols.tolist() == [2, 1]


def test_saturate_cast_clips_to_the_target_range():
    y = ops.saturate_cast(np.array([-300.0, 12.7, 300.0]), "uint8")
    assert y.dtype == np.uint8 and y.tolist() == [0, 12, 255]
    assert ops.saturate_cast(np.array([1e10], np.float32), "int32").tolist() == [2147483520]


def test_stop_gradient_blocks_the_gradient():
    x = shendu.tensor([3.0], requires_grad=True)
    (x * ops.stop_gradient(x * x)).sum().backward()
    assert x.grad.tolist() == [9.0]


def test_custom_gradient_uses_the_given_rule():
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                upstream, = args
            return upstream * (1.0 - 1.0 / (1 + e))
        return ops.log(1 + e), grad

    x = np.array([-2.0, 0.5, 100.0])
    t = shendu.tensor(x, requires_grad=True)
    y = log1pexp(t)
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 1 / (1 + np.exp(-x)))
    gradcheck(log1pexp, x[:2])


def test_custom_gradient_positional_grad_fn_and_two_inputs():
    @ops.custom_gradient
    def scaled(a, b):
        return a * b, lambda g: (g * 10.0, None)
    a, b = shendu.tensor([1.0], requires_grad=True), shendu.tensor([2.0], requires_grad=True)
    scaled(a, b).sum().backward()
    assert a.grad.tolist() == [10.0] and b.grad is None


def test_control_flow_runs_and_differentiates_through_bodies():
    x = shendu.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ops.fori_loop(0, 3, lambda i, v: v * x, ops.ones_like(x))  # x ** 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, 4.0]))
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.switch(5, [lambda v: v, lambda v: -v], 3) == -3
    i, s = ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
    assert (i, s) == (4, 6)
    assert ops.while_loop(lambda v: v < 100, lambda v: v * 2, 1, maximum_iterations=3) == 8


def test_scan_map_and_associative_scan():
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    assert float(carry) == 6.0 and ys.tolist() == [0.0, 2.0, 9.0]
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, np.array([1.0, 2.0, 3.0]), reverse=True)
    assert ys.tolist() == [5.0, 3.0, 0.0]
    out = ops.associative_scan(lambda a, b: a + b, np.arange(12.0).reshape(3, 4), axis=1)
    np.testing.assert_array_equal(out.numpy(), np.cumsum(np.arange(12.0).reshape(3, 4), 1))
    out = ops.associative_scan(lambda a, b: a + b, np.arange(4.0), reverse=True)
    assert out.tolist() == [6.0, 6.0, 5.0, 3.0]
    pair = ops.map(lambda t: (t[0] * 2, t[1]), (np.arange(3.0), np.ones(3)))
    assert pair[0].tolist() == [0, 2, 4]
    np.testing.assert_array_equal(ops.vectorized_map(lambda r: r.sum(), np.ones((3, 2))).numpy(), [2, 2, 2])


def test_vectorize_broadcasts_and_keeps_gradients():
    f = ops.vectorize(lambda a, b: a * b + 1)
    x = shendu.tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    y = f(x, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y.numpy(), np.array([[1.0], [2.0]]) * [1, 2, 3] + 1)
    y.sum().backward()
    assert x.grad.tolist() == [[6.0], [6.0]]
    g = ops.vectorize(lambda m: m.sum(), signature="(n)->()")
    np.testing.assert_array_equal(g(np.ones((2, 3))).numpy(), [3.0, 3.0])


def test_scatter_update_reductions_and_errors():
    y = ops.scatter_update(np.zeros(3), np.array([[1], [1]]), np.array([2.0, 3.0]), reduction="add")
    assert y.tolist() == [0, 5, 0]
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(np.zeros(3), np.array([[1]]), np.array([1.0]), reduction="mean")
    with pytest.raises(TypeError, match="integers"):
        ops.scatter(np.array([[0.5]]), np.array([1.0]), (2,))


def test_view_reinterprets_bytes():
    y = ops.view(np.array([1.0], np.float32), "int32")
    assert y.dtype == np.int32 and y.tolist() == [1065353216]


def test_view_as_real_and_complex():
    z = np.array([1 + 2j, -3j])
    r = ops.view_as_real(z)
    assert r.tolist() == [[1.0, 2.0], [0.0, -3.0]]
    np.testing.assert_array_equal(ops.view_as_complex(r).numpy(), z)
    with pytest.raises(TypeError, match="complex"):
        ops.view_as_real(np.ones(2))
