"""Cumulative ops and products (the other reductions are specified in test_op_specs.py)."""
import numpy as np

import shendu
from shendu import ops
from shendu.testing import OpSpec, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _with_zeros(rng, *shape):
    x = rng.standard_normal(shape)
    x.reshape(-1)[::4] = 0.0  # exact zeros: the gradient must not divide by them
    return x


def _unary(gen):
    return lambda rng: [(gen(rng),)]


SPECS = [
    OpSpec("cumsum_axis", lambda x: ops.cumsum(x, axis=1), _unary(lambda r: _n(r, 2, 4, 3)),
           lambda x: np.cumsum(x, 1)),
    OpSpec("cumsum_flat", ops.cumsum, _unary(lambda r: _n(r, 2, 3)), np.cumsum),
    OpSpec("cumsum_0d", ops.cumsum, _unary(lambda r: _n(r)), np.cumsum),
    OpSpec("cumprod_axis", lambda x: ops.cumprod(x, axis=0), _unary(lambda r: _n(r, 4, 3)),
           lambda x: np.cumprod(x, 0)),
    OpSpec("cumprod_zeros", lambda x: ops.cumprod(x, axis=-1), _unary(lambda r: _with_zeros(r, 3, 5)),
           lambda x: np.cumprod(x, -1)),
    OpSpec("prod_axis", lambda x: ops.prod(x, axis=1), _unary(lambda r: _n(r, 2, 4, 3)),
           lambda x: np.prod(x, 1)),
    OpSpec("prod_zeros_keep", lambda x: ops.prod(x, axis=(0, 2), keepdims=True),
           _unary(lambda r: _with_zeros(r, 2, 3, 2)), lambda x: np.prod(x, (0, 2), keepdims=True)),
    OpSpec("prod_all", ops.prod, _unary(lambda r: _n(r, 2, 3)), np.prod),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_cumulative_dtype_argument_and_integers():
    assert ops.cumsum(np.array([1, 2, 3]), dtype="float32").dtype == np.float32
    assert ops.cumsum(np.array([1, 2, 3])).tolist() == [1, 3, 6]
    assert ops.prod(np.array([[1, 2], [3, 4]]), axis=0).tolist() == [3, 8]


def test_prod_gradient_with_two_zeros_is_zero_except_nowhere():
    x = shendu.tensor(np.array([0.0, 2.0, 0.0, 3.0]), requires_grad=True)
    ops.prod(x).backward()
    assert x.grad.tolist() == [0, 0, 0, 0]
    x = shendu.tensor(np.array([0.0, 2.0, 3.0]), requires_grad=True)
    ops.prod(x).backward()
    assert x.grad.tolist() == [6, 0, 0]
