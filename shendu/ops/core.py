"""``keras.ops`` core: tensor facts and conversion, ``stop_gradient``, ``custom_gradient``,
scatter and slice updates, and control flow.

shendu runs eagerly, so control flow is Python control flow: ``cond`` calls one branch,
``while_loop`` and ``scan`` loop, and gradients flow through whatever the bodies
computed, as they do in Keras on its eager backends.
"""
import builtins

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of


def _float_dtype(dtype):
    from .creation import _dtype
    return _dtype(dtype)


# ---- tensor facts and conversion -------------------------------------------------------

def convert_to_numpy(x):
    """x as a NumPy array (a copy, so later changes to either do not reach the other)."""
    return np.array(data_of(x), copy=True)


def is_tensor(x):
    """Whether x is a shendu Tensor."""
    return isinstance(x, Tensor)


def dtype(x):
    """The dtype of x as Keras names it ('float32', 'int64', 'bool', ...)."""
    return np.dtype(np.asarray(data_of(x)).dtype).name


def ndim(x):
    return np.ndim(data_of(x))


def size(x):
    return int(np.size(data_of(x)))


def shape(x):
    """The shape of x as a tuple of ints."""
    return tuple(np.shape(data_of(x)))


def copy(x):
    """A tensor with x's values and a copy of its storage (gradient passes through)."""
    from .elementwise import multiply
    if isinstance(x, Tensor) and x.requires_grad:
        return multiply(x, 1)
    return Tensor(np.array(data_of(x), copy=True))


def array(x, dtype=None):
    """A new tensor holding a copy of x."""
    return Tensor(np.array(data_of(x), dtype=dtype, copy=True))


def empty(shape, dtype=None):
    """A tensor of ``shape`` (its values are zeros here, never uninitialized memory)."""
    return Tensor(np.zeros(shape, _float_dtype(dtype)))


def empty_like(x, dtype=None):
    return Tensor(np.zeros_like(np.asarray(data_of(x)), dtype=dtype))


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return Tensor(np.eye(n, dtype=_float_dtype(dtype)))


def saturate_cast(x, dtype):
    """x cast to ``dtype`` with values outside its range clipped to its limits first."""
    from .elementwise import cast, clip
    dtype = np.dtype(dtype)
    a = data_of(x)
    if dtype.kind in "iu" and a.dtype.kind in "fiu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, _lowest(a.dtype)), min(info.max, _highest(a.dtype))
        if a.dtype.kind == "f":
            # the largest float of x's type that does not exceed the integer limit
            # (compared as exact integers: a float32 rounds 2**31 - 1 up to 2**31)
            hi = np.nextafter(np.asarray(hi, a.dtype), -np.inf) if int(np.asarray(hi, a.dtype)) > hi else hi
            lo = np.nextafter(np.asarray(lo, a.dtype), np.inf) if int(np.asarray(lo, a.dtype)) < lo else lo
        return cast(clip(x, lo, hi), dtype)
    if dtype.kind == "f" and a.dtype.kind == "f":
        info = np.finfo(dtype)
        return cast(clip(x, max(info.min, np.finfo(a.dtype).min), min(info.max, np.finfo(a.dtype).max)), dtype)
    return cast(x, dtype)


def _lowest(dt):
    return np.iinfo(dt).min if dt.kind in "iu" else -np.inf


def _highest(dt):
    return np.iinfo(dt).max if dt.kind in "iu" else np.inf


def view(x, dtype=None):
    """x's bytes read as ``dtype`` (as ``ndarray.view``); a new tensor with no gradient."""
    a = np.asarray(data_of(x))
    return Tensor(a.copy() if dtype is None else a.view(np.dtype(dtype)).copy())


