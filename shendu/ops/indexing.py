"""Ops that pick, order or place elements: ``take_along_axis``, ``sort``, ``top_k``,
``tril``/``triu``, ``diagonal``/``diag``, ``flip``, ``roll``, ``one_hot``.

Most are compositions: ``sort`` gathers x at its ``argsort``, ``flip`` is a reversed
slice, ``roll`` a ``take`` at shifted indices, so their gradients come from the
gather they are made of. The Functions here are the gathers and masks themselves.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import data_of, normalize_axis


def _float_dtype(dtype):
    from .creation import _dtype
    return _dtype(dtype)


def _one_axis(op, axis, ndim):
    try:
        ax, = normalize_axis(axis, ndim)
    except ValueError:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}") from None
    return ax


class TakeAlongAxis(Function):
    """y = x gathered along ``axis``: y[..., i, ...] = x[..., idx[..., i, ...], ...]
    (the other axes of x and idx broadcast);
    gx = gy scatter-added back to the gathered positions (an index used twice collects both).
    """

    def forward(ctx, x, indices, axis):
        ctx.shape, ctx.indices, ctx.axis = x.shape, indices, axis
        return np.take_along_axis(x, indices, axis=axis)

    def backward(ctx, gy):
        shape, ax = ctx.shape, ctx.axis
        index = []
        for d, n in enumerate(shape):
            if d == ax:
                index.append(ctx.indices)
                continue
            grid = np.arange(n) if n == gy.shape[d] else np.zeros(gy.shape[d], np.intp)
            index.append(grid.reshape([-1 if e == d else 1 for e in range(gy.ndim)]))
        gx = np.zeros(shape, gy.dtype)
        np.add.at(gx, tuple(index), gy)
        return gx


def take_along_axis(x, indices, axis=None):
    """Values of x at ``indices`` along ``axis`` (None: of the flattened x), as
    ``numpy.take_along_axis``; the other axes broadcast. Negative indices count from the end.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> x = np.array([[10., 30., 20.]])
        >>> ops.take_along_axis(x, np.argsort(x, axis=1), axis=1).numpy()
        array([[10., 20., 30.]])
    """
    from .shape import reshape
    idx = np.asarray(data_of(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers. Received: indices.dtype={idx.dtype}")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
        idx = idx.reshape(-1)
    shape = np.shape(data_of(x))
    if idx.ndim != len(shape):
        raise ValueError(f"take_along_axis: indices must have the rank of x ({len(shape)}). "
                         f"Received: indices.shape={idx.shape}, x.shape={shape}")
    ax = _one_axis("take_along_axis", axis, len(shape))
    n = shape[ax]
    if idx.size and ((idx < -n) | (idx >= n)).any():
        raise IndexError(f"take_along_axis: an index is out of range [{-n}, {n}) for axis {ax} "
                         f"of size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    try:
        np.broadcast_shapes(shape[:ax] + shape[ax + 1:], idx.shape[:ax] + idx.shape[ax + 1:])
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast "
                         f"against x of shape {shape} outside axis {ax}") from None
    if shape != idx.shape:
        # x broadcast to the indices' other axes first, so its gradient sums over them
        from .shape import broadcast_to
        full = np.broadcast_shapes(shape[:ax] + (1,) + shape[ax + 1:],
                                   idx.shape[:ax] + (1,) + idx.shape[ax + 1:])
        x = broadcast_to(x, full[:ax] + (n,) + full[ax + 1:])
        idx = np.broadcast_to(idx, full[:ax] + (idx.shape[ax],) + full[ax + 1:])
    return TakeAlongAxis.apply(x, indices=idx, axis=ax)


def argsort(x, axis=-1):
    """Indices that sort x along ``axis`` (stable: ties keep their order; int32, no gradient)."""
    a = data_of(x)
    if axis is None:
        a, axis = a.reshape(-1), 0
    if a.ndim == 0:
        return Tensor(np.zeros((), np.int32))
    return Tensor(np.argsort(a, axis=axis, kind="stable").astype(np.int32))


def sort(x, axis=-1):
    """x sorted ascending along ``axis``; the gradient goes back to each value's position.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.sort(np.array([3., 1., 2.])).numpy()
        array([1., 2., 3.])
    """
    if np.ndim(data_of(x)) == 0:
        return x if isinstance(x, Tensor) else Tensor(x)
    return take_along_axis(x, argsort(x, axis), axis)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras name
    """The ``k`` largest values along the last axis and their indices (int32).

    Ties go to the lower index, as ``jax.lax.top_k``; values are in decreasing order
    (``sorted=False`` allows any order; this one is sorted either way).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> values, indices = ops.top_k(np.array([1., 5., 3., 5.]), 2)
        >>> values.numpy(), indices.numpy()
        (array([5., 5.]), array([1, 3], dtype=int32))
    """
    a = data_of(x)
    if a.ndim == 0:
        raise ValueError("top_k: x must have at least one axis; received a 0-d tensor")
    k = int(k)
    if not 0 <= k <= a.shape[-1]:
        raise ValueError(f"top_k: k must lie in [0, {a.shape[-1]}] (the size of the last axis). "
                         f"Received: k={k}")
    # a stable sort of the reversed order keeps the lower index first among equals
    key = -a if a.dtype.kind in "fi" else np.logical_not(a) if a.dtype == bool else a.max() - a
    idx = np.argsort(key, axis=-1, kind="stable")[..., :k].astype(np.int32)
    return take_along_axis(x, idx, axis=-1), Tensor(idx)


def in_top_k(targets, predictions, k):
    """Whether each target's prediction is among the ``k`` largest of its row (ties count in)."""
    t = np.asarray(data_of(targets)).astype(np.int64)
    p = data_of(predictions)
    if p.ndim != 2 or t.shape != p.shape[:1]:
        raise ValueError(f"in_top_k: predictions must be (batch, classes) and targets (batch,). "
                         f"Received: predictions.shape={p.shape}, targets.shape={t.shape}")
    target_score = np.take_along_axis(p, t[:, None], axis=1)
    return Tensor((p > target_score).sum(axis=1) < k)


