"""Gathers, sorts, masks and placements: generated checks plus the integer-valued ops."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, distinct, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _unary(gen):
    return lambda rng: [(gen(rng),)]


def _top_k_values(x, k):
    return -np.sort(-x, axis=-1)[..., :k]


SPECS = [
    OpSpec("take_along_axis", lambda x, i: ops.take_along_axis(x, i, axis=1),
           lambda r: [(_n(r, 3, 4), np.array([[0, 3, 3], [1, 1, 0], [-1, 2, 0]]))],
           lambda x, i: np.take_along_axis(x, i, axis=1)),
    OpSpec("take_along_axis_broadcast", lambda x, i: ops.take_along_axis(x, i, axis=0),
           lambda r: [(_n(r, 3, 1), np.array([[0, 2, 2, 1]]))],
           lambda x, i: np.take_along_axis(np.broadcast_to(x, (3, 4)), i, axis=0)),
    OpSpec("take_along_axis_none", lambda x, i: ops.take_along_axis(x, i, axis=None),
           lambda r: [(_n(r, 2, 3), np.array([5, 0, 0]))],
           lambda x, i: np.take_along_axis(x, i, axis=None)),
    OpSpec("sort", ops.sort, _unary(lambda r: distinct(r, (3, 5))), np.sort),
    OpSpec("sort_axis0", lambda x: ops.sort(x, axis=0), _unary(lambda r: distinct(r, (3, 5))),
           lambda x: np.sort(x, axis=0)),
    OpSpec("top_k", lambda x: ops.top_k(x, 3)[0], _unary(lambda r: distinct(r, (2, 6))),
           lambda x: _top_k_values(x, 3)),
    OpSpec("tril", ops.tril, _unary(lambda r: _n(r, 2, 3, 4)), np.tril),
    OpSpec("tril_k", lambda x: ops.tril(x, -1), _unary(lambda r: _n(r, 4, 3)), lambda x: np.tril(x, -1)),
    OpSpec("triu", lambda x: ops.triu(x, 1), _unary(lambda r: _n(r, 3, 4)), lambda x: np.triu(x, 1)),
    OpSpec("diagonal", lambda x: ops.diagonal(x, 1, 0, 2), _unary(lambda r: _n(r, 3, 2, 4)),
           lambda x: np.diagonal(x, 1, 0, 2)),
    OpSpec("diagonal_neg", lambda x: ops.diagonal(x, -1), _unary(lambda r: _n(r, 4, 3)),
           lambda x: np.diagonal(x, -1)),
    OpSpec("diag_embed", lambda x: ops.diag(x, 1), _unary(lambda r: _n(r, 3)), lambda x: np.diag(x, 1)),
    OpSpec("diag_extract", lambda x: ops.diag(x, -1), _unary(lambda r: _n(r, 3, 3)), lambda x: np.diag(x, -1)),
    OpSpec("diagflat", ops.diagflat, _unary(lambda r: _n(r, 2, 2)), np.diagflat),
    OpSpec("trace", lambda x: ops.trace(x, 0, 1, 2), _unary(lambda r: _n(r, 2, 3, 3)),
           lambda x: np.trace(x, 0, 1, 2)),
    OpSpec("flip", lambda x: ops.flip(x, 1), _unary(lambda r: _n(r, 2, 3)), lambda x: np.flip(x, 1)),
    OpSpec("flip_all", ops.flip, _unary(lambda r: _n(r, 2, 3)), np.flip),
    OpSpec("fliplr_ud", lambda x: ops.fliplr(ops.flipud(x)), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.fliplr(np.flipud(x))),
    OpSpec("rot90", lambda x: ops.rot90(x, 1), _unary(lambda r: _n(r, 2, 3)), lambda x: np.rot90(x, 1)),
    OpSpec("rot90_k3", lambda x: ops.rot90(x, 3, (1, 2)), _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: np.rot90(x, 3, (1, 2))),
    OpSpec("rot90_k2", lambda x: ops.rot90(x, -2), _unary(lambda r: _n(r, 2, 3)), lambda x: np.rot90(x, -2)),
    OpSpec("roll", lambda x: ops.roll(x, 2, axis=1), _unary(lambda r: _n(r, 2, 5)), lambda x: np.roll(x, 2, 1)),
    OpSpec("roll_flat", lambda x: ops.roll(x, -3), _unary(lambda r: _n(r, 2, 3)), lambda x: np.roll(x, -3)),
    OpSpec("roll_axes", lambda x: ops.roll(x, (1, -1), axis=(0, 1)), _unary(lambda r: _n(r, 3, 4)),
           lambda x: np.roll(x, (1, -1), (0, 1))),
    OpSpec("argsort", ops.argsort, _unary(lambda r: distinct(r, (3, 5))),
           lambda x: np.argsort(x, -1), tags=("nondiff",)),
    OpSpec("one_hot", lambda i: ops.one_hot(i, 4), lambda r: [(np.array([[0, 3], [2, 9]]),)],
           lambda i: np.eye(4, dtype=np.float32)[np.minimum(i, 3)] * (i < 4)[..., None], tags=("nondiff",)),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_sort_and_argsort_are_stable_on_ties():
    x = np.array([2., 1., 2., 1.])
    assert ops.argsort(x).tolist() == [1, 3, 0, 2]
    assert ops.argsort(x).dtype == np.int32
    np.testing.assert_array_equal(ops.sort(x).numpy(), [1, 1, 2, 2])


def test_top_k_indices_and_ties_go_to_lower_index():
    values, indices = ops.top_k(np.array([[1., 5., 3., 5.], [0., -1., 2., 2.]]), 2)
    assert indices.tolist() == [[1, 3], [2, 3]] and indices.dtype == np.int32
    assert values.tolist() == [[5, 5], [2, 2]]
    with pytest.raises(ValueError, match="k=5"):
        ops.top_k(np.ones(4), 5)


def test_top_k_gradient_reaches_the_chosen_elements():
    x = shendu.tensor(np.array([1., 5., 3.]), requires_grad=True)
    ops.top_k(x, 2)[0].sum().backward()
    assert x.grad.tolist() == [0, 1, 1]


def test_one_hot_axis_and_multi_hot():
    y = ops.one_hot(np.array([1, 0]), 3, axis=0)
    assert y.dtype == np.float32 and y.tolist() == [[0, 1], [1, 0], [0, 0]]
    assert ops.one_hot(np.array([1]), 2, dtype="int32").dtype == np.int32
    assert ops.multi_hot(np.array([[0, 2, 2], [1, 1, 1]]), 3).tolist() == [[1, 0, 1], [0, 1, 0]]
    assert ops.multi_hot(np.array([3, 0]), 4).tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(np.array([1]))


def test_in_top_k_and_nonzero_and_tri():
    pred = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    assert ops.in_top_k(np.array([2, 2]), pred, 2).tolist() == [True, False]
    rows, cols = ops.nonzero(np.array([[0, 3], [4, 0]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    r, = ops.where(np.array([0, 1, 1]))
    assert r.tolist() == [1, 2]
    np.testing.assert_array_equal(ops.tri(3, 4, 1).numpy(), np.tri(3, 4, 1))


def test_errors_name_the_op_and_what_was_received():
    with pytest.raises(ValueError, match="tril: x must have at least 2 axes"):
        ops.tril(np.ones(3))
    with pytest.raises(IndexError, match="take_along_axis"):
        ops.take_along_axis(np.ones((2, 3)), np.array([[3], [0]]), axis=1)
    with pytest.raises(TypeError, match="integers"):
        ops.take_along_axis(np.ones((2, 3)), np.ones((2, 1)), axis=1)
    with pytest.raises(ValueError, match="diag: x must be 1-D or 2-D"):
        ops.diag(np.ones((2, 2, 2)))
