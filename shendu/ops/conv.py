"""Convolutions over channels-last inputs: conv, conv_transpose, depthwise_conv.

Layouts follow ``keras.ops``: inputs (N, *spatial, C) with 1 or 2 (or 3) spatial
axes, kernels (*k, C_in, C_out) for conv, (*k, C_out, C_in) for conv_transpose and
(*k, C_in, depth_multiplier) for depthwise_conv.

Everything is built from three helpers that share one picture. The padded input
xp is cut into one window per output position (im2col, a strided view copied
once into a matrix "cols" of shape (N*P, K*C_in), P output positions, K kernel
taps), so the convolution is one BLAS product:

    forward            y  = cols @ W                  (N*P, C_out)
    input gradient     gx = col2im(gy @ W^T)          scatter-add of each tap's slice
    kernel gradient    gW = cols^T @ gy

conv_transpose is the input gradient of conv read as a forward pass, so its own
backward is conv's forward (for gx) and conv's kernel gradient (for gW).
"""
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import kernels
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import kernel, tuning, workspace
from ..kernels.threads import split_parallelism
from . import _chunking
from ._util import data_of

# --- geometry -----------------------------------------------------------------


def _tuple(value, n, name, op):
    """An int or a sequence of n ints as a tuple of n positive ints."""
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n or any(v < 1 for v in value):
        raise ValueError(f"{op}: {name} must be a positive int or a tuple of {n} positive ints. "
                         f"Received: {name}={value}")
    return value


def _padding(padding, op):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same'. Received: padding={padding!r}")
    return p


def _check_data_format(data_format, op):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{op}: only data_format='channels_last' is supported. "
                         f"Received: data_format={data_format!r}")


def effective_size(k, d):
    """Extent of a kernel of size k with dilation d: taps sit d apart."""
    return (k - 1) * d + 1


def same_or_valid_pads(sizes, ksize, strides, dilation, padding):
    """Per spatial axis (lo, hi) padding, TensorFlow's rule for 'same'.

    'same' gives out = ceil(n / s) and pads the total needed to reach it,
    max((out - 1) s + k_eff - n, 0), with the odd element at the end (bottom/right).
    """
    if padding == "valid":
        return tuple((0, 0) for _ in sizes)
    pads = []
    for n, k, s, d in zip(sizes, ksize, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + effective_size(k, d) - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _out_sizes(sizes, ksize, strides, dilation, pads):
    return tuple((n + lo + hi - effective_size(k, d)) // s + 1
                 for n, k, s, d, (lo, hi) in zip(sizes, ksize, strides, dilation, pads))


def _pad_spatial(x, pads):
    """Pad the spatial axes of (N, *spatial, C) by ``pads``; a negative ``hi`` crops."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    width = [(0, 0)] + [(lo, max(hi, 0)) for lo, hi in pads] + [(0, 0)]
    xp = np.pad(x, width)
    crop = tuple(slice(0, xp.shape[i + 1] + min(hi, 0)) for i, (_, hi) in enumerate(pads))
    return xp[(slice(None),) + crop]


def _tap_slices(offset, strides, out):
    """The strided slice of the padded input that one kernel tap sees for every output."""
    return tuple(slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offset, strides, out))


# --- the three building blocks --------------------------------------------------


@kernels.reference("im2col")
def _im2col(x, ksize, strides, pads, dilation, out=None):
    """cols of shape (N, *out, K, C): the window of every output position, one row per tap.

    ``out`` (optional) keeps only the first ``out`` output positions along each spatial
    axis: the ones a following valid pool reads (see ops/conv_pool.py)."""
    xp = _pad_spatial(x, pads)
    nsp = len(ksize)
    eff = tuple(effective_size(k, d) for k, d in zip(ksize, dilation))
    # The view costs nothing; the single copy happens when it is reshaped into cols.
    win = sliding_window_view(xp, eff, axis=tuple(range(1, nsp + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in strides) + (slice(None),)
              + tuple(slice(None, None, d) for d in dilation)]
    # (N, *out, C, *k) -> (N, *out, *k, C) so that a row matches kernel.reshape(K*C, -1)
    order = (0,) + tuple(range(1, nsp + 1)) + tuple(range(nsp + 2, 2 * nsp + 2)) + (nsp + 1,)
    win = win.transpose(order)
    if out is not None:
        win = win[(slice(None),) + tuple(slice(0, o) for o in out)]
    return win.reshape(win.shape[:nsp + 1] + (-1, x.shape[-1]))


@kernels.reference("col2im")
def _col2im(gcols, x_shape, ksize, strides, pads, dilation):
    """Adjoint of _im2col: add each tap's column back onto the input positions it read."""
    nsp = len(ksize)
    out = gcols.shape[1:nsp + 1]
    padded = tuple(n + lo + max(hi, 0) for n, (lo, hi) in zip(x_shape[1:-1], pads))
    gxp = np.zeros((x_shape[0],) + padded + (x_shape[-1],), dtype=gcols.dtype)
    for k, tap in enumerate(itertools.product(*(range(k) for k in ksize))):
        offset = tuple(t * d for t, d in zip(tap, dilation))
        # Taps overlap when the stride is below the kernel extent, hence +=.
        gxp[(slice(None),) + _tap_slices(offset, strides, out)] += gcols[..., k, :]
    crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x_shape[1:-1], pads))
    return gxp[(slice(None),) + crop]


