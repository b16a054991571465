"""A conv layer with ReLU followed by a max pool, as one op that never stores the
activation: ``y = max_pool(max(conv(x, W) + b, 0))``.

The activation is the largest array of a convnet (the reference MNIST net's first
conv writes 11 MB per batch of 128, four times its pooled output), and passing over
it -- write it, ReLU it, pool it, route the pool's gradient back through it -- costs
more than the matrix products around it. Here the batch is taken a few samples at a
time, small enough that a chunk's columns and conv outputs stay in cache from the
product to the pool, and only the pooled values and the pool's argmax are kept:

    z    = cols @ W                            (the chunk's conv outputs, no bias)
    y    = max(max_{window} z + b, 0)          (ReLU and max commute; b is per channel)
    arg  = the window tap of that maximum      (the first one at a tie)

Backward, per chunk again, the pool's gradient reaches one conv output per window and
channel -- the one at ``arg``, where the activation is y itself -- so

    g    = gy [y > 0],   gb = sum of g
    gz   = g routed to the argmax of each window        (kernel max_pool_relu_backward)
    gW  += cols^T gz,    gx = col2im(gz W^T)

which is the gradient of ``max_pool(conv_bias_relu(x, W, b))`` exactly: where y = 0
the mask zeroes the gradient whichever tap won, and elsewhere the argmax of z is the
argmax of the activation.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..backend import kernel, workspace
from ..backend.threads import parallel, split_parallelism
from ._util import data_of
from .conv import _check_conv_args, _conv_geometry, _out_sizes, conv_bias_relu, conv_input_grad
from .pooling import _pool_geometry, max_pool

# A chunk's columns or conv outputs, whichever is larger, take at most this many bytes
# (about what one core's L2 cache holds beside BLAS's packed panels).
CHUNK_BYTES = 1 << 20
# Columns up to this size are kept from forward for the kernel gradient; larger ones are
# rebuilt chunk by chunk in backward, where they are still in cache for the product.
# (Measured on the reference convnet, batch 128, 2 cores: keeping the second conv's
# 18 MB of columns made its forward 4.4 ms instead of 2.5 ms and saved backward 0.2 ms.)
KEEP_COLS_BYTES = 4 << 20


class ConvBiasReluMaxPool2D(Function):
    """y = max_pool(max(conv(x, W) + b, 0)), chunk by chunk (module docstring).

    Shapes: x (N, H, W, C_in), W (kh, kw, C_in, F), b (F,) -> y (N, PH, PW, F).
    Saves x, W, y, the argmax (int32, y's shape) and, when they are at most
    ``KEEP_COLS_BYTES``, the columns of x (else backward rebuilds them per chunk).

    The chunks are independent but for the sums gW and gb, so they are shared out
    among the cores in contiguous runs (``threads.parallel``: each core does its chunks
    from columns to pool with single-threaded BLAS, everything in its own cache), and
    each run's gW and gb are added in a fixed order at the end.
    """

    def forward(ctx, x, w, b, strides, pads, dilation, conv_out, pool, pool_strides, pooled):
        ksize, F = w.shape[:-2], w.shape[-1]
        ctx.geom = strides, pads, dilation, conv_out, pool, pool_strides, pooled
        grad = is_grad_enabled()
        per_sample = int(np.prod(conv_out)) * max(w[..., 0].size, F) * x.dtype.itemsize
        ctx.step = step = max(1, CHUNK_BYTES // per_sample)
        ctx.runs = runs = _runs(len(x), step)
        keep = grad and per_sample * len(x) <= KEEP_COLS_BYTES
        y = workspace.empty((len(x),) + pooled + (F,), x.dtype)
        arg = workspace.empty(y.shape, np.int32) if grad else None
        w2 = w.reshape(-1, F)
        cols = [None] * len(runs)

        def run(k):
            lo, hi = runs[k]
            if keep:
                cols[k] = kernel("im2col")(x[lo:hi], ksize, strides, pads, dilation)
            for i in range(lo, hi, step):
                e = min(i + step, hi)
                c = cols[k][i - lo:e - lo] if keep else \
                    kernel("im2col")(x[i:e], ksize, strides, pads, dilation)
                z = workspace.empty((e - i,) + conv_out + (F,), x.dtype)
                np.matmul(c.reshape(-1, w2.shape[0]), w2, out=z.reshape(-1, F))
                yc, ac = kernel("max_pool_forward")(z, pool, pool_strides, ((0, 0), (0, 0)),
                                                    pooled, need_arg=grad)
                kernel("bias_relu")(yc, b, out=y[i:e])
                if grad:
                    arg[i:e] = ac

        _run_all(run, len(runs))
        ctx.save_for_backward(x, w, y, arg, cols if keep else None)
        return y

    def backward(ctx, gy):
        x, w, y, arg, cols = ctx.saved
        strides, pads, dilation, conv_out, pool, pool_strides, pooled = ctx.geom
        need_x, need_w, need_b = ctx.needs_input_grad
        F, step, runs = w.shape[-1], ctx.step, ctx.runs
        w2 = w.reshape(-1, F)
        gx = workspace.empty(x.shape, x.dtype) if need_x else None
        gy = np.ascontiguousarray(gy)

        def run(k):
            lo, hi = runs[k]
            gw, gb = np.zeros(w2.shape, w.dtype), np.zeros(F, w.dtype)
            for i in range(lo, hi, step):
                e = min(i + step, hi)
                gz, gbc = kernel("max_pool_relu_backward")(
                    gy[i:e], arg[i:e], y[i:e], (e - i,) + conv_out + (F,), pool, pool_strides,
                    ((0, 0), (0, 0)), pooled)
                gb += gbc
                if need_w:
                    c = cols[k][i - lo:e - lo] if cols is not None else \
                        kernel("im2col")(x[i:e], w.shape[:-2], strides, pads, dilation)
                    gw += c.reshape(-1, w2.shape[0]).T @ gz.reshape(-1, F)
                if need_x:
                    gx[i:e] = conv_input_grad(gz, w, x[i:e].shape, strides, pads, dilation)
            return gw, gb

        sums = _run_all(run, len(runs))
        gw, gb = sums[0]
        for gw_k, gb_k in sums[1:]:
            gw += gw_k
            gb += gb_k
        return gx, (gw.reshape(w.shape) if need_w else None), (gb if need_b else None)


def _runs(n, step):
    """[(lo, hi)]: the n samples' chunks of ``step`` shared out in contiguous runs, one
    per core that splitting can use (``threads.split_parallelism``), each a whole
    number of chunks, so the chunks are the same however many runs there are."""
    chunks = -(-n // step)
    parts = max(1, min(split_parallelism(), chunks))
    edges = [min(chunks * k // parts * step, n) for k in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _run_all(run, n):
    """[run(0), ..., run(n - 1)], at once on n threads when n > 1."""
    if n == 1:
        return [run(0)]
    return parallel([lambda k=k: run(k) for k in range(n)])


def conv_bias_relu_max_pool(inputs, kernel, bias, strides=1, padding="valid", dilation_rate=1,
                            pool_size=2, pool_strides=None, pool_padding="valid"):
    """max_pool(max(conv(inputs, kernel) + bias, 0), pool_size, pool_strides, pool_padding):
    a Conv2D layer with ``activation='relu'`` followed by a MaxPooling2D, as one op.

    Arguments as :func:`shendu.ops.conv` and :func:`shendu.ops.max_pool`. 2-D inputs
    under a 'valid' pool are computed chunk by chunk without storing the activation;
    every other case is ``max_pool(conv_bias_relu(...))``, which gives the same values.
    """
    x, w, b = data_of(inputs), data_of(kernel), data_of(bias)
    _check_conv_args("conv", x, w)
    strides_, pads, dilation = _conv_geometry("conv", np.shape(x), np.shape(w), strides,
                                              padding, dilation_rate)
    dtypes = {np.asarray(a).dtype for a in (x, w, b)}
    if np.ndim(x) != 4 or str(pool_padding).lower() != "valid" or len(dtypes) != 1 \
            or dtypes.pop().kind != "f":
        a = conv_bias_relu(inputs, kernel, bias, strides=strides, padding=padding,
                           dilation_rate=dilation_rate)
        return max_pool(a, pool_size, strides=pool_strides, padding=pool_padding)
    conv_out = _out_sizes(np.shape(x)[1:-1], np.shape(w)[:-2], strides_, dilation, pads)
    geom = _pool_geometry("max_pool", np.empty((1,) + conv_out + (1,), np.float32), pool_size,
                          pool_strides, pool_padding, None)
    return ConvBiasReluMaxPool2D.apply(inputs, kernel, bias, strides=strides_, pads=pads,
                                       dilation=dilation, conv_out=conv_out, pool=geom["pool"],
                                       pool_strides=geom["strides"], pooled=geom["out"])
