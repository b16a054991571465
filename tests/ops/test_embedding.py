"""take and embedding: gather forward, scatter-add gradient, index errors."""
import numpy as np
import pytest

import shendu.ops as ops
from shendu.autograd.tensor import Tensor
from shendu.ops.embedding import scatter_add_rows
from shendu.testing import assert_allclose_normwise, gradcheck


def test_embedding_forward_and_repeated_index_gradient():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 4))
    idx = np.array([[1, 3, 1], [5, 1, 0]])
    t = Tensor(table, requires_grad=True)
    y = ops.embedding(idx, t)
    np.testing.assert_array_equal(y.numpy(), table[idx])
    gy = rng.standard_normal(y.shape)
    y.backward(Tensor(gy))
    ref = np.zeros_like(table)
    np.add.at(ref, idx, gy)
    np.testing.assert_allclose(t.grad.numpy(), ref, rtol=1e-15)
    assert t.grad.numpy()[2].sum() == 0  # an unused row gets no gradient
    gradcheck(lambda t: ops.embedding(idx, t), table)


def test_embedding_float32_and_float_indices():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = ops.embedding(np.array([2.0, 0.0]), table)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), table[[2, 0]])


@pytest.mark.parametrize("bad", [4, 7, -1])
def test_embedding_out_of_range_names_size_and_index(bad):
    with pytest.raises(IndexError, match=rf"embedding: index {bad} is out of range for a table of size 4"):
        ops.embedding(np.array([0, bad, 1]), np.zeros((4, 2)))


def test_scatter_add_rows_equals_add_at():
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 50, 2000)
    g = rng.standard_normal((2000, 7))
    ref = np.zeros((50, 7))
    np.add.at(ref, idx, g)
    np.testing.assert_array_equal(scatter_add_rows(idx, g, 50), ref)  # bitwise, float64
    g32 = g.astype(np.float32)
    ref32 = np.zeros((50, 7), np.float32)
    np.add.at(ref32, idx, g32)
    out32 = scatter_add_rows(idx, g32, 50)
    assert out32.dtype == np.float32
    assert_allclose_normwise(out32, ref32, rtol=1e-6)


@pytest.mark.parametrize("xs,idx,axis", [((5, 3), [4, 0, 4, -1], 0),
                                          ((2, 5, 3), [[1, 1], [0, -2]], 1),
                                          ((2, 3, 4), [3, 0], -1),
                                          ((3, 4), 2, 0),
                                          ((3, 4), [7, 0, 11], None)])
def test_take_matches_numpy_and_gradcheck(xs, idx, axis):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs)
    idx = np.asarray(idx)
    y = ops.take(x, idx, axis=axis)
    np.testing.assert_array_equal(y.numpy(), np.take(x, idx, axis=axis))
    assert ops.take(x.astype(np.float32), idx, axis=axis).dtype == np.float32
    gradcheck(lambda x: ops.take(x, idx, axis=axis), x)


def test_take_out_of_range():
    with pytest.raises(IndexError, match=r"take: index -4 is out of range for a table of size 3"):
        ops.take(np.zeros((3, 2)), np.array([0, -4]), axis=0)
    with pytest.raises(TypeError, match="integers"):
        ops.take(np.zeros(3), np.array([True]))
