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
from ..kernels import kernel, workspace
from ..kernels.threads import split_parallelism
from . import _chunking
from ._util import data_of
from .conv import _check_conv_args, _conv_geometry, _out_sizes, conv_bias_relu, conv_input_grad
from .pooling import _pool_geometry, max_pool
from .random import _GOLDEN, CounterDropout, dropout_threshold

# A chunk's columns or conv outputs, whichever is larger, take at most this many bytes
# (about what one core's L2 cache holds beside BLAS's packed panels). Inference keeps
# less per chunk (no argmax, no gradient), so its chunks can be larger. (Measured on
# the reference convnet, 2 cores with 1 MB of L2 each, chunks of 0.5/1/2/4 MB: train
# step 12.3/11.4/11.8/13.3 ms, 10,000-image inference 319/268/230/236 ms.)
CHUNK_BYTES = 1 << 20
INFERENCE_CHUNK_BYTES = 2 << 20
# Columns up to this size are kept from forward for the kernel gradient; larger ones are
# rebuilt chunk by chunk in backward, where they are still in cache for the product.
# (Measured on the reference convnet, batch 128, 2 cores: keeping the second conv's
# 18 MB of columns made its forward 4.4 ms instead of 2.5 ms and saved backward 0.2 ms.)
KEEP_COLS_BYTES = 4 << 20
# The number of chunks is rounded up to a multiple of this (see _chunks).
CHUNKS_MULTIPLE = 4


