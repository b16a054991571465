"""Matrix products."""
import numpy as np

from ..autograd.function import Function
from ..autograd.engine import unbroadcast
from ..kernels import tuning
from ..kernels.threads import parallel, split_parallelism


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


# Where the step allows it (shendu.kernels.threads), Linear's forward product runs as
# two halves of the rows at once, and its two backward products at once, one per core,
# when each has at least tuning.CONCURRENT_MIN_FMA multiply-adds.


class Linear(Function):
    """y = x W + b for x (..., in), W (in, out), b (out,) -- Keras's Dense layout.

    gx = gy W^T,  gW = x^T gy (summed over all leading axes),  gb = sum of gy over them.
    """

    def forward(ctx, x, w, b=None):
        if x.shape[-1] != w.shape[0]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features "
                             f"but the kernel of shape {w.shape} expects {w.shape[0]}")
        ctx.save_for_backward(x, w)
        if x.ndim == 2 and len(x) >= 64 and x.size * w.shape[1] >= tuning.CONCURRENT_MIN_FMA \
                and x.dtype == w.dtype and split_parallelism() > 1:
            y = np.empty((len(x), w.shape[1]), x.dtype)  # the two halves of the rows at once
            h = len(x) // 2
            parallel([lambda: np.matmul(x[:h], w, out=y[:h]),
                      lambda: np.matmul(x[h:], w, out=y[h:])])
        else:
            y = x @ w
        if b is not None:
            y += b
        return y

    def backward(ctx, gy):
        x, w = ctx.saved
        need = ctx.needs_input_grad
        g2 = gy.reshape(-1, gy.shape[-1])
        input_grad = (lambda: gy @ w.T) if need[0] else (lambda: None)
        kernel_grad = (lambda: x.reshape(-1, x.shape[-1]).T @ g2) if need[1] else (lambda: None)
        if need[0] and need[1] and x.size * w.shape[1] >= tuning.CONCURRENT_MIN_FMA \
                and split_parallelism() > 1:
            # inside a step that owns the cores (BLAS on one thread): the two products
            # at once, one per core
            gx, gw = parallel([input_grad, kernel_grad])
        else:
            gx, gw = input_grad(), kernel_grad()
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