def _matmul(a, b):
    """a @ b for 2-D operands, into a reused buffer (the shapes repeat every step)."""
    if a.dtype != b.dtype:
        return a @ b
    return np.matmul(a, b, out=workspace.empty((a.shape[0], b.shape[1]), a.dtype))


def _cols_matmul(cols, w):
    """y = cols @ W: (N, *out, K, C) columns times the (*k, C, F) kernel -> (N, *out, F)."""
    lead = cols.shape[:-2]
    y = _matmul(cols.reshape(-1, cols.shape[-2] * cols.shape[-1]), w.reshape(-1, w.shape[-1]))
    return y.reshape(lead + (w.shape[-1],))


def conv_forward(x, w, strides, pads, dilation):
    """y[n, o, :] = sum_{taps, c} xp[n, o*s + tap*d, c] W[tap, c, :]  as cols @ W."""
    return _cols_matmul(kernel("im2col")(x, w.shape[:-2], strides, pads, dilation), w)


def conv_input_grad(gy, w, x_shape, strides, pads, dilation):
    """gx = col2im(gy @ W^T) for the conv of an input of ``x_shape``."""
    ksize, cin = w.shape[:-2], w.shape[-2]
    gcols = _matmul(gy.reshape(-1, gy.shape[-1]), w.reshape(-1, w.shape[-1]).T)
    gcols = gcols.reshape(gy.shape[:-1] + (math.prod(ksize), cin))
    return kernel("col2im")(gcols, x_shape, ksize, strides, pads, dilation)


def conv_kernel_grad(x, gy, w_shape, strides, pads, dilation, cols=None):
    """gW = cols^T @ gy, summed over every sample and output position.

    ``cols`` are the forward pass's columns of x when it kept them (else rebuilt).
    """
    if cols is None:
        cols = kernel("im2col")(x, w_shape[:-2], strides, pads, dilation)
    cols = cols.reshape(-1, math.prod(w_shape[:-1]))  # (N, *out, K, C) or (N * P, K * C)
    return (cols.T @ gy.reshape(-1, gy.shape[-1])).reshape(w_shape)


# The sizes that steer the chunks and blocks below are in kernels/tuning.py (CONV_*).


# --- ops ----------------------------------------------------------------------


