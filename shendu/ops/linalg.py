"""Matrix products."""
import numpy as np

from ..autograd.function import Function
from ..autograd.engine import unbroadcast
from ..backend.threads import parallel, split_parallelism


def _shape_error(op, a, b, detail):
    return ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are incompatible "
                      f"({detail})")


class MatMul(Function):
    """Y = A @ B (batched over leading axes, NumPy rules);
    gA = gY @ B^T,  gB = A^T @ gY  (transposes of the last two axes).

    1-D operands are promoted to matrices as NumPy does and the extra axis is
    dropped again, so vector-matrix and matrix-vector products work too.
    """

    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D; got shapes {a.shape} and {b.shape}")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim >= 2 else b.shape[0]
        if ka != kb:
            raise _shape_error("matmul", a, b, f"inner dimensions {ka} and {kb} differ")
        try:
            y = np.matmul(a, b)
        except ValueError:
            raise _shape_error("matmul", a, b, "batch dimensions do not broadcast") from None
        ctx.save_for_backward(a, b)
        return y

    def backward(ctx, gy):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = gy
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if need_a:
            ga = np.matmul(g, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if need_b:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


# A product of at least this many multiply-adds, with at least SPLIT_MIN_ROWS rows per
# part, is split over shendu's threads where the step allows it (threads.owning_cores).
SPLIT_MIN_FMA = 1 << 25
SPLIT_MIN_ROWS = 32


def _parts(rows, fma):
    n = split_parallelism()
    if n < 2 or fma < SPLIT_MIN_FMA:
        return 1
    return max(1, min(n, rows // SPLIT_MIN_ROWS))


def _edges(rows, parts):
    return [(rows * k // parts, rows * (k + 1) // parts) for k in range(parts)]


def _rows_matmul(a, b):
    """a @ b for 2-D a, b; split over the rows of a (one part per thread) when it pays."""
    parts = _parts(a.shape[0], a.shape[0] * a.shape[1] * b.shape[1])
    if parts == 1 or a.dtype != b.dtype:
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    parallel([lambda lo=lo, hi=hi: np.matmul(a[lo:hi], b, out=out[lo:hi])
              for lo, hi in _edges(a.shape[0], parts)])
    return out


def _inner_matmul(a, b):
    """a^T @ b for 2-D a (K, M), b (K, N): a sum over the K rows, split into a partial
    sum per thread (added in a fixed order) when it pays."""
    parts = _parts(a.shape[0], a.shape[0] * a.shape[1] * b.shape[1])
    if parts == 1:
        return a.T @ b
    sums = parallel([lambda lo=lo, hi=hi: a[lo:hi].T @ b[lo:hi]
                     for lo, hi in _edges(a.shape[0], parts)])
    for other in sums[1:]:
        sums[0] += other
    return sums[0]


class Linear(Function):
    """y = x W + b for x (..., in), W (in, out), b (out,) -- Keras's Dense layout.

    gx = gy W^T,  gW = x^T gy (summed over all leading axes),  gb = sum of gy over them.
    """

    def forward(ctx, x, w, b=None):
        if x.shape[-1] != w.shape[0]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features "
                             f"but the kernel of shape {w.shape} expects {w.shape[0]}")
        ctx.save_for_backward(x, w)
        y = _rows_matmul(x.reshape(-1, x.shape[-1]), w).reshape(x.shape[:-1] + (w.shape[1],))
        if b is not None:
            y += b
        return y

    def backward(ctx, gy):
        x, w = ctx.saved
        need = ctx.needs_input_grad
        g2 = gy.reshape(-1, gy.shape[-1])
        gx = _rows_matmul(g2, w.T).reshape(x.shape) if need[0] else None
        gw = _inner_matmul(x.reshape(-1, x.shape[-1]), g2) if need[1] else None
        if len(need) == 3:
            return gx, gw, (g2.sum(axis=0) if need[2] else None)
        return gx, gw


def matmul(x1, x2):
    """Matrix product with NumPy's batching and 1-D rules."""
    return MatMul.apply(x1, x2)


def linear(x, kernel, bias=None):
    """x @ kernel + bias in one op (kernel of shape (in, out), as Keras stores it)."""
    if bias is None:
        return Linear.apply(x, kernel)
    return Linear.apply(x, kernel, bias)


dot = matmul
