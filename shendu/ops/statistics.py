"""Order statistics, NaN-ignoring reductions, logical reductions and counting:
``quantile``/``percentile``/``median``, the ``nan*`` family, ``all``/``any``,
``average``, ``ptp``, ``count_nonzero``, ``searchsorted``, ``bincount``, ``digitize``,
``histogram``, ``unique``, ``corrcoef``.

The differentiable ones are compositions of ops that have gradients: a quantile
gathers sorted values (``sort``, ``take_along_axis``) and interpolates between
them, so its gradient goes to the one or two order statistics it used; a ``nan*``
reduction replaces NaN by the reduction's identity with ``where`` (no gradient
reaches a NaN).
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of, normalize_axis

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _floatx():
    from .math import _floatx
    return _floatx()


def _float_tensor(x):
    from .math import _float_input
    return _float_input(x)


def _to_last_axis(x, axis):
    """(x with the axes in ``axis`` flattened into one last axis, the kept axes, ndim)."""
    from .shape import reshape, transpose
    shape = np.shape(data_of(x))
    axes = normalize_axis(axis, len(shape))
    kept = [d for d in range(len(shape)) if d not in axes]
    xt = transpose(x, kept + list(axes)) if len(shape) else reshape(x, (1,))
    return reshape(xt, [shape[d] for d in kept] + [-1]), kept, axes


def _restore(y, shape, axes, keepdims, extra):
    """Put back the reduced axes as size 1 when ``keepdims`` (``extra`` leading q axes)."""
    from .shape import reshape
    if not keepdims:
        return y
    out = list(np.shape(data_of(y))[:extra]) + [1 if d in axes else n for d, n in enumerate(shape)]
    return reshape(y, out)


def _quantile(x, q, axis, method, keepdims, ignore_nan, op):
    from .elementwise import add, multiply, subtract, where
    from .indexing import sort, take_along_axis
    from .shape import broadcast_to
    if method not in _METHODS:
        raise ValueError(f"{op}: method must be one of {_METHODS}. Received: method={method!r}")
    qa = np.asarray(data_of(q), np.float64)
    if ((qa < 0) | (qa > 1)).any():
        raise ValueError(f"{op}: quantiles must lie in [0, 1]. Received: q={qa.tolist()}")
    x = _float_tensor(x)
    shape = x.shape
    flat, kept, axes = _to_last_axis(x, axis)
    data = flat.data
    nan = np.isnan(data)
    n = data.shape[-1]
    # sort puts NaN last; a NaN-ignoring quantile interpolates among the valid values only
    count = (n - nan.sum(-1, keepdims=True)) if ignore_nan else np.full(data.shape[:-1] + (1,), n)
    s = sort(flat, axis=-1)
    pos = qa.reshape(qa.shape + (1,) * data.ndim) * np.maximum(count - 1, 0)   # q dims first
    lo, hi = np.floor(pos), np.ceil(pos)
    if method == "lower":
        lo = hi = lo
    elif method == "higher":
        lo = hi = hi
    elif method == "nearest":
        lo = hi = np.round(pos)  # halves to even, as NumPy
    frac = (pos - lo) if method == "linear" else np.full(pos.shape, 0.5 if method == "midpoint" else 0.0)
    # q's axes lead: sorted values, indices and weights all have shape q.shape + kept + (1,)
    full = np.broadcast_shapes(lo.shape, data.shape[:-1] + (1,))
    sb = broadcast_to(s, full[:-1] + (n,))
    a = take_along_axis(sb, np.broadcast_to(np.maximum(lo, 0).astype(np.intp), full), axis=-1)
    b = take_along_axis(sb, np.broadcast_to(np.maximum(hi, 0).astype(np.intp), full), axis=-1)
    w = np.broadcast_to(frac, full).astype(x.dtype)
    y = add(a, multiply(subtract(b, a), w))[..., 0]
    bad = (count == 0) if ignore_nan else nan.any(-1, keepdims=True)
    if bad.any():
        y = where(np.broadcast_to(bad, full)[..., 0], np.asarray(np.nan, x.dtype), y)
    return _restore(y, shape, axes, keepdims, qa.ndim)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantiles (q in [0, 1], a number or an array) over ``axis``, as
    ``numpy.quantile``: the output has q's shape first. ``method`` is 'linear' (interpolate
    between the two nearest order statistics), 'lower', 'higher', 'midpoint' or 'nearest'.
    A slice with a NaN gives NaN.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.quantile(np.array([1., 2., 3., 4.]), 0.5).numpy()
        array(2.5)
    """
    return _quantile(x, q, axis, method, keepdims, False, "quantile")


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th percentiles (q in [0, 100]); see ``quantile``."""
    return _quantile(x, np.asarray(data_of(q), np.float64) / 100, axis, method, keepdims, False, "percentile")


def median(x, axis=None, keepdims=False):
    """The median over ``axis`` (the mean of the two middle values for an even count)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaN (an all-NaN slice gives NaN)."""
    return _quantile(x, q, axis, method, keepdims, True, "nanquantile")


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, np.asarray(data_of(q), np.float64) / 100, axis, method, keepdims, True, "nanpercentile")


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


# ---- NaN-ignoring reductions ---------------------------------------------------------------------

def _nan_filled(x, value):
    from .elementwise import where
    x = as_tensor(x)
    if x.dtype.kind != "f":
        return x
    return where(np.isnan(x.data), np.asarray(value, x.dtype), x)


def nansum(x, axis=None, keepdims=False):
    """Sum over ``axis`` treating NaN as 0."""
    from .reduction import sum as _sum
    return _sum(_nan_filled(x, 0), axis, keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Product over ``axis`` treating NaN as 1."""
    from .reduction import prod
    return prod(_nan_filled(x, 1), axis, keepdims)