class ConvBiasReluMaxPool2D(Function):
    """y = max_pool(max(conv(x, W) + b, 0)), chunk by chunk (module docstring).

    Shapes: x (N, H, W, C_in), W (kh, kw, C_in, F), b (F,) -> y (N, PH, PW, F).
    Saves x, W, y, the argmax (int32, y's shape) and, when they are at most
    ``KEEP_COLS_BYTES``, the columns of x (else backward rebuilds them per chunk).

    In float32 under a 2x2 pool each chunk is one Numba call that calls BLAS itself
    (``numba_cpu.conv_pool_forward_chunk`` / ``conv_pool_backward_chunk``, the GIL
    released throughout); otherwise a chunk is a few kernel calls and NumPy products.
    (Measured, reference convnet, 2 cores, A/B in one process: train step 10.1 -> 9.0 ms
    and 10.4 -> 9.5 ms; 10,000-image inference 208 -> 197 ms and 205 -> 191 ms.)

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
        ctx.geom = strides, pads, dilation, conv_out, pool, pool_strides, pooled
        # drop: (rate, seed) of a dropout of y fused in (see _chunk_dropout)
        ctx.drop_scale = None if drop is None else 1.0 / (1.0 - drop[0])
        grad = is_grad_enabled()
        per_sample = math.prod(conv_out) * max(w[..., 0].size, F) * x.dtype.itemsize
        ctx.chunks = chunks = _chunks(len(x), per_sample,
                                      CHUNK_BYTES if grad else INFERENCE_CHUNK_BYTES)
        cols_bytes = len(x) * math.prod(conv_out) * w[..., 0].size * x.dtype.itemsize
        keep = grad and cols_bytes <= KEEP_COLS_BYTES
        y = workspace.empty((len(x),) + pooled + (F,), x.dtype)
        arg = workspace.empty(y.shape, np.int32) if grad else None
        w2 = w.reshape(-1, F)
        ctx.one_call = one_call = _one_call_chunks(x, w, b, pool, pool_strides)
        if one_call:
            x, w2 = np.ascontiguousarray(x), np.ascontiguousarray(w2)
            cols = _one_call_forward(one_call, x, w2, b, y, arg, keep, chunks, ksize, strides,
                                     pads, dilation, conv_out, drop)
            ctx.save_for_backward(x, w, y, arg, cols)
            return y
        cols = [None] * len(chunks)

        def chunk(j):
            i, e = chunks[j]
            c = kernel("im2col")(x[i:e], ksize, strides, pads, dilation, conv_out)
            if keep:
                cols[j] = c  # (held here, the pooled buffer is not handed out again)
            z = workspace.empty((e - i,) + conv_out + (F,), x.dtype)
            np.matmul(c.reshape(-1, w2.shape[0]), w2, out=z.reshape(-1, F))
            yc, ac = kernel("max_pool_forward")(z, pool, pool_strides, ((0, 0), (0, 0)),
                                                pooled, need_arg=grad)
            kernel("bias_relu")(yc, b, out=y[i:e])
            if drop is not None:
                seed, _, _ = _chunk_dropout(drop, i, y)
                y[i:e] = kernel("dropout_apply")(y[i:e], seed, drop[0])
            if grad:
                arg[i:e] = ac

        _each_chunk(chunk, len(chunks))
        ctx.save_for_backward(x, w, y, arg, cols if keep else None)
        return y

    def backward(ctx, gy):
        x, w, y, arg, cols = ctx.saved
        strides, pads, dilation, conv_out, pool, pool_strides, pooled = ctx.geom
        need_x, need_w, need_b = ctx.needs_input_grad
        F, chunks = w.shape[-1], ctx.chunks
        w2 = w.reshape(-1, F)
        gx = workspace.empty(x.shape, x.dtype) if need_x else None
        gy = np.ascontiguousarray(gy)
        # With a fused dropout, y is the dropped output: [y > 0] is then [kept and the
        # activation > 0], the mask of both, and the kept elements' gradient is scaled.
        scale = ctx.drop_scale
        if ctx.one_call:
            gws, gbs = _one_call_backward(ctx.one_call, x, w2, gy, arg, y, cols, gx, need_w,
                                          need_x, chunks, w.shape[:-2], strides, pads, dilation,
                                          conv_out, 1.0 if scale is None else scale)
            gw = _chunking.in_order_sum(gws).reshape(w.shape) if need_w else None
            return gx, gw, (_chunking.in_order_sum(gbs) if need_b else None)
        if scale is not None:
            gy = gy * gy.dtype.type(scale)
        gws, gbs = [None] * len(chunks), [None] * len(chunks)

        def chunk(j):
            i, e = chunks[j]
            gz, gbs[j] = kernel("max_pool_relu_backward")(
                gy[i:e], arg[i:e], y[i:e], (e - i,) + conv_out + (F,), pool, pool_strides,
                ((0, 0), (0, 0)), pooled)
            if need_w:
                c = cols[j] if cols is not None else \
                    kernel("im2col")(x[i:e], w.shape[:-2], strides, pads, dilation, conv_out)
                gws[j] = c.reshape(-1, w2.shape[0]).T @ gz.reshape(-1, F)
            if need_x:
                gx[i:e] = conv_input_grad(gz, w, x[i:e].shape, strides, pads, dilation)

        _each_chunk(chunk, len(chunks))
        gw = _chunking.in_order_sum(gws).reshape(w.shape) if need_w else None
        return gx, gw, (_chunking.in_order_sum(gbs) if need_b else None)


def _chunks(n, per_sample, budget):
    return _chunking.chunks(n, per_sample, budget, CHUNKS_MULTIPLE)


# Placeholders for the arrays a one-call chunk does not use (the kernels' argument types
# stay the same, so they are compiled once).
_NO_ARG = np.zeros((1, 1, 1, 1), np.int32)
_NO_4D = np.zeros((1, 1, 1, 1), np.float32)
_NO_6D = np.zeros((1, 1, 1, 1, 1, 1), np.float32)


def _one_call_chunks(x, w, b, pool, pool_strides):
    """(Numba module, sgemm) when each chunk can be one Numba call that calls BLAS itself
    (float32, 2-D, a 2x2 pool of stride 2, fast kernels on and NumPy's sgemm found);
    else None and the chunks run as kernel calls and NumPy products from Python."""
    if not (x.ndim == 4 and x.dtype == w.dtype == b.dtype == np.float32
            and tuple(pool) == (2, 2) and tuple(pool_strides) == (2, 2)
            and kernels.kernels_enabled() and kernels.fast_kernels()):
        return None
    from ..kernels import blas, numba_cpu
    sgemm = blas.sgemm()
    return (numba_cpu, sgemm) if sgemm is not None else None


def _geometry_args(ksize, strides, pads, dilation):
    return (ksize[0], ksize[1], strides[0], strides[1], pads[0][0], pads[1][0], dilation[0],
            dilation[1])


def _chunk_dropout(drop, start, y):
    """(seed, threshold, scale) of the dropout of the chunk of y from sample ``start``:
    the counter hash of ops.dropout (``dropout_apply``) reads element i of y as
    seed + i * golden, so a chunk whose first element is y's element o uses the seed
    seed + o * golden (mod 2^64) -- the same mask as one dropout of the whole y."""
    if drop is None:
        return np.uint64(0), np.uint64(0), y.dtype.type(1)
    rate, seed = drop
    o = start * math.prod(y.shape[1:])
    return (np.uint64((seed + o * int(_GOLDEN)) % (1 << 64)),
            np.uint64(dropout_threshold(rate)), y.dtype.type(1.0 / (1.0 - rate)))


def _one_call_forward(one_call, x, w2, b, y, arg, keep, chunks, ksize, strides, pads,
                      dilation, conv_out, drop):
    """Forward's chunks as numba_cpu.conv_pool_forward_chunk calls; returns all the
    columns when ``keep`` (else None: backward rebuilds them)."""
    mod, sgemm = one_call
    cshape = conv_out + tuple(ksize) + (x.shape[-1],)
    full = workspace.empty((len(x),) + cshape, x.dtype) if keep else None
    geom = _geometry_args(ksize, strides, pads, dilation)
    F = w2.shape[1]

    def chunk(j):
        i, e = chunks[j]
        cols = full[i:e] if keep else workspace.empty((e - i,) + cshape, x.dtype)
        z = workspace.empty((e - i,) + conv_out + (F,), x.dtype)
        mod.conv_pool_forward_chunk(sgemm, x[i:e], w2, b, cols, z, y[i:e],
                                    _NO_ARG if arg is None else arg[i:e], *geom, True,
                                    arg is not None, *_chunk_dropout(drop, i, y))

    _each_chunk(chunk, len(chunks))
    return full


def _one_call_backward(one_call, x, w2, gy, arg, y, cols, gx, need_w, need_x, chunks, ksize,
                       strides, pads, dilation, conv_out, scale):
    """Backward's chunks as numba_cpu.conv_pool_backward_chunk calls, writing gx; returns
    every chunk's share of gW (as (K, F)) and gb. gy is taken times ``scale``."""
    mod, sgemm = one_call
    K, F = w2.shape
    cshape = conv_out + tuple(ksize) + (x.shape[-1],)
    geom = _geometry_args(ksize, strides, pads, dilation)
    gws = np.empty((len(chunks), K, F), np.float32)
    gbs = np.empty((len(chunks), F), np.float32)

    def chunk(j):
        i, e = chunks[j]
        make = need_w and cols is None
        c = cols[i:e] if cols is not None else \
            workspace.empty((e - i,) + cshape, x.dtype) if make else _NO_6D
        gz = workspace.empty((e - i,) + conv_out + (F,), x.dtype)
        gcols = workspace.empty((e - i,) + cshape, x.dtype) if need_x else _NO_6D
        mod.conv_pool_backward_chunk(sgemm, x[i:e], w2, gy[i:e], arg[i:e], y[i:e], c, gz, gcols,
                                     gws[j], gbs[j], gx[i:e] if need_x else _NO_4D, *geom, make,
                                     need_w, need_x, np.float32(scale))

    _each_chunk(chunk, len(chunks))
    return list(gws), list(gbs)


def _each_chunk(chunk, n):
    _chunking.each_chunk(chunk, n, split_parallelism())


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
