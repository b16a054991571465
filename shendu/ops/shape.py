"""Shape ops: they move or copy elements without arithmetic, so their backward
moves the gradient back to where each element came from."""
import builtins

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import data_of, normalize_axis


class Reshape(Function):
    """y = x viewed with a new shape;  gx = gy reshaped back."""

    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    def backward(ctx, gy):
        return gy.reshape(ctx.in_shape)


class Transpose(Function):
    """y = x with axes permuted by ``axes``;  gx = gy permuted by the inverse permutation."""

    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.transpose(x, axes)

    def backward(ctx, gy):
        return np.transpose(gy, np.argsort(ctx.axes))


class BroadcastTo(Function):
    """y = x repeated to ``shape``;  gx = gy summed over the repeats (done by the engine)."""

    def forward(ctx, x, shape):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {tuple(shape)}") from None

    def backward(ctx, gy):
        return gy


class GetItem(Function):
    """y = x[index] (basic slicing, integer-array or boolean indexing);
    gx = zeros like x with gy scattered back to the indexed positions
    (added, so an index that repeats collects every use)."""

    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            y = x[index]
        except IndexError as e:
            raise IndexError(f"indexing a tensor of shape {x.shape}: {e}") from None
        ctx.repeats = _may_repeat(index)
        return y

    def backward(ctx, gy):
        gx = np.zeros(ctx.shape, dtype=gy.dtype)
        if ctx.repeats:
            np.add.at(gx, ctx.index, gy)
        else:
            gx[ctx.index] = gy  # slices and masks never select an element twice
        return gx


def _may_repeat(index):
    # Only integer arrays can pick the same element twice; those need a scatter-add.
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) and i.dtype != bool for i in items)