def _valid_count(x, axis, keepdims):
    a = data_of(x)
    return (~np.isnan(a)).sum(axis=normalize_axis(axis, a.ndim), keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """Mean of the non-NaN values over ``axis`` (NaN where there are none)."""
    from .elementwise import divide
    x = _float_tensor(x)
    n = _valid_count(x, axis, keepdims).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return divide(nansum(x, axis, keepdims), n)


def nanvar(x, axis=None, keepdims=False):
    """Population variance of the non-NaN values over ``axis``."""
    from .elementwise import divide, square, subtract
    x = _float_tensor(x)
    m = nanmean(x, axis, keepdims=True)
    n = _valid_count(x, axis, keepdims).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        # NaN replaced before squaring, so no NaN meets a gradient on the way back
        return divide(nansum(square(_nan_filled(subtract(x, m), 0)), axis, keepdims), n)


def nanstd(x, axis=None, keepdims=False):
    from .elementwise import sqrt
    return sqrt(nanvar(x, axis, keepdims))


def _all_nan_to_nan(y, x, axis, keepdims):
    from .elementwise import where
    empty = _valid_count(x, axis, keepdims) == 0
    if not np.any(empty):
        return y
    return where(empty, np.asarray(np.nan, y.dtype), y)


def nanmax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` ignoring NaN (NaN for an all-NaN slice)."""
    from .reduction import max as _max
    x = as_tensor(x)
    return _all_nan_to_nan(_max(_nan_filled(x, -np.inf), axis, keepdims), x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` ignoring NaN (NaN for an all-NaN slice)."""
    from .reduction import min as _min
    x = as_tensor(x)
    return _all_nan_to_nan(_min(_nan_filled(x, np.inf), axis, keepdims), x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    """Index of the maximum ignoring NaN (-1 for an all-NaN slice, as Keras on JAX)."""
    return _nanarg(np.nanargmax, -np.inf, x, axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """Index of the minimum ignoring NaN (-1 for an all-NaN slice)."""
    return _nanarg(np.nanargmin, np.inf, x, axis, keepdims)


def _nanarg(fn, fill, x, axis, keepdims):
    a = np.asarray(data_of(x))
    filled = np.where(np.isnan(a), fill, a) if a.dtype.kind == "f" else a
    arg = (np.argmax if fn is np.nanargmax else np.argmin)(filled, axis=axis, keepdims=keepdims)
    if a.dtype.kind == "f":
        empty = np.isnan(a).all(axis=axis, keepdims=keepdims)
        arg = np.where(empty, -1, arg)
    return Tensor(np.asarray(arg))


def nancumsum(x, axis=None, dtype=None):
    """Running sum treating NaN as 0."""
    from .reduction import cumsum
    return cumsum(_nan_filled(x, 0), axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    """Running product treating NaN as 1."""
    from .reduction import cumprod
    return cumprod(_nan_filled(x, 1), axis, dtype)


# ---- logical reductions, averages, spreads ---------------------------------------------------------

def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether every element over ``axis`` is nonzero (a boolean tensor)."""
    a = np.asarray(data_of(x))
    return Tensor(np.asarray(np.all(a, axis=normalize_axis(axis, a.ndim), keepdims=keepdims)))


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether some element over ``axis`` is nonzero (a boolean tensor)."""
    a = np.asarray(data_of(x))
    return Tensor(np.asarray(np.any(a, axis=normalize_axis(axis, a.ndim), keepdims=keepdims)))


def count_nonzero(x, axis=None):
    """The number of nonzero elements over ``axis`` (int)."""
    a = np.asarray(data_of(x))
    return Tensor(np.asarray(np.count_nonzero(a, axis=normalize_axis(axis, a.ndim))))


def average(x, axis=None, weights=None):
    """The (weighted) mean over ``axis``: sum(w x) / sum(w); weights 1-D along one axis or x's shape.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.average(np.array([1., 2., 4.]), weights=np.array([1., 1., 2.])).numpy()
        array(2.75)
    """
    from .elementwise import divide, multiply
    from .reduction import mean, sum as _sum
    x = _float_tensor(x)
    if weights is None:
        return mean(x, axis)
    w = as_tensor(weights) if isinstance(weights, Tensor) else Tensor(np.asarray(data_of(weights), x.dtype))
    if w.shape != x.shape:
        if axis is None or w.ndim != 1:
            raise ValueError(f"average: weights must have x's shape, or be 1-D along one axis. "
                             f"Received: x.shape={x.shape}, weights.shape={w.shape}, axis={axis}")
        ax, = normalize_axis(axis, x.ndim)
        if w.shape[0] != x.shape[ax]:
            raise ValueError(f"average: 1-D weights need one entry per element of axis {ax} "
                             f"(size {x.shape[ax]}). Received: weights.shape={w.shape}")
        from .shape import reshape
        w = reshape(w, [-1 if d == ax else 1 for d in range(x.ndim)])
    return divide(_sum(multiply(x, w), axis), _sum(multiply(w, np.ones(x.shape, w.dtype)), axis))


def ptp(x, axis=None, keepdims=False):
    """Range over ``axis``: max - min."""
    from .elementwise import subtract
    from .reduction import max as _max, min as _min
    return subtract(_max(x, axis, keepdims), _min(x, axis, keepdims))


def corrcoef(x):
    """Pearson correlation coefficients of the rows of x (each row a variable)."""
    from .einsum import einsum
    from .elementwise import divide, sqrt, subtract
    from .reduction import mean
    from .shape import reshape
    x = _float_tensor(x)
    if x.ndim == 1:
        x = reshape(x, (1, -1))
    d = subtract(x, mean(x, axis=1, keepdims=True))
    c = einsum("ik,jk->ij", d, d)
    s = sqrt(einsum("ii->i", c))
    return divide(divide(c, reshape(s, (-1, 1))), reshape(s, (1, -1)))


# ---- searching and counting (integer results, no gradient) ----------------------------------------

def searchsorted(sorted_sequence, values, side="left"):
    """Indices at which ``values`` would be inserted into the 1-D ``sorted_sequence``."""
    seq = np.asarray(data_of(sorted_sequence))
    if seq.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D. Received: shape={seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right'. Received: side={side!r}")
    return Tensor(np.searchsorted(seq, np.asarray(data_of(values)), side=side).astype(np.int32))


def digitize(x, bins):
    """The index of the bin each value falls in (bins increasing: bins[i-1] <= x < bins[i])."""
    return Tensor(np.digitize(np.asarray(data_of(x)), np.asarray(data_of(bins))).astype(np.int32))


def bincount(x, weights=None, minlength=0, sparse=False):
    """Count (or sum the ``weights`` of) each non-negative integer value; a 2-D x counts each row."""
    if sparse:
        raise ValueError("bincount: sparse outputs are not supported. Received: sparse=True")
    a = np.asarray(data_of(x))
    if a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        raise ValueError("bincount: x must hold non-negative integers")
    w = None if weights is None else np.asarray(data_of(weights))
    length = max(int(minlength), int(a.max()) + 1 if a.size else 0)
    if a.ndim == 1:
        out = np.bincount(a, w, minlength=length)
    elif a.ndim == 2:
        out = np.stack([np.bincount(r, None if w is None else wr, minlength=length)
                        for r, wr in zip(a, a if w is None else w)])
    else:
        raise ValueError(f"bincount: x must be 1-D or 2-D. Received: shape={a.shape}")
    if w is None:
        out = out.astype(np.int32)
    elif w.dtype.kind == "f":
        out = out.astype(w.dtype)
    return Tensor(out)


def histogram(x, bins=10, range=None):  # noqa: A002 - Keras name
    """(counts, bin edges) of the values of x in ``bins`` equal bins over ``range``; both in
    x's float type (floatx for integer x), as Keras."""
    a = np.asarray(data_of(x))
    counts, edges = np.histogram(a.reshape(-1), bins=bins, range=range)
    dt = a.dtype if a.dtype.kind == "f" else _floatx()
    return Tensor(counts.astype(dt)), Tensor(edges.astype(dt))


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,  # noqa: A002
           axis=None, size=None, fill_value=None):
    """The distinct values of x (sorted), with optional first indices, inverse and counts.

    ``size`` pads (with ``fill_value``, default the smallest value) or cuts the result
    to a fixed length, as Keras requires for JAX's static shapes.
    """
    a = np.asarray(data_of(x))
    res = np.unique(a, return_index=True, return_inverse=True, return_counts=True, axis=axis)
    values, index, inverse, counts = res
    if size is not None:
        fill = values.min() if fill_value is None and values.size else (fill_value or 0)
        k = int(size)
        pad = max(k - len(values), 0)
        values = np.concatenate([values[:k], np.full((pad,) + values.shape[1:], fill, values.dtype)])
        index = np.concatenate([index[:k], np.zeros(pad, index.dtype)])
        counts = np.concatenate([counts[:k], np.zeros(pad, counts.dtype)])
    out = [Tensor(values)]
    if return_index:
        out.append(Tensor(index.astype(np.int32)))
    if return_inverse:
        out.append(Tensor(inverse.reshape(a.shape if axis is None else -1).astype(np.int32)))
    if return_counts:
        out.append(Tensor(counts.astype(np.int32)))
    return out[0] if len(out) == 1 else tuple(out)