class Mask(Function):
    """y = x * M for a constant 0/1 mask M (broadcast);  gx = gy * M."""

    def forward(ctx, x, mask):
        ctx.mask = mask
        return np.where(mask, x, np.zeros((), x.dtype))

    def backward(ctx, gy):
        return np.where(ctx.mask, gy, np.zeros((), gy.dtype))


def _band(op, x, k, lower):
    shape = np.shape(data_of(x))
    if len(shape) < 2:
        raise ValueError(f"{op}: x must have at least 2 axes. Received: x.shape={shape}")
    n, m = shape[-2:]
    keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return Mask.apply(x, mask=keep)


def tril(x, k=0):
    """The lower triangle of the last two axes (on and below the ``k``-th diagonal), zeros above.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.tril(np.ones((2, 3))).numpy()
        array([[1., 0., 0.],
               [1., 1., 0.]])
    """
    return _band("tril", x, int(k), lower=True)


def triu(x, k=0):
    """The upper triangle of the last two axes (on and above the ``k``-th diagonal), zeros below."""
    return _band("triu", x, int(k), lower=False)


def tri(N, M=None, k=0, dtype=None):
    """Ones on and below the ``k``-th diagonal of an N x M matrix (floatx by default)."""
    return Tensor(np.tri(N, M, k, dtype=_float_dtype(dtype)))


def _diagonal_index(n1, n2, offset):
    rows = np.arange(max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0))))
    return rows + max(-offset, 0), rows + max(offset, 0)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the plane ``axis1``, ``axis2``, as a last axis
    (``numpy.diagonal``); its gradient lands on that diagonal."""
    from .shape import getitem, moveaxis
    nd = np.ndim(data_of(x))
    if nd < 2:
        raise ValueError(f"diagonal: x must have at least 2 axes. Received: x.shape={np.shape(data_of(x))}")
    a1, a2 = _one_axis("diagonal", axis1, nd), _one_axis("diagonal", axis2, nd)
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ. Received: axis1={axis1}, axis2={axis2}")
    xt = moveaxis(x, (a1, a2), (-2, -1))
    shape = np.shape(data_of(xt))
    rows, cols = _diagonal_index(shape[-2], shape[-1], int(offset))
    return getitem(xt, (Ellipsis, rows, cols))


class DiagEmbed(Function):
    """Y = the matrix with x on its ``k``-th diagonal, zeros elsewhere;  gx = gY on that diagonal."""

    def forward(ctx, x, k):
        n = x.shape[0] + abs(k)
        ctx.index = _diagonal_index(n, n, k)
        y = np.zeros((n, n), x.dtype)
        y[ctx.index] = x
        return y

    def backward(ctx, gy):
        return gy[ctx.index]


def diag(x, k=0):
    """A 1-D x placed on the ``k``-th diagonal of a square matrix, or the ``k``-th diagonal
    of a 2-D x, as ``numpy.diag``."""
    nd = np.ndim(data_of(x))
    if nd == 1:
        return DiagEmbed.apply(x, k=int(k))
    if nd == 2:
        return diagonal(x, offset=int(k))
    raise ValueError(f"diag: x must be 1-D or 2-D. Received: x.shape={np.shape(data_of(x))}")


def diagflat(x, k=0):
    """x flattened and placed on the ``k``-th diagonal of a square matrix."""
    from .shape import reshape
    return DiagEmbed.apply(reshape(x, (-1,)), k=int(k))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the ``offset``-th diagonal of the plane ``axis1``, ``axis2``."""
    from .reduction import sum as _sum
    return _sum(diagonal(x, offset, axis1, axis2), axis=-1)