def _to_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(_to_index(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


class Concatenate(Function):
    """y = [x_1, x_2, ...] joined along ``axis``;  g x_k = the slice of gy that x_k filled."""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.splits = np.cumsum([x.shape[axis] for x in xs])[:-1]
        try:
            return np.concatenate(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concatenate: shapes {shapes} must match except along axis {axis}") from None

    def backward(ctx, gy):
        return tuple(np.split(gy, ctx.splits, axis=ctx.axis))


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  g x_k = gy taken at index k of that axis."""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        try:
            return np.stack(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"stack: all inputs must have the same shape; got {shapes}") from None

    def backward(ctx, gy):
        return tuple(np.moveaxis(gy, ctx.axis, 0))


class Pad(Function):
    """y = x surrounded by ``constant_values`` (``pad_width`` per axis);  gx = the centre of gy."""

    def forward(ctx, x, pad_width, constant_values):
        ctx.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=constant_values)

    def backward(ctx, gy):
        return gy[ctx.crop]


class Tile(Function):
    """y = x tiled ``reps`` times;  gx = sum of gy over the tiles."""

    def forward(ctx, x, reps):
        ctx.in_shape = x.shape
        y = np.tile(x, reps)
        ctx.out_shape = y.shape
        return y

    def backward(ctx, gy):
        nd = gy.ndim
        in_shape = (1,) * (nd - len(ctx.in_shape)) + tuple(ctx.in_shape)
        split = []
        for n_in, n_out in zip(in_shape, gy.shape):
            split += [n_out // n_in if n_in else 0, n_in]
        g = gy.reshape(split).sum(axis=tuple(range(0, 2 * nd, 2)))
        return g.reshape(ctx.in_shape)


class Repeat(Function):
    """y = each element of x repeated ``repeats`` times along ``axis``;
    gx = gy summed over each element's copies."""

    def forward(ctx, x, repeats, axis):
        ctx.in_shape, ctx.repeats, ctx.axis = x.shape, repeats, axis
        return np.repeat(x, repeats, axis=axis)

    def backward(ctx, gy):
        ax, r = ctx.axis, ctx.repeats
        shape = list(ctx.in_shape)
        return gy.reshape(shape[:ax] + [shape[ax], r] + shape[ax + 1:]).sum(axis=ax + 1)


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def reshape(x, newshape):
    """The same elements in a new shape (one entry may be -1)."""
    return Reshape.apply(x, shape=_shape_tuple(newshape))


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    nd = np.ndim(data_of(x))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(a) % builtins.max(nd, 1) for a in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {nd} axes")
    return Transpose.apply(x, axes=axes)


permute = transpose


def moveaxis(x, source, destination):
    """Move axes ``source`` (an int or a sequence) to the positions ``destination``;
    the other axes keep their order."""
    nd = np.ndim(data_of(x))
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source and destination must have the same number of axes. "
                         f"Received: source={source}, destination={destination}")
    for a in src + dst:
        if not -nd <= int(a) < nd:
            raise ValueError(f"moveaxis: axis {a} is out of range for a tensor of rank {nd}")
    src, dst = [int(a) % nd for a in src], [int(a) % nd for a in dst]
    order = [a for a in range(nd) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def swapaxes(x, axis1, axis2):
    nd = np.ndim(data_of(x))
    order = list(range(nd))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, order)


def broadcast_to(x, shape):
    return BroadcastTo.apply(x, shape=_shape_tuple(shape))


def expand_dims(x, axis):
    """Insert a size-1 axis at ``axis``, or one at each axis of a tuple (``unsqueeze`` in PyTorch)."""
    shape = list(np.shape(data_of(x)))
    if isinstance(axis, (tuple, list)):
        out_nd = len(shape) + len(axis)
        axes = normalize_axis(axis, out_nd)
        if len(axes) != len(axis):
            raise ValueError(f"expand_dims: repeated axis in {tuple(axis)}")
        it = iter(shape)
        return reshape(x, [1 if d in axes else next(it) for d in range(out_nd)])
    ax = axis if axis >= 0 else len(shape) + 1 + axis
    if not 0 <= ax <= len(shape):
        raise ValueError(f"expand_dims: axis {axis} is out of range for rank {len(shape)}")
    return reshape(x, shape[:ax] + [1] + shape[ax:])


unsqueeze = expand_dims


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    shape = np.shape(data_of(x))
    axes = normalize_axis(axis, len(shape)) if axis is not None else \
        tuple(i for i, n in enumerate(shape) if n == 1)
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {shape[a]}, not 1 (shape {shape})")
    return reshape(x, [n for i, n in enumerate(shape) if i not in axes])


def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes ``start_axis..end_axis`` into one."""
    shape = np.shape(data_of(x))
    nd = len(shape)
    if nd == 0:
        return reshape(x, (1,))
    s, e = start_axis % nd, end_axis % nd
    merged = int(np.prod(shape[s:e + 1]))
    return reshape(x, tuple(shape[:s]) + (merged,) + tuple(shape[e + 1:]))


def getitem(x, index):
    """x[index]: slices, integers, None, Ellipsis, integer arrays and boolean masks."""
    return GetItem.apply(x, index=_to_index(index))


def concatenate(xs, axis=0):
    """Join tensors along an existing axis."""
    xs = list(xs)
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    nd = np.ndim(data_of(xs[0]))
    ax, = normalize_axis(axis, nd)
    return Concatenate.apply(*xs, axis=ax)


concat = concatenate


def stack(xs, axis=0):
    """Join same-shaped tensors along a new axis."""
    xs = list(xs)
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    nd = np.ndim(data_of(xs[0])) + 1
    ax, = normalize_axis(axis, nd)
    return Stack.apply(*xs, axis=ax)


def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices (a list), as NumPy.

    Each piece is a slice of x, so each carries its own gradient path.
    """
    shape = np.shape(data_of(x))
    ax, = normalize_axis(axis, len(shape))
    n = shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {ax} of size {n} cannot be split into {k} equal sections")
        bounds = list(range(0, n + 1, n // k))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        idx = [slice(None)] * len(shape)
        idx[ax] = slice(lo, hi)
        pieces.append(getitem(x, tuple(idx)))
    return pieces


_INDEX_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad x; ``pad_width`` is ((before, after), ...) per axis or one pair for all.

    ``mode`` 'constant' fills with ``constant_values`` (0 by default); 'edge', 'reflect',
    'symmetric' and 'wrap' copy elements of x as ``numpy.pad`` does, so each padded
    element passes its gradient back to the element it copies.
    """
    nd = np.ndim(data_of(x))
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0. Received: pad_width={pad_width}")
    if mode in _INDEX_PAD_MODES:
        if constant_values is not None:
            raise ValueError(f"pad: constant_values is only used with mode='constant'. "
                             f"Received: mode={mode!r}")
        from .embedding import take
        y = x
        for ax, (lo, hi) in enumerate(pw.tolist()):
            if lo or hi:
                y = take(y, np.pad(np.arange(np.shape(data_of(x))[ax]), (lo, hi), mode=mode), axis=ax)
        return y
    if mode != "constant":
        raise ValueError(f"pad: mode must be 'constant', 'edge', 'reflect', 'symmetric' or 'wrap'. "
                         f"Received: mode={mode!r}")
    return Pad.apply(x, pad_width=tuple(map(tuple, pw.tolist())),
                     constant_values=0 if constant_values is None else constant_values)


def tile(x, repeats):
    reps = _shape_tuple(repeats)
    return Tile.apply(x, reps=reps)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened x when None);
    ``repeats`` is an int or one count per element of that axis."""
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax, = normalize_axis(axis, np.ndim(data_of(x)))
    counts = np.asarray(data_of(repeats))
    if counts.ndim == 0 or counts.size == 1:
        return Repeat.apply(x, repeats=int(counts.reshape(-1)[0]), axis=ax)
    from .embedding import take
    n = np.shape(data_of(x))[ax]
    if counts.shape != (n,):
        raise ValueError(f"repeat: repeats must be an int or have one entry per element of axis "
                         f"{ax} (size {n}). Received: repeats.shape={counts.shape}")
    return take(x, np.repeat(np.arange(n), counts), axis=ax)


def ravel(x):
    """x flattened to 1-D."""
    return reshape(x, (-1,))


def _atleast(x, nd):
    shape = np.shape(data_of(x))
    if len(shape) >= nd:
        return x
    if nd == 3 and len(shape) == 2:
        return reshape(x, shape + (1,))
    if nd == 3 and len(shape) == 1:
        return reshape(x, (1,) + shape + (1,))
    return reshape(x, (1,) * (nd - len(shape)) + tuple(shape))


def hstack(xs):
    """Join along the second axis (the first for 1-D inputs)."""
    xs = list(xs)
    return concatenate(xs, axis=0 if np.ndim(data_of(xs[0])) == 1 else 1)


def vstack(xs):
    """Join along the first axis, 1-D inputs taken as rows."""
    return concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Join along the third axis (inputs raised to at least 3-D)."""
    return concatenate([_atleast(x, 3) for x in xs], axis=2)


def column_stack(xs):
    """1-D inputs as columns of a 2-D result; 2-D inputs joined along axis 1."""
    cols = [reshape(x, (-1, 1)) if np.ndim(data_of(x)) < 2 else x for x in xs]
    return concatenate(cols, axis=1)


def array_split(x, indices_or_sections, axis=0):
    """Like ``split``, but an int need not divide the axis: the first pieces get one more."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = np.shape(data_of(x))[normalize_axis(axis, np.ndim(data_of(x)))[0]]
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be > 0. Received: {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        return split(x, np.cumsum(sizes)[:-1].tolist(), axis)
    return split(x, indices_or_sections, axis)


def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0 if np.ndim(data_of(x)) == 1 else 1)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def append(x1, x2, axis=None):
    """x2 joined after x1 along ``axis`` (both flattened when None)."""
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], axis=0)
    return concatenate([x1, x2], axis=axis)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D inputs, as ``numpy.meshgrid`` ('xy': the first two
    outputs' axes swapped; 'ij': matrix indexing). Each grid broadcasts its input."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij'. Received: indexing={indexing!r}")
    sizes = [int(np.size(data_of(v))) for v in x]
    if indexing == "xy" and len(x) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, v in enumerate(x):
        d = (1 - i if i < 2 else i) if indexing == "xy" and len(x) > 1 else i
        grids.append(broadcast_to(reshape(v, [-1 if k == d else 1 for k in range(len(x))]), sizes))
    return grids


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, split and merge axes by an einops pattern, e.g. ``"b (h w) c -> b h w c"``
    with ``h=4``: named axes, parenthesized groups (split on the left, merged on the right)
    and sizes for split axes given as keywords (one per group may be inferred).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.rearrange(np.zeros((2, 12, 3)), "b (h w) c -> b c h w", h=4).shape
        (2, 3, 4, 3)
    """
    import re
    if "->" not in pattern:
        raise ValueError(f"rearrange: the pattern must read 'input -> output'. Received: {pattern!r}")
    left, right = (side.strip() for side in pattern.split("->"))
    token = r"\([^)]*\)|[A-Za-z_]\w*"
    lhs = [t.strip("()").split() for t in re.findall(token, left)]
    rhs = [t.strip("()").split() for t in re.findall(token, right)]
    shape = np.shape(data_of(tensor))
    if len(lhs) != len(shape):
        raise ValueError(f"rearrange: the left side names {len(lhs)} axes; the tensor has {len(shape)} "
                         f"(shape {shape})")
    sizes = dict(axes_lengths)
    for group, n in zip(lhs, shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if len(unknown) > 1:
            raise ValueError(f"rearrange: give the sizes of all but one of {group}")
        if unknown:
            sizes[unknown[0]] = n // known
        if int(np.prod([sizes[a] for a in group])) != n:
            raise ValueError(f"rearrange: the axes {group} of sizes {[sizes[a] for a in group]} do not "
                             f"make an axis of size {n}")
    flat_in = [a for g in lhs for a in g]
    flat_out = [a for g in rhs for a in g]
    if sorted(flat_in) != sorted(flat_out) or len(set(flat_in)) != len(flat_in):
        raise ValueError(f"rearrange: both sides must name the same axes once each. Received: {pattern!r}")
    y = reshape(tensor, [sizes[a] for a in flat_in])
    y = transpose(y, [flat_in.index(a) for a in flat_out])
    return reshape(y, [int(np.prod([sizes[a] for a in g])) for g in rhs])