class Conv(Function):
    """Channels-last convolution (cross-correlation, as every DL library).

    y[n, o, f] = sum_{t, c} xp[n, o*s + t*d, c] W[t, c, f]   (xp: x padded by ``pads``)
    gx = col2im(gy W^T),  gW = cols^T gy.

    Shapes: x (N, *in, C_in), W (*k, C_in, C_out) -> y (N, *out, C_out).
    Saves x, W and the columns cols (K times the size of x) when they are at most
    ``tuning.CONV_KEEP_COLS_BYTES``; larger columns are rebuilt in backward instead.
    """

    def forward(ctx, x, w, strides, pads, dilation, epilogue=None):
        # ``epilogue(y2d)``, if given, is applied in place to each piece of the output
        # (as a (rows, C_out) matrix) right after its product, while it is in cache.
        ctx.geom = strides, pads, dilation
        ctx.chunks = None  # (set by a split forward: backward then goes chunk by chunk)
        N, F, K = len(x), w.shape[-1], w[..., 0].size
        out = _out_sizes(x.shape[1:-1], w.shape[:-2], strides, dilation, pads)
        P, size = math.prod(out), x.dtype.itemsize
        grad = is_grad_enabled()
        if x.dtype == w.dtype and split_parallelism() > 1:
            # chunks shared by the cores, each from columns to epilogue in its own cache
            chunks = _chunking.chunks(N, P * max(K, F) * size, tuning.CONV_SPLIT_CHUNK_BYTES,
                                      tuning.CHUNKS_MULTIPLE)
            keep = grad and N * P * K * size <= tuning.CONV_KEEP_COLS_BYTES
            y, cols = _forward_chunks(x, w, ctx.geom, out, chunks, keep, tuning.GEMM_ROWS,
                                      epilogue, False, split_parallelism())
            ctx.chunks = chunks
            ctx.save_for_backward(x, w, cols)
            return y
        # a chunk's columns and its piece of the output should both fit the cache
        step = max(1, tuning.CONV_CHUNK_COLS_BYTES // max(P * K * size, P * F * size, 1))
        if (grad and P * K * size * N <= tuning.CONV_KEEP_COLS_BYTES) or step >= N:
            # the whole batch at once, its columns kept for backward; the product in row
            # blocks, each finished by the epilogue while in cache
            rows = N * P if epilogue is None or x.dtype != w.dtype else \
                max(1, tuning.CONV_EPILOGUE_BYTES // (F * size))
            keep = P * K * size * N <= tuning.CONV_KEEP_COLS_BYTES
            y, cols = _forward_chunks(x, w, ctx.geom, out, [(0, N)], keep, rows, epilogue, True,
                                      1)
            ctx.save_for_backward(x, w, None if cols is None else cols[0])
            return y
        # columns that will not be kept are built a few samples at a time, each chunk small
        # enough to be still in cache when the product reads it
        chunks = [(i, min(i + step, N)) for i in range(0, N, step)]
        y, _ = _forward_chunks(x, w, ctx.geom, out, chunks, False, step * P, epilogue, False, 1)
        ctx.save_for_backward(x, w, None)
        return y

    def backward(ctx, gy):
        x, w, cols = ctx.saved
        need_x, need_w = ctx.needs_input_grad[:2]
        if ctx.chunks is not None:
            gx, gw, _ = _split_backward(ctx, np.ascontiguousarray(gy, x.dtype), x, w, cols,
                                        need_x, need_w)
            return gx, gw
        gx = conv_input_grad(gy, w, x.shape, *ctx.geom) if need_x else None
        gw = conv_kernel_grad(x, gy, w.shape, *ctx.geom, cols=cols) if need_w else None
        return gx, gw


def _forward_chunks(x, w, geom, out, chunks, keep, block_rows, epilogue, epilogue_per_block,
                    parts):
    """y = cols @ W over ``chunks`` of the batch ([(start, stop)]), the one loop behind
    every Conv forward: per chunk its columns, the product in blocks of at most
    ``block_rows`` rows, and ``epilogue`` on each block (``epilogue_per_block``) or on the
    chunk's whole piece; the chunks shared by ``parts`` threads (ops/_chunking.py).
    Returns (y, the chunks' columns as (rows, K) matrices when ``keep``, else None)."""
    strides, pads, dilation = geom
    ksize, F, K, P = w.shape[:-2], w.shape[-1], w[..., 0].size, math.prod(out)
    y = workspace.empty((len(x),) + tuple(out) + (F,), np.result_type(x, w))
    y2, w2 = y.reshape(-1, F), w.reshape(-1, F)
    cols = [None] * len(chunks)

    def chunk(j):
        i, e = chunks[j]
        c = kernel("im2col")(x[i:e], ksize, strides, pads, dilation).reshape(-1, K)
        if keep:
            cols[j] = c
        piece = y2[i * P:e * P]
        for r in range(0, len(c), block_rows):
            np.matmul(c[r:r + block_rows], w2, out=piece[r:r + block_rows])
            if epilogue is not None and epilogue_per_block:
                epilogue(piece[r:r + block_rows])
        if epilogue is not None and not epilogue_per_block:
            epilogue(piece)

    _chunking.each_chunk(chunk, len(chunks), parts)
    return y, (cols if keep else None)


def _split_backward(ctx, gy, x, w, cols, need_x, need_w, relu_y=None, bias_grad=False):
    """Conv.backward over forward's chunks, shared by the cores: per chunk its share of
    gW = cols^T gy (the columns rebuilt if not kept) and gx = col2im(gy W^T); the
    shares of gW are added in chunk order. With ``relu_y`` (ConvBiasRelu's output), gy
    is first taken through the bias and ReLU per chunk (kernel ``bias_relu_grad``); the
    shares of gb are then returned too, as with ``bias_grad`` (ConvBias: gb = sum gy);
    else None."""
    strides, pads, dilation = ctx.geom
    ksize, F, chunks = w.shape[:-2], w.shape[-1], ctx.chunks
    P, K = math.prod(gy.shape[1:-1]), w[..., 0].size
    g2, w2 = gy.reshape(-1, F), w.reshape(-1, F)
    y2 = None if relu_y is None else relu_y.reshape(-1, F)
    gx = workspace.empty(x.shape, x.dtype) if need_x else None
    gws, gbs = [None] * len(chunks), [None] * len(chunks)
    gemm_rows = tuning.GEMM_ROWS

    def chunk(j):
        i, e = chunks[j]
        g = g2[i * P:e * P]
        if y2 is not None:
            g, gbs[j] = kernel("bias_relu_grad")(g, y2[i * P:e * P])
        elif bias_grad:
            gbs[j] = g.sum(axis=0)
        if need_w:
            c = cols[j] if cols is not None else \
                kernel("im2col")(x[i:e], ksize, strides, pads, dilation).reshape(-1, K)
            gw = c[:gemm_rows].T @ g[:gemm_rows]
            for r in range(gemm_rows, len(c), gemm_rows):
                gw += c[r:r + gemm_rows].T @ g[r:r + gemm_rows]
            gws[j] = gw
        if need_x:
            gc = workspace.empty((len(g), K), x.dtype)
            for r in range(0, len(g), gemm_rows):
                np.matmul(g[r:r + gemm_rows], w2.T, out=gc[r:r + gemm_rows])
            gc = gc.reshape((e - i,) + gy.shape[1:-1] + (math.prod(ksize), x.shape[-1]))
            gx[i:e] = kernel("col2im")(gc, x[i:e].shape, ksize, strides, pads, dilation)

    _chunking.each_chunk(chunk, len(chunks), split_parallelism())
    gw = _chunking.in_order_sum(gws).reshape(w.shape) if need_w else None
    return gx, gw, (_chunking.in_order_sum(gbs) if y2 is not None or bias_grad else None)


class ConvBiasRelu(Conv):
    """y = max(conv(x, W) + b, 0): a conv layer with bias and ReLU as one op.

    gz = gy * [y > 0],  gb = sum of gz over all but the last axis,  then gx and gW
    as Conv's from gz. The bias and ReLU run in place on each piece of the product
    while it is in cache, and the pre-activation is never stored. Saves what Conv
    saves, and y.
    """

    def forward(ctx, x, w, b, strides, pads, dilation):
        relu = kernel("bias_relu")
        y = Conv.forward(ctx, x, w, strides, pads, dilation,
                         epilogue=lambda z: relu(z, b, out=z))
        ctx.y = y
        return y

    def backward(ctx, gy):
        if ctx.chunks is not None:  # the bias and ReLU's gradient per chunk, too
            x, w, cols = ctx.saved
            gx, gw, gb = _split_backward(ctx, np.ascontiguousarray(gy, x.dtype), x, w, cols,
                                         *ctx.needs_input_grad[:2], relu_y=ctx.y)
            return gx, gw, (gb if ctx.needs_input_grad[2] else None)
        gz, gb = kernels.kernel("bias_relu_grad")(gy, ctx.y)
        gx, gw = Conv.backward(ctx, gz)
        return gx, gw, (gb if ctx.needs_input_grad[2] else None)


class ConvBias(Conv):
    """y = conv(x, W) + b: a conv layer with bias and no activation (or one applied
    after) as one op. gb = sum of gy over all but the last axis; gx and gW as Conv's.
    The bias is added in place to each piece of the product while it is in cache."""

    def forward(ctx, x, w, b, strides, pads, dilation):
        bb = b.astype(np.result_type(x, w), copy=False)
        return Conv.forward(ctx, x, w, strides, pads, dilation,
                            epilogue=lambda z: np.add(z, bb, out=z))

    def backward(ctx, gy):
        x, w, cols = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        if ctx.chunks is not None:
            return _split_backward(ctx, np.ascontiguousarray(gy, x.dtype), x, w, cols, need_x,
                                   need_w, bias_grad=need_b)
        gx, gw = Conv.backward(ctx, gy)
        return gx, gw, (gy.reshape(-1, gy.shape[-1]).sum(axis=0) if need_b else None)


class ConvTranspose(Function):
    """Transposed convolution: the input gradient of a conv, used as a forward pass.

    With conv(z) the convolution of an input z of the output's shape under kernel W
    (*k, C_out, C_in) (Keras's layout is exactly conv's kernel for that map),
    y = conv_input_grad(x)  = (d conv / d z)^T x;
    gx = conv(gy) (the transpose of the transpose),  gW = conv_kernel_grad(gy, x).
    """

    def forward(ctx, x, w, out_shape, strides, pads, dilation):
        ctx.save_for_backward(x, w)
        ctx.geom = strides, pads, dilation
        return conv_input_grad(x, w, out_shape, strides, pads, dilation)

    def backward(ctx, gy):
        x, w = ctx.saved
        need_x, need_w = ctx.needs_input_grad
        gx = conv_forward(gy, w, *ctx.geom) if need_x else None
        gw = conv_kernel_grad(gy, x, w.shape, *ctx.geom) if need_w else None
        return gx, gw


class DepthwiseConv(Function):
    """Each input channel convolved with its own depth_multiplier filters.

    y[n, o, c*M + m] = sum_t xp[n, o*s + t*d, c] W[t, c, m]
    Per channel c this is conv with cols_c (N*P, K):  y_c = cols_c W_c,
    gcols_c = gy_c W_c^T (then col2im),  gW_c = cols_c^T gy_c  -- one batched matmul over c.

    Shapes: x (N, *in, C), W (*k, C, M) -> y (N, *out, C*M).
    """

    def forward(ctx, x, w, strides, pads, dilation):
        ctx.save_for_backward(x, w)
        ctx.geom = strides, pads, dilation
        cols = kernel("im2col")(x, w.shape[:-2], strides, pads, dilation)
        lead, (K, C), M = cols.shape[:-2], cols.shape[-2:], w.shape[-1]
        y = _per_channel(cols, K, C) @ w.reshape(K, C, M).transpose(1, 0, 2)  # (C, N*P, M)
        return y.transpose(1, 0, 2).reshape(lead + (C * M,))

    def backward(ctx, gy):
        x, w = ctx.saved
        need_x, need_w = ctx.needs_input_grad
        ksize, C, M = w.shape[:-2], w.shape[-2], w.shape[-1]
        K = int(np.prod(ksize))
        lead = gy.shape[:-1]
        gy_c = gy.reshape(-1, C, M).transpose(1, 0, 2)  # (C, N*P, M)
        wc = w.reshape(K, C, M).transpose(1, 0, 2)  # (C, K, M)
        gx = gw = None
        if need_x:
            gcols = (gy_c @ wc.transpose(0, 2, 1)).transpose(1, 2, 0)  # (N*P, K, C)
            gx = kernel("col2im")(gcols.reshape(lead + (K, C)), x.shape, ksize, *ctx.geom)
        if need_w:
            cols = kernel("im2col")(x, ksize, *ctx.geom)
            gwc = _per_channel(cols, K, C).transpose(0, 2, 1) @ gy_c  # (C, K, M)
            gw = gwc.transpose(1, 0, 2).reshape(w.shape)
        return gx, gw


def _per_channel(cols, K, C):
    """(N, *out, K, C) columns as a batch of per-channel matrices (C, N*P, K)."""
    return cols.reshape(-1, K, C).transpose(2, 0, 1)


# --- user-facing functions ----------------------------------------------------


def _check_conv_args(op, x, w, kernel_cin_axis=-2):
    """Ranks and channels, with both shapes in the message."""
    xs, ws = np.shape(x), np.shape(w)
    shapes = f"Received: inputs.shape={tuple(xs)}, kernel.shape={tuple(ws)}"
    if len(xs) not in (3, 4, 5) or len(ws) != len(xs):
        raise ValueError(f"{op}: expected inputs of rank 3 (N, W, C), 4 (N, H, W, C) or 5 "
                         f"and a kernel of the same rank (*kernel_size, in, out). {shapes}")
    if xs[-1] != ws[kernel_cin_axis]:
        raise ValueError(f"{op}: inputs have {xs[-1]} channels (last axis) but the kernel "
                         f"expects {ws[kernel_cin_axis]} (kernel.shape[{kernel_cin_axis}]). {shapes}")


def _conv_geometry(op, x_shape, w_shape, strides, padding, dilation_rate):
    nsp = len(x_shape) - 2
    strides = _tuple(strides, nsp, "strides", op)
    dilation = _tuple(dilation_rate, nsp, "dilation_rate", op)
    ksize = tuple(w_shape[:nsp])
    pads = same_or_valid_pads(x_shape[1:-1], ksize, strides, dilation, _padding(padding, op))
    for n, k, d, (lo, hi) in zip(x_shape[1:-1], ksize, dilation, pads):
        if effective_size(k, d) > n + lo + hi:
            raise ValueError(f"{op}: the kernel (size {k}, dilation {d}, extent "
                             f"{effective_size(k, d)}) is larger than the padded input "
                             f"(size {n + lo + hi}). Received: inputs.shape={tuple(x_shape)}, "
                             f"kernel.shape={tuple(w_shape)}, padding={padding!r}")
    return strides, pads, dilation


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution of channels-last ``inputs`` with ``kernel`` (keras.ops.conv).

    Args:
        inputs: (N, W, C) or (N, H, W, C).
        kernel: (kw, C, F) or (kh, kw, C, F).
        strides: int or tuple, step between windows.
        padding: 'valid' (no padding) or 'same' (out = ceil(in / stride), the odd
            padding element at the bottom/right, as TensorFlow).
        data_format: only 'channels_last' (None means that).
        dilation_rate: int or tuple, spacing between kernel taps.

    Returns:
        (N, *out, F), out = floor((in + pad - (k-1) d - 1) / s) + 1.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> ops.conv(np.ones((1, 5, 1)), np.ones((3, 1, 1))).numpy()[0, :, 0]
        array([3., 3., 3.])
    """
    _check_data_format(data_format, "conv")
    _check_conv_args("conv", data_of(inputs), data_of(kernel))
    strides, pads, dilation = _conv_geometry("conv", np.shape(data_of(inputs)),
                                             np.shape(data_of(kernel)), strides, padding,
                                             dilation_rate)
    return Conv.apply(inputs, kernel, strides=strides, pads=pads, dilation=dilation)


conv1d = conv2d = conv3d = conv


def conv_bias(inputs, kernel, bias, strides=1, padding="valid", dilation_rate=1):
    """conv(inputs, kernel) + bias as one op (what a Conv layer with a bias computes
    before its activation); arguments as :func:`conv`, bias of shape (C_out,)."""
    _check_conv_args("conv", data_of(inputs), data_of(kernel))
    strides, pads, dilation = _conv_geometry("conv", np.shape(data_of(inputs)),
                                             np.shape(data_of(kernel)), strides, padding,
                                             dilation_rate)
    return ConvBias.apply(inputs, kernel, bias, strides=strides, pads=pads, dilation=dilation)


def conv_bias_relu(inputs, kernel, bias, strides=1, padding="valid", dilation_rate=1):
    """max(conv(inputs, kernel) + bias, 0) as one op (what a Conv layer with
    ``activation='relu'`` computes); arguments as :func:`conv`, bias of shape (C_out,)."""
    _check_conv_args("conv", data_of(inputs), data_of(kernel))
    strides, pads, dilation = _conv_geometry("conv", np.shape(data_of(inputs)),
                                             np.shape(data_of(kernel)), strides, padding,
                                             dilation_rate)
    return ConvBiasRelu.apply(inputs, kernel, bias, strides=strides, pads=pads, dilation=dilation)


def conv_transpose_output_length(n, k, s, padding, output_padding, d):
    """Keras's output length of a transposed convolution along one axis."""
    k_eff = effective_size(k, d)
    if output_padding is None:
        return n * s + max(k_eff - s, 0) if padding == "valid" else n * s
    pad = 0 if padding == "valid" else k_eff // 2
    return (n - 1) * s + k_eff - 2 * pad + output_padding


def _conv_transpose_low_pad(k, s, padding, output_padding, d):
    """Padding before the start of the equivalent forward conv's input.

    Keras (jax backend) pads the stride-dilated input by left = k_eff - 1 - lo;
    solving for lo gives the crop of the full transposed output.
    """
    k_eff = effective_size(k, d)
    if padding == "valid":
        return 0
    total = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, k_eff - 1)
    return k_eff - 1 - left


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (keras.ops.conv_transpose), the adjoint of ``conv``.

    Args:
        inputs: (N, *in, C_in), channels-last.
        kernel: (*k, C_out, C_in) -- Keras's layout.
        strides: int or tuple.
        padding: 'valid' or 'same'.
        output_padding: None, int or tuple: extra length at the end of each axis
            (then the length is (in - 1) s + k_eff - 2 pad + output_padding).
        dilation_rate: int or tuple.

    Returns:
        (N, *out, C_out), with out = in * s + max(k_eff - s, 0) ('valid') or
        in * s ('same') when output_padding is None.
    """
    op = "conv_transpose"
    _check_data_format(data_format, op)
    x, w = data_of(inputs), data_of(kernel)
    _check_conv_args(op, x, w, kernel_cin_axis=-1)
    nsp = x.ndim - 2
    strides = _tuple(strides, nsp, "strides", op)
    dilation = _tuple(dilation_rate, nsp, "dilation_rate", op)
    padding = _padding(padding, op)
    if output_padding is not None:
        output_padding = (int(output_padding),) * nsp if isinstance(output_padding, (int, np.integer)) \
            else tuple(int(p) for p in output_padding)
    ops_ = output_padding if output_padding is not None else (None,) * nsp
    ksize = w.shape[:nsp]
    out, pads = [], []
    for n, k, s, d, op_ in zip(x.shape[1:-1], ksize, strides, dilation, ops_):
        length = conv_transpose_output_length(n, k, s, padding, op_, d)
        if length < 1:
            raise ValueError(f"{op}: the output length would be {length}. Received: "
                             f"inputs.shape={x.shape}, kernel.shape={w.shape}")
        lo = _conv_transpose_low_pad(k, s, padding, op_, d)
        # hi makes the forward conv of the output produce exactly n positions; it is
        # negative when the output ends before the last window (the tail gets no input).
        pads.append((lo, (n - 1) * s + effective_size(k, d) - lo - length))
        out.append(length)
    out_shape = (x.shape[0],) + tuple(out) + (w.shape[-2],)
    return ConvTranspose.apply(inputs, kernel, out_shape=out_shape, strides=strides,
                               pads=tuple(pads), dilation=dilation)


conv1d_transpose = conv2d_transpose = conv3d_transpose = conv_transpose


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution (keras.ops.depthwise_conv): each channel its own filters.

    Args:
        inputs: (N, W, C) or (N, H, W, C).
        kernel: (*k, C, depth_multiplier).
        strides, padding, dilation_rate: as in :func:`conv`.

    Returns:
        (N, *out, C * depth_multiplier); output channel c * M + m comes from input
        channel c and filter m.
    """
    op = "depthwise_conv"
    _check_data_format(data_format, op)
    _check_conv_args(op, data_of(inputs), data_of(kernel))
    strides, pads, dilation = _conv_geometry(op, np.shape(data_of(inputs)),
                                             np.shape(data_of(kernel)), strides, padding,
                                             dilation_rate)
    return DepthwiseConv.apply(inputs, kernel, strides=strides, pads=pads, dilation=dilation)


depthwise_conv1d = depthwise_conv2d = depthwise_conv