def flip(x, axis=None):
    """x with the order of elements reversed along ``axis`` (all axes when None)."""
    from .shape import getitem
    nd = np.ndim(data_of(x))
    axes = normalize_axis(axis, nd)
    return getitem(x, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(nd)))


def fliplr(x):
    return flip(x, axis=1)


def flipud(x):
    return flip(x, axis=0)


def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane ``axes`` (from the first toward the second)."""
    from .shape import swapaxes
    nd = np.ndim(data_of(array))
    if nd < 2:
        raise ValueError(f"rot90: the array must have at least 2 axes. Received: shape={np.shape(data_of(array))}")
    a0, a1 = _one_axis("rot90", axes[0], nd), _one_axis("rot90", axes[1], nd)
    if a0 == a1:
        raise ValueError(f"rot90: the two axes must differ. Received: axes={axes}")
    k = int(k) % 4
    if k == 0:
        return array if isinstance(array, Tensor) else Tensor(array)
    if k == 2:
        return flip(flip(array, a0), a1)
    if k == 1:
        return swapaxes(flip(array, a1), a0, a1)
    return flip(swapaxes(array, a0, a1), a1)


def roll(x, shift, axis=None):
    """Elements shifted by ``shift`` along ``axis`` (the flattened x when None), wrapping around."""
    from .embedding import take
    from .shape import reshape
    shape = np.shape(data_of(x))
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), shape)
    shifts = np.broadcast_to(np.atleast_1d(shift), np.shape(np.atleast_1d(axis)))
    axes = np.broadcast_to(np.atleast_1d(axis), shifts.shape)
    y = x
    for s, a in zip(shifts.tolist(), axes.tolist()):
        a = _one_axis("roll", a, len(shape))
        n = shape[a]
        if n:
            y = take(y, (np.arange(n) - s) % n, axis=a)
    return y


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A new axis of length ``num_classes`` with 1 at each index of x and 0 elsewhere;
    an index outside [0, num_classes) gives a row of zeros (as Keras on JAX).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.one_hot(np.array([2, 0]), 3).numpy()
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    if sparse:
        raise ValueError("one_hot: sparse tensors are not supported. Received: sparse=True")
    idx = np.asarray(data_of(x))
    if idx.dtype.kind not in "iub":
        idx = idx.astype(np.int64)
    num_classes = int(num_classes)
    nd = idx.ndim + 1
    ax = _one_axis("one_hot", axis, nd)
    classes = np.arange(num_classes).reshape([-1 if d == ax else 1 for d in range(nd)])
    return Tensor((np.expand_dims(idx, ax) == classes).astype(_float_dtype(dtype)))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """For each sample (row of a 2-D input, or the whole of a 1-D one), 1 at every class
    it lists and 0 elsewhere.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.multi_hot(np.array([[0, 2], [1, 1]]), 3).numpy()
        array([[1., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: argument num_classes must be specified")
    h = one_hot(inputs, num_classes, axis=axis, dtype=dtype, sparse=sparse).data
    return Tensor(h.max(axis=1 if np.ndim(data_of(inputs)) > 1 else 0))


def nonzero(x):
    """The indices of the nonzero elements: one int tensor per axis."""
    return tuple(Tensor(i) for i in np.nonzero(np.asarray(data_of(x))))
