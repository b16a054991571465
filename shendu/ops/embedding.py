"""Gathering rows by integer index: ``take`` (keras.ops) and ``embedding`` (table lookup)."""
import numpy as np

from ..autograd.function import Function
from ._util import data_of, normalize_axis


def scatter_add_rows(idx, g, n_rows):
    """out[i] = sum of the rows g[j] with idx[j] == i, for idx (L,), g (L, D) -> (n_rows, D).

    Equal to ``np.add.at(zeros, idx, g)`` (same additions in the same order, so
    bitwise equal in float64), but one ``np.bincount`` over the flattened
    (row, column) pairs, which is many times faster than ``np.add.at``.
    bincount adds in float64, so float32 gradients come out no less accurate.
    """
    d = g.shape[1]
    flat = (idx[:, None] * d + np.arange(d)).ravel()
    out = np.bincount(flat, weights=g.ravel(), minlength=n_rows * d)
    return out.reshape(n_rows, d).astype(g.dtype, copy=False)


class Take(Function):
    """y = x gathered along ``axis`` at ``indices``:
    y[pre, i..., post] = x[pre, indices[i...], post];
    gx = scatter-add of gy back to the gathered positions (an index used k times
    collects k gradients). ``indices`` is a parameter: it has no gradient.

    Shapes: x pre + (A,) + post, indices I -> y pre + I + post.
    Saves the indices (normalized to 0..A-1) and x's shape.
    """

    def forward(ctx, x, indices, axis):
        ctx.indices, ctx.axis, ctx.shape = indices, axis, x.shape
        return np.take(x, indices, axis=axis)

    def backward(ctx, gy):
        idx, ax, shape = ctx.indices, ctx.axis, ctx.shape
        # Bring the index dims of gy to the front: (L, pre..., post...) -> (L, R)
        ni = idx.ndim
        g = np.moveaxis(gy, tuple(range(ax, ax + ni)), tuple(range(ni)))
        rest = shape[:ax] + shape[ax + 1:]
        g = g.reshape(idx.size, int(np.prod(rest)))
        gx = scatter_add_rows(idx.ravel(), g, shape[ax]).reshape((shape[ax],) + rest)
        return np.moveaxis(gx, 0, ax)


def _check_indices(op, indices, n, allow_negative):
    idx = np.asarray(data_of(indices))
    if idx.dtype.kind == "f":
        # Keras's Embedding casts float inputs (e.g. from a float dataset) to int.
        idx = idx.astype(np.int64)
    elif idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers. Received: indices.dtype={idx.dtype}")
    lo = -n if allow_negative else 0
    bad = (idx < lo) | (idx >= n)
    if bad.any():
        first = int(idx[bad].ravel()[0])
        allowed = f"[{lo}, {n})"
        raise IndexError(f"{op}: index {first} is out of range for a table of size {n} "
                         f"(allowed: {allowed})")
    return np.where(idx < 0, idx + n, idx) if allow_negative else idx


def take(x, indices, axis=None):
    """Elements of x at ``indices`` along ``axis`` (keras.ops.take; None flattens x first).

    Negative indices count from the end, as in NumPy.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.take(np.array([10., 20., 30.]), np.array([2, 0, -1])).numpy()
        array([30., 10., 30.])
    """
    if axis is None:
        from .shape import reshape
        x, axis = reshape(x, (-1,)), 0
    shape = np.shape(data_of(x))
    ax, = normalize_axis(axis, len(shape))
    idx = _check_indices("take", indices, shape[ax], allow_negative=True)
    return Take.apply(x, indices=idx, axis=ax)


def embedding(indices, table):
    """Rows of ``table`` (V, D) at integer ``indices`` of any shape: y = table[indices].

    The gradient of the table adds each row's gradients over every use of that row.
    Indices must lie in [0, V); anything else raises an IndexError.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.embedding(np.array([[1, 1]]), np.eye(2)).shape
        (1, 2, 2)
    """
    n = np.shape(data_of(table))[0]
    idx = _check_indices("embedding", indices, n, allow_negative=False)
    return Take.apply(table, indices=idx, axis=0)
