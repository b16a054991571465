"""The keras.ops.nn activations added beside the core ones (which test_op_specs.py specifies)."""
import numpy as np
import pytest

from shendu import ops
from shendu.testing import OpSpec, away_from, op_spec_tests


def _x(rng, kinks=(), scale=2.0, shape=(4, 5)):
    return [(away_from(scale * rng.standard_normal(shape), list(kinks)),)]


def _sparsemax_ref(z, axis=-1):
    z = np.moveaxis(z, axis, -1)
    zs = -np.sort(-z, -1)
    k = np.arange(1, z.shape[-1] + 1)
    cs = np.cumsum(zs, -1)
    kz = (1 + k * zs > cs).sum(-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, -1) - 1) / kz
    return np.moveaxis(np.maximum(z - tau, 0), -1, axis)


def _sig(x):
    return 1 / (1 + np.exp(-x))


SPECS = [
    OpSpec("celu", lambda x: ops.celu(x, 0.7), lambda r: _x(r, [0]),
           lambda x: np.where(x > 0, x, 0.7 * np.expm1(x / 0.7))),
    OpSpec("hard_silu", ops.hard_silu, lambda r: _x(r, [-3, 3], 3.0), lambda x: x * np.clip(x + 3, 0, 6) / 6),
    OpSpec("hard_tanh", ops.hard_tanh, lambda r: _x(r, [-1, 1]), lambda x: np.clip(x, -1, 1)),
    OpSpec("hard_shrink", lambda x: ops.hard_shrink(x, 0.3), lambda r: _x(r, [-0.3, 0.3]),
           lambda x: np.where(np.abs(x) > 0.3, x, 0)),
    OpSpec("soft_shrink", ops.soft_shrink, lambda r: _x(r, [-0.5, 0.5]),
           lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    OpSpec("sparse_plus", ops.sparse_plus, lambda r: _x(r, [-1, 1]),
           lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    OpSpec("sparse_sigmoid", ops.sparse_sigmoid, lambda r: _x(r, [-1, 1]), lambda x: np.clip((x + 1) / 2, 0, 1)),
    OpSpec("squareplus", lambda x: ops.squareplus(x, 2), lambda r: _x(r), lambda x: (x + np.sqrt(x * x + 2)) / 2),
    OpSpec("tanh_shrink", ops.tanh_shrink, lambda r: _x(r), lambda x: x - np.tanh(x)),
    OpSpec("threshold", lambda x: ops.threshold(x, 0.2, -1.0), lambda r: _x(r, [0.2]),
           lambda x: np.where(x > 0.2, x, -1.0)),
    OpSpec("sparsemax", ops.sparsemax, lambda r: _x(r, shape=(4, 6)), _sparsemax_ref),
    OpSpec("sparsemax_axis0", lambda x: ops.sparsemax(x, axis=0), lambda r: _x(r, shape=(5, 3)),
           lambda x: _sparsemax_ref(x, 0)),
    OpSpec("glu", lambda x: ops.glu(x, axis=0), lambda r: _x(r, shape=(4, 3)),
           lambda x: x[:2] * _sig(x[2:])),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_sparsemax_is_a_distribution_with_exact_zeros():
    y = ops.sparsemax(np.array([[3.0, 1.0, 0.2, 2.9], [0.0, 0.0, 0.0, 0.0]])).numpy()
    np.testing.assert_allclose(y.sum(-1), [1.0, 1.0])
    assert (y[0, 1:3] == 0).all() and np.allclose(y[1], 0.25)


def test_argument_errors():
    with pytest.raises(ValueError, match="even size"):
        ops.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="b must be >= 0"):
        ops.squareplus(np.ones(2), -1)
