"""``keras.ops.linalg``: factorizations, inverses, solves and norms of (batches of) matrices.

Every function works on the last two axes and batches over the others. The
differentiable ones have their reverse-mode rules written beside them (A^{-T} is
the inverse transpose, sym(M) = (M + M^T)/2, Phi(M) the lower triangle with half
its diagonal):

    inv       Y = A^{-1}               gA = -Y^T gY Y^T
    det       d = det A                gA = gd d A^{-T}
    slogdet   (s, l = ln|det A|)       gA = gl A^{-T}
    solve     X = A^{-1} B             gB = A^{-T} gX,  gA = -gB X^T
    cholesky  A = L L^T                gA = sym(L^{-T} Phi(L^T gL) L^{-1})
    eigh      A = V diag(w) V^T        gA = sym(V (diag(gw) + F o (V^T gV)) V^T),  F_ij = 1/(w_j - w_i)
    qr        A = Q R (reduced, m>=n)  gA = (gQ + Q copyltu(M)) R^{-T},  M = R gR^T - gQ^T Q
    svd       A = U diag(s) V^T        (reduced) see ``SVD``

``cholesky`` and ``eigh`` read only the lower triangle of A, as LAPACK does; their
gradients are the symmetric ones (what a symmetric input's perturbations see).
``norm``, ``pinv``, ``lstsq``, ``matrix_power`` and ``cholesky_inverse`` are built
from the above, so they differentiate through them.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor",
           "matrix_power", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd",
           "slogdet", "logdet"]


def _T(a):
    return np.swapaxes(a, -1, -2)


def _sym(m):
    return (m + _T(m)) / 2


def _float(x):
    from .math import _float_input
    return _float_input(x)


def _square(op, x):
    shape = np.shape(data_of(x))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{op}: expected a square matrix (or a batch of them) in the last two axes. "
                         f"Received: shape={shape}")


def _linalg_error(op, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as e:
        raise np.linalg.LinAlgError(f"{op}: {e}") from None


class Inv(Function):
    """Y = A^{-1};  gA = -Y^T gY Y^T."""

    def forward(ctx, a):
        y = _linalg_error("inv", np.linalg.inv, a)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, gy):
        y, = ctx.saved
        return -_T(y) @ gy @ _T(y)


class Det(Function):
    """d = det A;  gA = gd d A^{-T}."""

    def forward(ctx, a):
        d = np.linalg.det(a)
        ctx.save_for_backward(a, d)
        return np.asarray(d)

    def backward(ctx, gy):
        a, d = ctx.saved
        return (gy * d)[..., None, None] * _T(_linalg_error("det", np.linalg.inv, a))


class LogAbsDet(Function):
    """l = ln|det A| (the second output of slogdet);  gA = gl A^{-T}."""

    def forward(ctx, a):
        _, logabs = np.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return np.asarray(logabs)

    def backward(ctx, gy):
        a, = ctx.saved
        return gy[..., None, None] * _T(_linalg_error("slogdet", np.linalg.inv, a))


class Solve(Function):
    """X = A^{-1} B (B of shape (..., n, k));  gB = A^{-T} gX,  gA = -gB X^T."""

    def forward(ctx, a, b):
        x = _linalg_error("solve", np.linalg.solve, a, b)
        ctx.save_for_backward(a, x)
        return x

    def backward(ctx, gy):
        a, x = ctx.saved
        gb = np.linalg.solve(_T(a), gy)
        return -gb @ _T(x), gb


class Cholesky(Function):
    """A = L L^T, L lower triangular (from A's lower triangle);
    gA = sym(L^{-T} Phi(L^T gL) L^{-1}), Phi = lower triangle with the diagonal halved."""

    def forward(ctx, a):
        L = _linalg_error("cholesky", np.linalg.cholesky, a)
        ctx.save_for_backward(L)
        return L

    def backward(ctx, gy):
        L, = ctx.saved
        p = np.tril(_T(L) @ gy)
        p = p - 0.5 * np.eye(L.shape[-1], dtype=L.dtype) * p
        linv = np.linalg.inv(L)
        return _sym(_T(linv) @ p @ linv)


class Eigh(Function):
    """A = V diag(w) V^T for symmetric A (from its lower triangle), w ascending;
    gA = sym(V (diag(gw) + F o (V^T gV)) V^T), F_ij = 1/(w_j - w_i) off the diagonal.

    Two outputs: ``forward`` returns w and V stacked as one array (..., n, n + 1), and
    ``eigh`` splits them (each piece then sends its gradient back through the split).
    """

    def forward(ctx, a):
        w, v = np.linalg.eigh(a)
        ctx.save_for_backward(w, v)
        return np.concatenate([w[..., None, :], v], axis=-2)

    def backward(ctx, gy):
        w, v = ctx.saved
        gw, gv = gy[..., 0, :], gy[..., 1:, :]
        diff = w[..., None, :] - w[..., :, None]
        # NOTE: repeated eigenvalues have no defined eigenvector gradient; F is 0 there.
        with np.errstate(divide="ignore"):
            f = np.where(diff == 0, 0, 1 / np.where(diff == 0, 1, diff))
        inner = f * (_T(v) @ gv)
        inner = inner + gw[..., :, None] * np.eye(w.shape[-1], dtype=w.dtype)
        return _sym(v @ inner @ _T(v))


class QR(Function):
    """A = Q R, reduced (m >= n); gA = (gQ + Q copyltu(M)) R^{-T}, M = R gR^T - gQ^T Q,
    copyltu(M) = the lower triangle of M mirrored to the upper one.
    forward returns Q and R joined along the last axis: (..., m, n + n)."""

    def forward(ctx, a):
        q, r = np.linalg.qr(a, mode="reduced")
        ctx.save_for_backward(q, r)
        below = np.zeros(q.shape[:-2] + (q.shape[-2] - r.shape[-2], r.shape[-1]), r.dtype)
        return np.concatenate([q, np.concatenate([r, below], -2)], -1)

    def backward(ctx, gy):
        q, r = ctx.saved
        n = r.shape[-1]
        gq, gr = gy[..., :n], gy[..., :n, n:]
        m = r @ _T(gr) - _T(gq) @ q
        low = np.tril(m, -1)
        copyltu = low + _T(low) + np.eye(n, dtype=m.dtype) * m
        b = gq + q @ copyltu
        return _T(np.linalg.solve(r, _T(b)))


class SVD(Function):
    """A = U diag(s) V^T, reduced (k = min(m, n)).

    With F_ij = 1/(s_j^2 - s_i^2) (0 on the diagonal), J = F o (U^T gU), K = F o (V^T gV):
    gA = U (diag(gs) + (J + J^T) diag(s) + diag(s) (K + K^T)) V^T
         + (I - U U^T) gU diag(1/s) V^T + U diag(1/s) gV^T (I - V V^T).
    forward returns U, s, V^T packed as (..., m + 1 + k, max(k, n))... see ``svd``.
    """

    def forward(ctx, a, compute_uv):
        if not compute_uv:
            u, s, vh = np.linalg.svd(a, full_matrices=False)
            ctx.save_for_backward(u, s, vh)
            ctx.compute_uv = False
            return s
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, s, vh)
        ctx.compute_uv = True
        ctx.shapes = (u.shape[-1], a.shape[-2], a.shape[-1])
        return _pack_svd(u, s, vh)

    def backward(ctx, gy):
        u, s, vh = ctx.saved
        if not ctx.compute_uv:
            return (u * gy[..., None, :]) @ vh
        gu, gs, gvh = _unpack_svd(gy, *ctx.shapes)
        v, gv = _T(vh), _T(gvh)
        k = s.shape[-1]
        eye = np.eye(k, dtype=s.dtype)
        s2 = s * s
        d = s2[..., None, :] - s2[..., :, None]
        # NOTE: equal singular values leave U and V undefined; F is 0 there.
        with np.errstate(divide="ignore"):
            f = np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))
        j = f * (_T(u) @ gu)
        kk = f * (_T(v) @ gv)
        core = eye * gs[..., None, :] + (j + _T(j)) * s[..., None, :] + s[..., :, None] * (kk + _T(kk))
        ga = u @ core @ vh
        inv_s = 1 / s
        m, n = u.shape[-2], v.shape[-2]
        if m > k:
            ga = ga + (gu - u @ (_T(u) @ gu)) * inv_s[..., None, :] @ vh
        if n > k:
            ga = ga + (u * inv_s[..., None, :]) @ _T(gv - v @ (_T(v) @ gv))
        return ga


def _pack_svd(u, s, vh):
    """U (m, k), s (k,), V^T (k, n) in one array (m + 1 + k, max(k, n)) per matrix."""
    m, k = u.shape[-2:]
    n = vh.shape[-1]
    w = max(k, n)
    out = np.zeros(u.shape[:-2] + (m + 1 + k, w), u.dtype)
    out[..., :m, :k] = u
    out[..., m, :k] = s
    out[..., m + 1:, :n] = vh
    return out


def _unpack_svd(p, k, m, n):
    return p[..., :m, :k], p[..., m, :k], p[..., m + 1:, :n]


# ---- public functions ------------------------------------------------------------------------------

def inv(x):
    """The inverse of each square matrix.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.inv(np.array([[2., 0.], [0., 4.]])).numpy()
        array([[0.5 , 0.  ],
               [0.  , 0.25]])
    """
    _square("inv", x)
    return Inv.apply(_float(x))


def det(x):
    """The determinant of each square matrix."""
    _square("det", x)
    return Det.apply(_float(x))


def slogdet(x):
    """(sign, ln|det|) of each square matrix; the log carries the gradient."""
    _square("slogdet", x)
    x = _float(x)
    sign, _ = np.linalg.slogdet(x.data)
    return Tensor(np.asarray(sign)), LogAbsDet.apply(x)


def logdet(x):
    """ln det of each matrix (NaN where the determinant is negative, as Keras)."""
    from .elementwise import where
    sign, logabs = slogdet(x)
    bad = sign.data < 0
    if not np.any(bad):
        return logabs
    return where(bad, np.asarray(np.nan, logabs.dtype), logabs)


def solve(a, b):
    """X with A X = B; B of shape (..., n, k), or (n,) for one vector (as NumPy).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.solve(np.array([[2., 0.], [0., 4.]]), np.array([2., 2.])).numpy()
        array([1. , 0.5])
    """
    from .shape import reshape
    _square("solve", a)
    a = _float(a)
    b = _float(b)
    if b.ndim == 1:
        return reshape(Solve.apply(a, reshape(b, (-1, 1))), (-1,))
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: b must have {a.shape[-1]} rows. Received: a.shape={a.shape}, b.shape={b.shape}")
    return Solve.apply(a, b)


def solve_triangular(a, b, lower=False):
    """X with A X = B for triangular A (only its lower or upper triangle is read)."""
    from .indexing import tril, triu
    return solve(tril(a) if lower else triu(a), b)


def cholesky(x, upper=False):
    """The Cholesky factor L (A = L L^T) of each symmetric positive-definite matrix, or
    its transpose when ``upper``."""
    from .shape import swapaxes
    _square("cholesky", x)
    L = Cholesky.apply(_float(x))
    return swapaxes(L, -1, -2) if upper else L


def cholesky_inverse(x, upper=False):
    """The inverse of A from its Cholesky factor: (L L^T)^{-1} (or (U^T U)^{-1} when ``upper``)."""
    from .products import matmul
    from .shape import swapaxes
    _square("cholesky_inverse", x)
    f = _float(x)
    a = matmul(swapaxes(f, -1, -2), f) if upper else matmul(f, swapaxes(f, -1, -2))
    return inv(a)


def eigh(x):
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix (its lower
    triangle is read)."""
    from .shape import getitem
    _square("eigh", x)
    packed = Eigh.apply(_float(x))
    return getitem(packed, (Ellipsis, 0, np.s_[:])), getitem(packed, (Ellipsis, np.s_[1:], np.s_[:]))


def eig(x):
    """(eigenvalues, eigenvectors) of each general square matrix (complex in general;
    no gradient)."""
    _square("eig", x)
    w, v = np.linalg.eig(np.asarray(data_of(x)))
    return Tensor(w), Tensor(v)


def qr(x, mode="reduced"):
    """(Q, R) with A = Q R; 'reduced' Q is (m, k), 'complete' (m, m). Differentiable in
    'reduced' mode with m >= n."""
    from .shape import getitem
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete'. Received: mode={mode!r}")
    x = _float(x)
    if x.ndim < 2:
        raise ValueError(f"qr: x must be at least 2-D. Received: shape={x.shape}")
    m, n = x.shape[-2:]
    if mode == "reduced" and m >= n:
        packed = QR.apply(x)
        return getitem(packed, (Ellipsis, np.s_[:n])), getitem(packed, (Ellipsis, np.s_[:n], np.s_[n:]))
    q, r = np.linalg.qr(x.data, mode=mode)
    return Tensor(q), Tensor(r)


def svd(x, full_matrices=True, compute_uv=True):
    """(U, s, V^T) with A = U diag(s) V^T, or s alone when ``compute_uv`` is False.

    Gradients flow through s, and through U and V^T when ``full_matrices`` is False (the
    extra columns of a full U or V are not determined by A, so they carry none).
    """
    from .shape import getitem
    x = _float(x)
    if x.ndim < 2:
        raise ValueError(f"svd: x must be at least 2-D. Received: shape={x.shape}")
    if not compute_uv:
        return SVD.apply(x, compute_uv=False)
    if full_matrices:
        u, s, vh = np.linalg.svd(x.data, full_matrices=True)
        return Tensor(u), Tensor(s), Tensor(vh)
    m, n = x.shape[-2:]
    k = min(m, n)
    p = SVD.apply(x, compute_uv=True)
    return (getitem(p, (Ellipsis, np.s_[:m], np.s_[:k])), getitem(p, (Ellipsis, m, np.s_[:k])),
            getitem(p, (Ellipsis, np.s_[m + 1:], np.s_[:n])))


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse: V diag(1/s) U^T over the singular values above
    ``rcond`` times the largest (default: max(m, n) * machine epsilon)."""
    from .elementwise import divide, multiply, where
    from .products import matmul
    from .shape import expand_dims, swapaxes
    x = _float(x)
    u, s, vh = svd(x, full_matrices=False)
    if rcond is None:
        rcond = max(x.shape[-2:]) * np.finfo(x.dtype).eps
    keep = s.data > rcond * s.data.max(axis=-1, keepdims=True)
    one, zero = np.ones((), x.dtype), np.zeros((), x.dtype)
    inv_s = where(keep, divide(one, where(keep, s, one)), zero)
    return matmul(multiply(swapaxes(vh, -1, -2), expand_dims(inv_s, -2)), swapaxes(u, -1, -2))


def lstsq(a, b, rcond=None):
    """The least-squares solution of A X = B (the minimum-norm one when A is rank-deficient),
    as pinv(A) B."""
    from .products import matmul
    return matmul(pinv(a, rcond), _float(b))


def matrix_power(x, n):
    """x multiplied by itself n times (by repeated squaring; n < 0 inverts first)."""
    from .products import matmul
    _square("matrix_power", x)
    n = int(n)
    x = _float(x) if n < 0 else as_tensor(x)
    base = inv(x) if n < 0 else x
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    if result is None:
        size = x.shape[-1]
        return Tensor(np.broadcast_to(np.eye(size, dtype=x.dtype), x.shape).copy())
    return result


def matrix_rank(x, tol=None):
    """The number of singular values above ``tol`` (default: max(m, n) eps times the largest)."""
    a = np.asarray(data_of(x))
    return Tensor(np.asarray(np.linalg.matrix_rank(a, tol=tol)).astype(np.int32))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras name
    """Vector or matrix norms, as ``numpy.linalg.norm``: over one axis, a vector norm
    (ord None/2, 1, inf, -inf, 0 or any p); over two axes, a matrix norm (None/'fro',
    'nuc', 1, -1, 2, -2, inf, -inf). axis None means all of a 1-D or 2-D x, else the
    flattened x's 2-norm.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> float(ops.norm(np.array([3., 4.])))
        5.0
    """
    from .elementwise import abs as _abs, power, sqrt, square
    from .reduction import max as _max, min as _min, sum as _sum
    from .shape import expand_dims, reshape
    x = _float(x)
    nd = x.ndim
    if axis is None:
        if ord is None or (nd == 1) or (nd == 2):
            axes = tuple(range(nd))
        else:
            raise ValueError(f"norm: give axis for ord={ord!r} on a {nd}-D tensor")
        if ord is None:
            y = sqrt(_sum(square(x)))
            return reshape(y, (1,) * nd) if keepdims else y
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % max(nd, 1) for a in axes)
    if len(axes) == 1:
        a, = axes
        if ord is None or ord == 2:
            return sqrt(_sum(square(x), axis=a, keepdims=keepdims))
        if ord == np.inf:
            return _max(_abs(x), axis=a, keepdims=keepdims)
        if ord == -np.inf:
            return _min(_abs(x), axis=a, keepdims=keepdims)
        if ord == 0:
            return _sum(Tensor((x.data != 0).astype(x.dtype)), axis=a, keepdims=keepdims)
        if ord == 1:
            return _sum(_abs(x), axis=a, keepdims=keepdims)
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
        return power(_sum(power(_abs(x), float(ord)), axis=a, keepdims=keepdims), 1.0 / float(ord))
    if len(axes) != 2:
        raise ValueError(f"norm: axis must name one or two axes. Received: axis={axis}")
    r, c = axes
    if ord in (None, "fro", "f"):
        return sqrt(_sum(square(x), axis=axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        along, across = (r, c) if ord in (1, -1) else (c, r)
        sums = _sum(_abs(x), axis=along, keepdims=True)
        y = (_max if ord > 0 else _min)(sums, axis=across, keepdims=True)
        return y if keepdims else reshape(y, [n for d, n in enumerate(y.shape) if d not in axes])
    if ord in (2, -2, "nuc"):
        from .shape import moveaxis
        s = svd(moveaxis(x, (r, c), (-2, -1)), compute_uv=False)
        y = _sum(s, axis=-1) if ord == "nuc" else (_max if ord == 2 else _min)(s, axis=-1)
        if keepdims:
            for d in sorted(axes):
                y = expand_dims(y, d)
        return y
    raise ValueError(f"norm: unsupported matrix norm ord={ord!r}")


def lu_factor(x):
    """(LU, pivots) of each square matrix by partial pivoting, as ``scipy.linalg.lu_factor``:
    L (unit diagonal, below) and U (on and above) in one matrix; row i was swapped with
    row pivots[i] (0-based, int32). Not differentiable."""
    _square("lu_factor", x)
    a = np.array(data_of(x), dtype=np.result_type(np.asarray(data_of(x)).dtype, np.float32), copy=True)
    batch = a.shape[:-2]
    n = a.shape[-1]
    lu = a.reshape((-1, n, n))
    piv = np.zeros((lu.shape[0], n), np.int32)
    rows = np.arange(lu.shape[0])
    for k in range(n):  # columns: each step is vectorized over the batch and the trailing block
        p = k + np.argmax(np.abs(lu[:, k:, k]), axis=1)
        piv[:, k] = p
        lu[rows, k], lu[rows, p] = lu[rows, p].copy(), lu[rows, k].copy()
        pivot = lu[:, k, k]
        safe = np.where(pivot == 0, 1, pivot)
        lu[:, k + 1:, k] /= safe[:, None]
        lu[:, k + 1:, k + 1:] -= lu[:, k + 1:, k:k + 1] * lu[:, k:k + 1, k + 1:]
    return Tensor(lu.reshape(batch + (n, n))), Tensor(piv.reshape(batch + (n,)))


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode product (fun(primals), J tangents), as ``keras.ops.linalg.jvp``.

    Computed exactly from reverse mode: one backward pass per output element gives the
    rows of the Jacobian, each dotted with the tangents. Its cost grows with the output
    size, so it suits the small problems jvp is used for in tests and analysis.
    """
    single = not isinstance(primals, (tuple, list))
    prim = [primals] if single else list(primals)
    tang = [tangents] if single else list(tangents)
    if len(prim) != len(tang):
        raise ValueError(f"jvp: {len(prim)} primals but {len(tang)} tangents")
    xs = [Tensor(np.array(data_of(p), dtype=_float(p).dtype), requires_grad=True) for p in prim]
    out = fun(*xs)
    aux = None
    if has_aux:
        out, aux = out
    y = as_tensor(out)
    flat_out = np.zeros(y.size, y.dtype)
    if y.requires_grad:
        for i in range(y.size):
            for x in xs:
                x.grad = None
            seed = np.zeros(y.size, y.dtype)
            seed[i] = 1
            y.backward(Tensor(seed.reshape(y.shape)), retain_graph=True)
            flat_out[i] = sum(float((x.grad.data * np.asarray(data_of(t))).sum())
                              for x, t in zip(xs, tang) if x.grad is not None)
    with no_grad():
        primal_out = Tensor(y.data.copy())
    result = (primal_out, Tensor(flat_out.reshape(y.shape)))
    return result + (aux,) if has_aux else result