def argpartition(x, kth, axis=-1):
    """Indices that partition x along ``axis`` around its ``kth`` element (int32)."""
    return Tensor(np.argpartition(np.asarray(data_of(x)), kth, axis=axis).astype(np.int32))


# ---- segment reductions ----------------------------------------------------------------------------

class _Segment(Function):
    """y[s] = reduce of the rows data[i] with segment_ids[i] == s (ids outside
    [0, num_segments) are dropped; an empty segment holds the reduction's identity).

    sum:  g data[i] = gy[id_i]
    max/min: g data[i] = gy[id_i] where data[i] equals the result, split evenly among ties
    prod: g data[i] = gy[id_i] * (product of the other rows of its segment), formed
          without division (zeros handled exactly)
    """

    def forward(ctx, data, ids, num_segments, kind):
        ctx.ids, ctx.kind = ids, kind
        keep = (ids >= 0) & (ids < num_segments)
        ctx.keep = keep
        identity = {"sum": 0, "prod": 1, "max": -np.inf, "min": np.inf}[kind]
        y = np.full((num_segments,) + data.shape[1:], identity, data.dtype)
        ufunc = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}[kind]
        ufunc.at(y, ids[keep], data[keep])
        if kind in ("max", "min", "prod"):
            ctx.save_for_backward(data, y)
        return y

    def backward(ctx, gy):
        ids, keep, kind = np.where(ctx.keep, ctx.ids, 0), ctx.keep, ctx.kind
        mask = keep.reshape((-1,) + (1,) * (gy.ndim - 1))
        g = gy[ids] * mask
        if kind == "sum":
            return g
        data, y = ctx.saved
        if kind in ("max", "min"):
            hit = (data == y[ids]) & mask
            count = np.zeros(y.shape, gy.dtype)
            np.add.at(count, ids, hit.astype(gy.dtype))
            return np.where(hit, g / np.where(count[ids] > 0, count[ids], 1), 0).astype(gy.dtype)
        # prod: the product of the other rows = (product of the nonzero rows) / x_i when x_i != 0,
        # that product when x_i is the segment's only zero, and 0 when there are other zeros
        zero = data == 0
        nonzero_prod = np.ones(y.shape, data.dtype)
        np.multiply.at(nonzero_prod, ids[keep], np.where(zero, 1, data)[keep])
        zeros = np.zeros(y.shape, np.int64)
        np.add.at(zeros, ids[keep], zero[keep].astype(np.int64))
        p, z = nonzero_prod[ids], zeros[ids]
        others = np.where(zero, np.where(z == 1, p, 0), np.where(z == 0, p / np.where(zero, 1, data), 0))
        return (g * others).astype(gy.dtype)


