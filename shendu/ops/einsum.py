"""Tensor contractions: ``einsum`` and the products that are einsums (``tensordot``,
``dot``, ``outer``, ``inner``, ``vdot``, ``kron``).

The gradient of an einsum with respect to one operand is itself an einsum: the
output's labels and the other operands' labels contracted into that operand's
labels. Three details make the rule general:

* labels of the operand that no other term carries (``j`` in ``ij->i``) were summed
  away, so the gradient is constant along them: it is broadcast back;
* a label an operand repeats (``ii->i``, a diagonal) receives the gradient on the
  diagonal only: it is written there into zeros;
* an axis of size 1 that broadcast against a larger one sums the gradient over it.
"""
import functools
import string
from collections import Counter

import numpy as np

from ..autograd.function import Function
from ._util import data_of


def _parse(subscripts, shapes):
    """Per-operand labels and output labels, with ``...`` spelt out as fresh letters.

    Implicit mode (no ``->``) outputs the broadcast axes, then every label used once,
    in alphabetical order, as NumPy does.
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string such as 'ij,jk->ik'. "
                        f"Received: subscripts={subscripts!r}")
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s); "
                         f"received {len(shapes)}")
    used = {c for c in s if c.isalpha()}
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max([len(shape) - (len(t) - 3) for t, shape in zip(terms, shapes) if "..." in t],
                default=0)
    ell = "".join(free[:max(n_ell, 0)])
    labels = []
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        if "..." in t:
            k = len(shape) - (len(t) - 3)
            t = t.replace("...", ell[len(ell) - k:] if k > 0 else "")
        if not (t.isalpha() or t == "") or len(t) != len(shape):
            raise ValueError(f"einsum: term {terms[i]!r} of {subscripts!r} does not fit operand "
                             f"{i} of shape {tuple(shape)}")
        labels.append(t)
    if arrow:
        out = out.replace("...", ell)
        if not all(c.isalpha() and c in "".join(labels) for c in out) or len(set(out)) != len(out):
            raise ValueError(f"einsum: output {out!r} of {subscripts!r} must name distinct labels "
                             "of the inputs")
    else:
        counts = Counter("".join(labels))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return labels, out


def _label_sizes(subscripts, labels, shapes):
    sizes = {}
    for t, shape in zip(labels, shapes):
        for c, n in zip(t, shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: label {c!r} of {subscripts!r} has sizes {sizes[c]} and "
                                 f"{n} in different operands (shapes "
                                 f"{', '.join(str(tuple(s)) for s in shapes)})")
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


def _contract(subs_in, out, arrays):
    """einsum of ``arrays`` with per-array labels ``subs_in`` into ``out``.

    Two operands with distinct labels and equal sizes become one batched matrix product:
    batch labels (in both and the output), kept labels of each, contracted labels (in both,
    not the output), after summing away labels only one operand has. That runs in BLAS,
    several times faster than ``np.einsum``'s loops for attention-sized products.
    Anything else (diagonals, size-1 broadcasting, three operands) goes to ``np.einsum``.
    """
    if len(arrays) == 2:
        y = _as_matmul(subs_in[0], subs_in[1], out, *arrays)
        if y is not None:
            return y
    return np.asarray(np.einsum(",".join(subs_in) + "->" + out, *arrays, optimize=len(arrays) > 1))


def _as_matmul(la, lb, out, a, b):
    if len(set(la)) != len(la) or len(set(lb)) != len(lb):
        return None
    size = dict(zip(la, a.shape))
    for c, n in zip(lb, b.shape):
        if size.setdefault(c, n) != n:
            return None
    # a label only one operand has, and the output lacks, is summed first
    a_sum = tuple(i for i, c in enumerate(la) if c not in lb and c not in out)
    b_sum = tuple(i for i, c in enumerate(lb) if c not in la and c not in out)
    if a_sum:
        a, la = a.sum(axis=a_sum), "".join(c for i, c in enumerate(la) if i not in a_sum)
    if b_sum:
        b, lb = b.sum(axis=b_sum), "".join(c for i, c in enumerate(lb) if i not in b_sum)
    batch = [c for c in out if c in la and c in lb]
    keep_a = [c for c in out if c in la and c not in lb]
    keep_b = [c for c in out if c in lb and c not in la]
    inner = [c for c in la if c in lb and c not in out]
    n = [int(np.prod([size[c] for c in group])) for group in (batch, keep_a, inner, keep_b)]
    a2 = np.transpose(a, [la.index(c) for c in batch + keep_a + inner]).reshape(n[0], n[1], n[2])
    b2 = np.transpose(b, [lb.index(c) for c in batch + inner + keep_b]).reshape(n[0], n[2], n[3])
    y = np.matmul(a2, b2).reshape([size[c] for c in batch + keep_a + keep_b])
    order = batch + keep_a + keep_b
    return np.transpose(y, [order.index(c) for c in out])


class Einsum(Function):
    """y = einsum(labels_1, ..., labels_n -> out) of x_1 .. x_n  (NumPy's contraction path).

    g x_k = einsum(out, labels_j (j != k) -> labels_k) of (gy, x_j ...), then broadcast
    along the labels only x_k carries, written onto the diagonal where x_k repeats a
    label, and summed over the axes where x_k had size 1 against a larger size.
    Saves the operands.
    """

    def forward(ctx, *xs, labels, out, sizes):
        ctx.save_for_backward(*xs)
        ctx.labels, ctx.out, ctx.sizes = labels, out, sizes
        return _contract(labels, out, xs)

    def backward(ctx, gy):
        xs = ctx.saved
        return tuple(_operand_grad(k, gy, xs, ctx.labels, ctx.out, ctx.sizes) if need else None
                     for k, need in enumerate(ctx.needs_input_grad))


def _operand_grad(k, gy, xs, labels, out, sizes):
    lk, x = labels[k], xs[k]
    others = [i for i in range(len(xs)) if i != k]
    seen = set(out).union(*[labels[i] for i in others])
    uniq = "".join(dict.fromkeys(lk))
    target = "".join(c for c in uniq if c in seen)
    operands = [gy] + [np.broadcast_to(xs[i], [sizes[c] for c in labels[i]]) for i in others]
    g = _contract([out] + [labels[i] for i in others], target, operands)
    g = g.reshape([sizes[c] if c in target else 1 for c in uniq])
    g = np.broadcast_to(g, [sizes[c] for c in uniq])
    own = {c: n for c, n in zip(lk, x.shape)}
    shrunk = tuple(a for a, c in enumerate(uniq) if own[c] == 1 and sizes[c] != 1)
    if shrunk:
        g = g.sum(axis=shrunk, keepdims=True)
    if len(uniq) == len(lk):
        return g.astype(gy.dtype, copy=False)
    # A repeated label: the gradient lives on the diagonal it selected.
    gx = np.zeros(x.shape, gy.dtype)
    index = []
    for c in lk:
        shape = [1] * len(uniq)
        shape[uniq.index(c)] = own[c]
        index.append(np.arange(own[c]).reshape(shape))
    gx[tuple(index)] = g
    return gx


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over ``operands``, as ``numpy.einsum`` (string subscripts).

    Labels in the output are kept, the others are summed; ``...`` stands for broadcast
    axes; a label repeated within one operand takes its diagonal. Without ``->`` the
    output is the broadcast axes followed by the labels used once, alphabetically.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> a, b = np.arange(6.).reshape(2, 3), np.ones((3, 2))
        >>> ops.einsum("ij,jk->ik", a, b).numpy()
        array([[ 3.,  3.],
               [12., 12.]])
        >>> ops.einsum("ii", np.eye(3)).numpy()
        array(3.)
    """
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    shapes = tuple(tuple(np.shape(data_of(x))) for x in operands)
    labels, out, sizes = _plan(subscripts, shapes) if isinstance(subscripts, str) else _parse(subscripts, shapes)
    return Einsum.apply(*operands, labels=labels, out=out, sizes=dict(sizes))


@functools.lru_cache(maxsize=1024)
def _plan(subscripts, shapes):
    """Parsed labels, output and label sizes, remembered per (subscripts, shapes): a model
    calls the same einsum every step."""
    labels, out = _parse(subscripts, shapes)
    return tuple(labels), out, tuple(_label_sizes(subscripts, labels, shapes).items())


def _axes_list(axes, nd, op, name):
    axes = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    out = []
    for a in axes:
        if not -nd <= int(a) < nd:
            raise ValueError(f"{op}: axis {a} of {name} is out of range for rank {nd}")
        out.append(int(a) % nd)
    return out


def tensordot(x1, x2, axes=2):
    """Sum of products over the last ``axes`` axes of x1 and the first of x2, or over
    the axis pairs ``axes = (axes_of_x1, axes_of_x2)``, as ``numpy.tensordot``.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5)), axes=2).shape
        (2, 5)
    """
    n1, n2 = np.ndim(data_of(x1)), np.ndim(data_of(x2))
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(n1, n2):
            raise ValueError(f"tensordot: axes={axes} must lie in [0, {min(n1, n2)}] for ranks "
                             f"{n1} and {n2}")
        a1, a2 = list(range(n1 - axes, n1)), list(range(axes))
    else:
        if len(axes) != 2:
            raise ValueError(f"tensordot: axes must be an int or a pair of axis lists. "
                             f"Received: axes={axes}")
        a1, a2 = _axes_list(axes[0], n1, "tensordot", "x1"), _axes_list(axes[1], n2, "tensordot", "x2")
        if len(a1) != len(a2):
            raise ValueError(f"tensordot: axes {axes} pair {len(a1)} axes of x1 with {len(a2)} of x2")
    letters = iter(string.ascii_letters)
    l1 = [next(letters) for _ in range(n1)]
    l2 = [next(letters) for _ in range(n2)]
    for i, j in zip(a1, a2):
        l2[j] = l1[i]
    out = [c for i, c in enumerate(l1) if i not in a1] + [c for j, c in enumerate(l2) if j not in a2]
    return einsum("".join(l1) + "," + "".join(l2) + "->" + "".join(out), x1, x2)


def dot(x1, x2):
    """``numpy.dot``: a scalar product for 0-d inputs, else the sum over the last axis of
    x1 and the second-to-last of x2 (the last when x2 is 1-D).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.dot(np.ones((2, 3, 4)), np.ones((5, 4, 6))).shape
        (2, 3, 5, 6)
    """
    n1, n2 = np.ndim(data_of(x1)), np.ndim(data_of(x2))
    if n1 == 0 or n2 == 0:
        from .elementwise import multiply
        return multiply(x1, x2)
    return tensordot(x1, x2, axes=([n1 - 1], [max(n2 - 2, 0)]))


def outer(x1, x2):
    """Outer product of the flattened inputs: y[i, j] = x1[i] x2[j]."""
    from .shape import reshape
    return einsum("i,j->ij", reshape(x1, (-1,)), reshape(x2, (-1,)))


def inner(x1, x2):
    """Sum over the last axis of both, as ``numpy.inner`` (a product for 0-d inputs)."""
    n1, n2 = np.ndim(data_of(x1)), np.ndim(data_of(x2))
    if n1 == 0 or n2 == 0:
        from .elementwise import multiply
        return multiply(x1, x2)
    return tensordot(x1, x2, axes=([n1 - 1], [n2 - 1]))


def vdot(x1, x2):
    """Dot product of the flattened inputs: sum_i x1[i] x2[i] (real inputs)."""
    from .shape import reshape
    return einsum("i,i->", reshape(x1, (-1,)), reshape(x2, (-1,)))


def kron(x1, x2):
    """Kronecker product, as ``numpy.kron``: every element of x1 times a block of x2.

    y[i * m + k, j * n + l] = x1[i, j] x2[k, l] (and likewise in any rank).
    """
    from .shape import reshape
    s1, s2 = np.shape(data_of(x1)), np.shape(data_of(x2))
    nd = max(len(s1), len(s2))
    s1, s2 = (1,) * (nd - len(s1)) + tuple(s1), (1,) * (nd - len(s2)) + tuple(s2)
    la, lb = string.ascii_letters[:nd], string.ascii_letters[nd:2 * nd]
    y = einsum(f"{la},{lb}->{''.join(a + b for a, b in zip(la, lb))}",
               reshape(x1, s1), reshape(x2, s2))
    return reshape(y, tuple(a * b for a, b in zip(s1, s2)))
