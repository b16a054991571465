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
argmax of the activation. Conv outputs that no pool window reads (a valid pool drops
the last row when the conv's output is odd) are not computed at all: they change
neither y nor any gradient.
"""
import math

import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import kernel, tuning, workspace
from ..kernels.counter_hash import GOLDEN
from ..kernels.threads import split_parallelism
from . import _chunking
from ._util import data_of
from .conv import _check_conv_args, _conv_geometry, _out_sizes, conv_bias_relu
from .pooling import _pool_geometry, max_pool
from .random import CounterDropout

_NO_PADS = ((0, 0), (0, 0))


class ConvBiasReluMaxPool2D(Function):
    """y = max_pool(max(conv(x, W) + b, 0)), chunk by chunk (module docstring).

    Shapes: x (N, H, W, C_in), W (kh, kw, C_in, F), b (F,) -> y (N, PH, PW, F).
    Saves x, W, y, the argmax (int32, y's shape) and, when they take at most
    ``tuning.CONV_POOL_KEEP_COLS_BYTES``, the columns of x (else backward rebuilds them
    per chunk).

    Each chunk is one call of the kernel ``conv_pool_forward_chunk`` (backward:
    ``conv_pool_backward_chunk``): its NumPy reference below is a few kernel calls and
    NumPy products; its Numba override (float32, a 2x2 pool of stride 2) is one call
    that calls BLAS itself with the GIL released throughout.

    ``drop`` = (rate, seed) applies a dropout to y as well (conv_bias_relu_max_pool).

    The chunks are independent, so where the step allows it (``threads.owning_cores``)
    every core takes the next chunk not yet taken and does it from columns to pool with
    single-threaded BLAS, in its own cache. Each chunk's share of gW and gb is kept
    apart and the shares are added in chunk order, so the sums do not depend on which
    core took which chunk.
    """

    def forward(ctx, x, w, b, strides, pads, dilation, conv_out, pool, pool_strides, pooled,
                drop=None):
        ksize, F = w.shape[:-2], w.shape[-1]
        ctx.geom = geom = (ksize, strides, pads, dilation, conv_out, pool, pool_strides, pooled)
        ctx.drop_scale = None if drop is None else 1.0 / (1.0 - drop[0])
        grad = is_grad_enabled()
        K = w[..., 0].size
        per_sample = math.prod(conv_out) * max(K, F) * x.dtype.itemsize
        budget = tuning.CONV_POOL_CHUNK_BYTES if grad else tuning.CONV_POOL_INFERENCE_CHUNK_BYTES
        ctx.chunks = chunks = _chunking.chunks(len(x), per_sample, budget, tuning.CHUNKS_MULTIPLE)
        keep = grad and len(x) * math.prod(conv_out) * K * x.dtype.itemsize \
            <= tuning.CONV_POOL_KEEP_COLS_BYTES
        x, w2 = np.ascontiguousarray(x), np.ascontiguousarray(w.reshape(-1, F))
        y = workspace.empty((len(x),) + pooled + (F,), x.dtype)
        arg = workspace.empty(y.shape, np.int32) if grad else None
        cols = workspace.empty((len(x),) + conv_out + tuple(ksize) + (x.shape[-1],), x.dtype) \
            if keep else None
        run = kernel("conv_pool_forward_chunk")

        def chunk(j):
            i, e = chunks[j]
            run(x[i:e], w2, b, None if cols is None else cols[i:e], y[i:e],
                None if arg is None else arg[i:e], geom, _chunk_drop(drop, i, y))

        _chunking.each_chunk(chunk, len(chunks), split_parallelism())
        ctx.save_for_backward(x, w, y, arg, cols)
        return y

    def backward(ctx, gy):
        x, w, y, arg, cols = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        F, chunks = w.shape[-1], ctx.chunks
        w2 = np.ascontiguousarray(w.reshape(-1, F))
        gx = workspace.empty(x.shape, x.dtype) if need_x else None
        gy = np.ascontiguousarray(gy, x.dtype)
        # With a fused dropout, y is the dropped output: [y > 0] is then [kept and the
        # activation > 0], the mask of both, and the kept elements' gradient is scaled.
        scale = 1.0 if ctx.drop_scale is None else ctx.drop_scale
        gws, gbs = [None] * len(chunks), [None] * len(chunks)
        run = kernel("conv_pool_backward_chunk")

        def chunk(j):
            i, e = chunks[j]
            gws[j], gbs[j] = run(x[i:e], w2, gy[i:e], arg[i:e], y[i:e],
                                 None if cols is None else cols[i:e],
                                 None if gx is None else gx[i:e], ctx.geom, need_w, scale)

        _chunking.each_chunk(chunk, len(chunks), split_parallelism())
        gw = _chunking.in_order_sum(gws).reshape(w.shape) if need_w else None
        return gx, gw, (_chunking.in_order_sum(gbs) if need_b else None)


def _chunk_drop(drop, start, y):
    """(seed, rate) of the dropout of the chunk of y from sample ``start``, or None. The
    counter hash of ops.dropout (``dropout_apply``) reads element i of y as seed + i *
    golden, so a chunk whose first element is y's element o uses the seed seed + o *
    golden (mod 2^64): the same mask as one dropout of the whole y."""
    if drop is None:
        return None
    rate, seed = drop
    o = start * math.prod(y.shape[1:])
    return (seed + o * int(GOLDEN)) % (1 << 64), rate


# --- one chunk: the NumPy references of the two kernels -----------------------------------


@kernels.reference("conv_pool_forward_chunk")
def conv_pool_forward_chunk(x, w2, b, cols, y, arg, geom, drop):
    """One chunk's y = max(max_pool(cols @ W) + b, 0), written into ``y``, and the pool's
    argmax into ``arg`` (None in inference); then, with ``drop`` = (seed, rate), the
    dropout of y (``dropout_apply``).

    x (n, H, W, C); w2 the kernel as (K, F); ``cols`` None, or a buffer (n, *conv_out,
    kh, kw, C) that receives the columns (kept for backward); geom = (ksize, strides,
    pads, dilation, conv_out, pool, pool_strides, pooled).
    """
    ksize, strides, pads, dilation, conv_out, pool, pool_strides, pooled = geom
    F = w2.shape[1]
    c = kernel("im2col")(x, ksize, strides, pads, dilation, conv_out)
    if cols is not None:
        cols.reshape(c.shape)[...] = c
    z = np.matmul(c.reshape(-1, w2.shape[0]), w2).reshape((len(x),) + tuple(conv_out) + (F,))
    yc, ac = kernel("max_pool_forward")(z, pool, pool_strides, _NO_PADS, pooled,
                                        need_arg=arg is not None)
    kernel("bias_relu")(yc, b, out=y)
    if drop is not None:
        y[...] = kernel("dropout_apply")(y, *drop)
    if arg is not None:
        arg[...] = ac


@kernels.reference("conv_pool_backward_chunk")
def conv_pool_backward_chunk(x, w2, gy, arg, y, cols, gx, geom, need_w, scale):
    """One chunk's (gW share as (K, F) or None, gb share): g = gy * scale * [y > 0],
    gb = sum of g, gz = g routed to each window's argmax, gW = cols^T gz (cols rebuilt
    when None), and gx = col2im(gz W^T) written into ``gx`` when it is given."""
    ksize, strides, pads, dilation, conv_out, pool, pool_strides, pooled = geom
    F = w2.shape[1]
    if scale != 1:
        gy = gy * gy.dtype.type(scale)
    gz, gb = kernel("max_pool_relu_backward")(gy, arg, y, (len(x),) + tuple(conv_out) + (F,),
                                              pool, pool_strides, _NO_PADS, pooled)
    g2 = gz.reshape(-1, F)
    gw = None
    if need_w:
        c = cols if cols is not None else \
            kernel("im2col")(x, ksize, strides, pads, dilation, conv_out)
        gw = c.reshape(-1, w2.shape[0]).T @ g2
    if gx is not None:
        gcols = (g2 @ w2.T).reshape(gz.shape[:-1] + (math.prod(ksize), x.shape[-1]))
        gx[...] = kernel("col2im")(gcols, x.shape, ksize, strides, pads, dilation)
    return gw, gb


def conv_bias_relu_max_pool(inputs, kernel, bias, strides=1, padding="valid", dilation_rate=1,
                            pool_size=2, pool_strides=None, pool_padding="valid",
                            dropout_rate=0.0, dropout_seed=None):
    """max_pool(max(conv(inputs, kernel) + bias, 0), pool_size, pool_strides, pool_padding):
    a Conv2D layer with ``activation='relu'`` followed by a MaxPooling2D, as one op.

    Arguments as :func:`shendu.ops.conv` and :func:`shendu.ops.max_pool`. 2-D inputs
    under a 'valid' pool are computed chunk by chunk without storing the activation;
    every other case is ``max_pool(conv_bias_relu(...))``, which gives the same values.

    With ``dropout_rate`` > 0 the result then goes through dropout with the integer
    ``dropout_seed``: the same mask as ``ops.dropout`` draws from that seed, applied to
    each chunk while it is in cache. Backward needs no mask of its own: an element of
    the dropped output is > 0 exactly where it was kept and the activation was > 0.
    """
    drop = None
    if dropout_rate:
        if not 0 < float(dropout_rate) < 1 or dropout_seed is None:
            raise ValueError(f"conv_bias_relu_max_pool: dropout_rate must be in [0, 1) and "
                             f"come with an integer dropout_seed. Received: dropout_rate="
                             f"{dropout_rate!r}, dropout_seed={dropout_seed!r}")
        drop = (float(dropout_rate), int(dropout_seed))
    x, w, b = data_of(inputs), data_of(kernel), data_of(bias)
    _check_conv_args("conv", x, w)
    strides_, pads, dilation = _conv_geometry("conv", np.shape(x), np.shape(w), strides,
                                              padding, dilation_rate)
    dtypes = {np.asarray(a).dtype for a in (x, w, b)}
    if np.ndim(x) != 4 or str(pool_padding).lower() != "valid" or len(dtypes) != 1 \
            or dtypes.pop().kind != "f":
        a = conv_bias_relu(inputs, kernel, bias, strides=strides, padding=padding,
                           dilation_rate=dilation_rate)
        y = max_pool(a, pool_size, strides=pool_strides, padding=pool_padding)
        return y if drop is None else CounterDropout.apply(y, seed=drop[1], rate=drop[0])
    conv_out = _out_sizes(np.shape(x)[1:-1], np.shape(w)[:-2], strides_, dilation, pads)
    geom = _pool_geometry("max_pool", np.empty((1,) + conv_out + (1,), np.float32), pool_size,
                          pool_strides, pool_padding, None)
    # A valid pool reads conv outputs up to (pooled - 1) * stride + size along each axis;
    # the rest (the reference net's second conv: row and column 11 of 11) are never
    # computed, forward or backward.
    conv_out = tuple(min(c, (o - 1) * s + p) for c, o, s, p in
                     zip(conv_out, geom["out"], geom["strides"], geom["pool"]))
    return ConvBiasReluMaxPool2D.apply(inputs, kernel, bias, strides=strides_, pads=pads,
                                       dilation=dilation, conv_out=conv_out, pool=geom["pool"],
                                       pool_strides=geom["strides"], pooled=geom["out"],
                                       drop=drop)