def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in an array of ``shape``: one tensor per axis."""
    return tuple(Tensor(np.asarray(i)) for i in np.unravel_index(np.asarray(data_of(indices)), shape))


# ---- gradients -----------------------------------------------------------------------------

def stop_gradient(variable):
    """The same values with no gradient flowing back through them.

    Example:
        >>> import shendu, shendu.ops as ops
        >>> x = shendu.tensor([2.0], requires_grad=True)
        >>> y = (x * ops.stop_gradient(x)).sum()
        >>> y.backward(); x.grad.numpy()
        array([2.], dtype=float32)
    """
    return Tensor._from_op(data_of(variable), None)


class _CustomGradient(Function):
    """y = f(x_1, ..., x_n) with a user-supplied gradient: g x_k = grad_fn(gy)[k]."""

    def forward(ctx, *xs, f, kwargs):
        with no_grad():
            out = f(*[Tensor._from_op(x, None) for x in xs], **kwargs)
        if not (isinstance(out, tuple) and len(out) == 2 and callable(out[1])):
            raise TypeError("custom_gradient: the function must return (output, grad_fn)")
        y, ctx.grad_fn = out
        return np.asarray(data_of(y))

    def backward(ctx, gy):
        with no_grad():
            try:
                grads = ctx.grad_fn(upstream=Tensor._from_op(gy, None))
            except TypeError:
                grads = ctx.grad_fn(Tensor._from_op(gy, None))
        grads = grads if isinstance(grads, (tuple, list)) else (grads,)
        if len(grads) != len(ctx.needs_input_grad):
            raise ValueError(f"custom_gradient: grad_fn returned {len(grads)} gradient(s) for "
                             f"{len(ctx.needs_input_grad)} input(s)")
        return tuple(None if g is None else np.asarray(data_of(g), gy.dtype) for g in grads)


def custom_gradient(f):
    """Decorate ``f(*tensors) -> (output, grad_fn)`` so that backward uses ``grad_fn``.

    ``grad_fn`` takes the upstream gradient (as ``upstream=`` or positionally) and
    returns one gradient per tensor argument of ``f``.

    Example:
        >>> import shendu, shendu.ops as ops
        >>> @ops.custom_gradient
        ... def double_grad(x):
        ...     return x * 1.0, lambda upstream: upstream * 2.0
        >>> x = shendu.tensor([1.0, 3.0], requires_grad=True)
        >>> double_grad(x).sum().backward(); x.grad.numpy()
        array([2., 2.], dtype=float32)
    """
    def wrapper(*args, **kwargs):
        return _CustomGradient.apply(*args, f=f, kwargs=kwargs)
    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper


# ---- slices and scatters -----------------------------------------------------------------

def _index_tuple(indices, op):
    idx = np.asarray(data_of(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers. Received: indices.dtype={idx.dtype}")
    if idx.ndim == 0:
        raise ValueError(f"{op}: indices must have shape (..., k); received a 0-d array")
    return tuple(np.moveaxis(idx, -1, 0))


class Scatter(Function):
    """y = zeros(shape) with values added at ``indices`` (rows of coordinates; repeats add);
    g values = gy gathered at those coordinates."""

    def forward(ctx, values, index, shape):
        ctx.index = index
        y = np.zeros(shape, values.dtype)
        np.add.at(y, index, values)
        return y

    def backward(ctx, gy):
        return gy[ctx.index]


def scatter(indices, values, shape):
    """A tensor of ``shape``, zero except at ``indices`` (..., k), where it holds ``values``
    (values at a repeated index are added).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.scatter(np.array([[0, 1], [1, 0]]), np.array([5., 7.]), (2, 2)).numpy()
        array([[0., 5.],
               [7., 0.]])
    """
    return Scatter.apply(values, index=_index_tuple(indices, "scatter"), shape=tuple(shape))


class ScatterUpdate(Function):
    """y = x with ``updates`` written at ``indices``;
    gx = gy with the written positions zeroed, g updates = gy at those positions."""

    def forward(ctx, x, updates, index):
        ctx.index = index
        y = x.copy()
        y[index] = updates
        return y

    def backward(ctx, gy):
        gx = gy.copy()
        gx[ctx.index] = 0
        return gx, gy[ctx.index]


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``updates`` written at ``indices`` (..., k): each row of indices is the
    coordinates of one update (k < rank updates whole slices). ``reduction`` 'add', 'max',
    'min' or 'mul' combines instead of overwriting (not differentiable then).
    """
    index = _index_tuple(indices, "scatter_update")
    if reduction is None:
        return ScatterUpdate.apply(inputs, updates, index=index)
    ufuncs = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}
    if reduction not in ufuncs:
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul'. "
                         f"Received: reduction={reduction!r}")
    y = np.array(data_of(inputs), copy=True)
    ufuncs[reduction].at(y, index, np.asarray(data_of(updates), y.dtype))
    return Tensor(y)