def _segment(kind, data, segment_ids, num_segments, sorted):  # noqa: A002
    ids = np.asarray(data_of(segment_ids)).astype(np.int64)
    d = as_tensor(data)
    if ids.ndim != 1 or ids.shape[0] != d.shape[0]:
        raise ValueError(f"segment_{kind}: segment_ids must be 1-D with one id per row of data. "
                         f"Received: segment_ids.shape={ids.shape}, data.shape={d.shape}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    if kind in ("max", "min") and d.dtype.kind != "f":
        raise TypeError(f"segment_{kind}: data must be floating point (an empty segment holds "
                        f"{'-' if kind == 'max' else ''}inf). Received: dtype={d.dtype}")
    return _Segment.apply(d, ids=ids, num_segments=int(num_segments), kind=kind)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of data that share a segment id: y[s] = sum_{i: ids[i] = s} data[i].

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.segment_sum(np.array([1., 2., 3.]), np.array([0, 0, 2]), 3).numpy()
        array([3., 0., 3.])
    """
    return _segment("sum", data, segment_ids, num_segments, sorted)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Products of the rows of data that share a segment id (1 for an empty segment)."""
    return _segment("prod", data, segment_ids, num_segments, sorted)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maxima of the rows of data that share a segment id (-inf for an empty segment)."""
    return _segment("max", data, segment_ids, num_segments, sorted)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Minima of the rows of data that share a segment id (+inf for an empty segment)."""
    return _segment("min", data, segment_ids, num_segments, sorted)


def cdist(x, y):
    """Euclidean distances between the rows of x (..., N, D) and of y (..., M, D): (..., N, M).

    Computed from differences (not the |x|^2 + |y|^2 - 2 x.y expansion, which loses
    precision for near points); the gradient at a zero distance is taken as 0.
    """
    from .elementwise import sqrt, square, subtract, where
    from .reduction import sum as _sum
    from .shape import expand_dims
    x, y = _float_tensor(x), _float_tensor(y)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: x and y must have the same last axis. Received: {x.shape} and {y.shape}")
    d2 = _sum(square(subtract(expand_dims(x, -2), expand_dims(y, -3))), axis=-1)
    # NOTE: sqrt has no derivative at 0; a zero distance passes no gradient.
    zero = d2.data == 0
    return where(zero, np.zeros((), d2.dtype), sqrt(where(zero, np.ones((), d2.dtype), d2)))