def _start_slices(op, x_shape, start_indices, shape):
    start = [int(s) for s in np.asarray(data_of(start_indices)).reshape(-1)]
    if len(start) != len(x_shape) or len(shape) != len(x_shape):
        raise ValueError(f"{op}: start_indices and shape need one entry per axis of the input "
                         f"(rank {len(x_shape)}). Received: start_indices={start}, shape={tuple(shape)}")
    # clamped so that the window lies inside the input, as XLA's dynamic slices
    start = [min(max(s, 0), max(n - k, 0)) for s, n, k in zip(start, x_shape, shape)]
    return tuple(builtins.slice(s, s + k) for s, k in zip(start, shape))


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras name
    """The window of ``shape`` starting at ``start_indices`` (clamped to lie inside)."""
    from .shape import getitem
    shape = tuple(int(n) for n in shape)
    return getitem(inputs, _start_slices("slice", np.shape(data_of(inputs)), start_indices, shape))


class SliceUpdate(Function):
    """y = x with ``updates`` written into a window;  gx = gy outside it, g updates = gy inside."""

    def forward(ctx, x, updates, window):
        ctx.window = window
        y = x.copy()
        y[window] = updates
        return y

    def backward(ctx, gy):
        gx = gy.copy()
        gx[ctx.window] = 0
        return gx, gy[ctx.window]


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the window at ``start_indices`` replaced by ``updates``."""
    window = _start_slices("slice_update", np.shape(data_of(inputs)), start_indices,
                           np.shape(data_of(updates)))
    return SliceUpdate.apply(inputs, updates, window=window)


def unstack(x, num=None, axis=0):
    """The slices of x along ``axis``, as a list."""
    from .shape import getitem
    shp = np.shape(data_of(x))
    ax = axis % len(shp)
    if num is not None and num != shp[ax]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of size {shp[ax]}")
    return [getitem(x, (np.s_[:],) * ax + (i,)) for i in range(shp[ax])]


def get_item(x, key):
    from .shape import getitem
    return getitem(x, key)


def select(condlist, choicelist, default=0):
    """For each element, the value from the first choice whose condition holds, else ``default``."""
    from .elementwise import where
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist and choicelist must have the same length. Received: "
                         f"{len(condlist)} and {len(choicelist)}")
    if not condlist:
        raise ValueError("select: condlist must not be empty")
    shape = np.broadcast_shapes(*[np.shape(data_of(c)) for c in list(condlist) + list(choicelist)])
    ref = next((c for c in choicelist if isinstance(c, Tensor)), as_tensor(choicelist[0]))
    out = as_tensor(np.broadcast_to(np.asarray(data_of(default), ref.dtype), shape))
    for c, v in zip(reversed(list(condlist)), reversed(list(choicelist))):
        out = where(c, v, out)
    return out


# ---- control flow ---------------------------------------------------------------------------

def _flatten(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in _flatten(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _flatten(tree[k])]
    return [tree]


def _unflatten(tree, leaves):
    it = iter(leaves)

    def build(t):
        if isinstance(t, (list, tuple)):
            return type(t)(build(s) for s in t)
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        return next(it)
    return build(tree)


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if pred, else ``false_fn()``."""
    return true_fn() if bool(data_of(pred)) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clamped to the valid range."""
    i = min(max(int(data_of(index)), 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002
    """Apply ``body`` to ``loop_vars`` while ``cond(*loop_vars)`` holds (at most
    ``maximum_iterations`` times)."""
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while (maximum_iterations is None or n < maximum_iterations) and bool(data_of(cond(*state))):
        out = body(*state)
        state = (out,) if single else tuple(out)
        n += 1
    return state[0] if single else type(loop_vars)(state)


def fori_loop(lower, upper, body_fun, init_val):
    """val = body_fun(i, val) for i in range(lower, upper)."""
    val = init_val
    for i in range(int(data_of(lower)), int(data_of(upper))):
        val = body_fun(i, val)
    return val


def _stack_leaves(results, template):
    from .shape import stack
    if not results:
        return None
    columns = list(zip(*[_flatten(r) for r in results]))
    return _unflatten(template, [stack(list(col)) for col in columns])


def _leading_slices(xs, length):
    from .shape import getitem
    leaves = _flatten(xs)
    return [_unflatten(xs, [getitem(leaf, i) for leaf in leaves]) for i in range(length)]


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """carry, y_i = f(carry, x_i) over the leading axis of ``xs``; returns (carry, stacked ys).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1., 2., 3.]))
        >>> float(carry), ys.numpy()
        (6.0, array([0., 2., 9.]))
    """
    if xs is None:
        if length is None:
            raise ValueError("scan: give xs or length")
        items = [None] * int(length)
    else:
        n = np.shape(data_of(_flatten(xs)[0]))[0]
        if length is not None and length != n:
            raise ValueError(f"scan: length={length} does not match the leading axis of xs ({n})")
        items = _leading_slices(xs, n)
    order = range(len(items) - 1, -1, -1) if reverse else range(len(items))
    carry, ys = init, [None] * len(items)
    for i in order:
        carry, ys[i] = f(carry, items[i])
    if ys and ys[0] is not None:
        return carry, _stack_leaves(ys, ys[0])
    return carry, None


def associative_scan(f, elems, reverse=False, axis=0):
    """Running ``f``-combination along ``axis``: out_0 = x_0, out_i = f(out_{i-1}, x_i)
    (from the end when ``reverse``); ``f`` must be associative, as Keras requires."""
    from .shape import moveaxis, stack
    leaves = _flatten(elems)
    moved = [moveaxis(leaf, axis, 0) for leaf in leaves]
    n = np.shape(data_of(moved[0]))[0]
    slices = _leading_slices(_unflatten(elems, moved), n)
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    outs = [None] * n
    acc = None
    for i in order:
        acc = slices[i] if acc is None else (f(slices[i], acc) if reverse else f(acc, slices[i]))
        outs[i] = acc
    cols = list(zip(*[_flatten(o) for o in outs]))
    return _unflatten(elems, [moveaxis(stack(list(c)), 0, axis) for c in cols])


def map(f, xs):  # noqa: A001 - Keras name
    """``f`` applied to each slice of xs along its leading axis, results stacked."""
    n = np.shape(data_of(_flatten(xs)[0]))[0]
    outs = [f(item) for item in _leading_slices(xs, n)]
    return _stack_leaves(outs, outs[0]) if outs else xs


def vectorized_map(function, elements):
    """``function`` mapped over the leading axis of ``elements`` (as ``map``, run eagerly)."""
    return map(function, elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``pyfunc`` applied elementwise (or over the core dims of ``signature``) with
    broadcasting, as ``numpy.vectorize``; gradients flow through each call."""
    import re
    from .shape import broadcast_to, getitem, reshape, stack
    excluded = set(excluded or ())
    core_in = None
    if signature is not None:
        m = re.fullmatch(r"\s*(.*?)\s*->\s*(.*?)\s*", signature)
        if not m:
            raise ValueError(f"vectorize: bad signature {signature!r}")
        core_in = [len([d for d in part.strip("()").split(",") if d.strip()])
                   for part in re.findall(r"\([^)]*\)", m.group(1))]

    def wrapped(*args):
        pos = [i for i in range(len(args)) if i not in excluded]
        tens = [as_tensor(args[i]) for i in pos]
        cores = core_in if core_in is not None else [0] * len(tens)
        loop = np.broadcast_shapes(*[t.shape[:t.ndim - c] for t, c in zip(tens, cores)])
        tens = [broadcast_to(t, loop + t.shape[t.ndim - c:]) for t, c in zip(tens, cores)]
        outs = []
        for idx in np.ndindex(*loop):
            call = list(args)
            for i, t in zip(pos, tens):
                call[i] = getitem(t, idx) if idx else t
            outs.append(as_tensor(pyfunc(*call)))
        if not loop:
            return outs[0]
        y = stack(outs)
        return reshape(y, loop + y.shape[1:])
    return wrapped


def view_as_real(x):
    """A complex tensor as (..., 2) floats: real and imaginary parts last."""
    a = np.asarray(data_of(x))
    if a.dtype.kind != "c":
        raise TypeError(f"view_as_real: x must be complex. Received: dtype={a.dtype}")
    return Tensor(np.stack([a.real, a.imag], axis=-1))


def view_as_complex(x):
    """A (..., 2) float tensor as complex numbers (real, imaginary)."""
    a = np.asarray(data_of(x))
    if a.shape[-1:] != (2,) or a.dtype.kind != "f":
        raise ValueError(f"view_as_complex: x must be float with a last axis of size 2. "
                         f"Received: shape={a.shape}, dtype={a.dtype}")
    return Tensor(a[..., 0] + 1j * a[..., 1])
