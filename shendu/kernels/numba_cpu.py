"""Numba kernels for the CPU: the fast overrides of the NumPy references.

Imported by ``shendu.kernels.fast_kernels()`` on the first ``kernel()`` call, never at
``import shendu``. Each public function here has exactly the signature of the NumPy
reference it overrides (named in ``KERNELS`` at the bottom) and returns the same
arrays; cases a Numba loop does not cover (integer dtypes, 1-D/3-D pooling, ...) go to
the reference. The loops are plain, serial ``@njit(cache=True)`` code: compiled once
per machine and dtype, and never running while BLAS runs (see ``threads.py``).

The largest, ``conv_pool_forward_chunk`` / ``conv_pool_backward_chunk``, do a whole chunk
of ops/conv_pool.py (columns, a BLAS product called from Numba, pool, bias + ReLU, a
fused dropout) in one call with the GIL released; their references are the same chunk
as a few kernel calls and NumPy products.

Layouts are channels-last throughout, so the innermost loop runs over channels,
contiguous in memory, and LLVM vectorizes it.
"""
import numpy as np
from numba import njit, prange

from .. import config
from . import get_reference, tuning, workspace
from .blas import NO_TRANS, ROW_MAJOR, TRANS
from .counter_hash import GOLDEN, M1, M2, dropout_threshold

_JIT = dict(cache=True, nogil=True, error_model="numpy")
# Loops over the batch (or over chunks) are ``prange``: parallel when PARALLEL is on.
PARALLEL = config.env_numba_parallel()
_PJIT = dict(_JIT, parallel=PARALLEL)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _floats(*arrays):
    # (a plain loop: these checks run per chunk, in the threads' shared interpreter time)
    dtype = arrays[0].dtype
    if dtype not in _FLOATS:
        return False
    for a in arrays:
        if a.dtype != dtype:
            return False
    return True


# --- im2col / col2im (2-D) ------------------------------------------------------------


@njit(**_PJIT)
def _im2col2d(x, kh, kw, sh, sw, ph, pw, dh, dw, cols):
    N, H, W, C = x.shape
    OH, OW = cols.shape[1], cols.shape[2]
    for n in prange(N):
        for oh in range(OH):
            for ow in range(OW):
                for i in range(kh):
                    h = oh * sh - ph + i * dh
                    for j in range(kw):
                        w = ow * sw - pw + j * dw
                        if 0 <= h < H and 0 <= w < W:
                            for c in range(C):
                                cols[n, oh, ow, i, j, c] = x[n, h, w, c]
                        else:
                            for c in range(C):
                                cols[n, oh, ow, i, j, c] = 0


@njit(**_PJIT)
def _col2im2d(gcols, kh, kw, sh, sw, ph, pw, dh, dw, gx):
    N, H, W, C = gx.shape
    OH, OW = gcols.shape[1], gcols.shape[2]
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                for i in range(kh):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= H:
                        continue
                    for j in range(kw):
                        w = ow * sw - pw + j * dw
                        if 0 <= w < W:
                            for c in range(C):
                                gx[n, h, w, c] += gcols[n, oh, ow, i, j, c]


@njit(**_PJIT)
def _im2col2d_dense(x, kh, kw, cols):
    """The common case -- stride 1, no dilation, no padding -- as straight copies: for
    one output position and kernel row the kw taps are kw*C consecutive values of x and
    of cols. (Slices, not ``cf[dst + t]``: Numba cannot prove a computed index is
    non-negative, and the wraparound check stops LLVM from vectorizing the copy.)"""
    N, H, W, C = x.shape
    OH, OW = cols.shape[1], cols.shape[2]
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    run = kw * C
    for n in prange(N):
        for oh in range(OH):
            for ow in range(OW):
                for i in range(kh):
                    dst = (((n * OH + oh) * OW + ow) * kh + i) * run
                    src = ((n * H + oh + i) * W + ow) * C
                    out = cf[dst:dst + run]
                    inp = xf[src:src + run]
                    for t in range(run):
                        out[t] = inp[t]


@njit(**_PJIT)
def _col2im2d_dense(gcols, kh, kw, gx):
    """Adjoint of _im2col2d_dense: the same runs, added back."""
    N, H, W, C = gx.shape
    OH, OW = gcols.shape[1], gcols.shape[2]
    gf = gx.reshape(-1)
    cf = gcols.reshape(-1)
    run = kw * C
    for n in prange(N):
        gf[n * H * W * C:(n + 1) * H * W * C] = 0
        for oh in range(OH):
            for ow in range(OW):
                for i in range(kh):
                    src = (((n * OH + oh) * OW + ow) * kh + i) * run
                    dst = ((n * H + oh + i) * W + ow) * C
                    out = gf[dst:dst + run]
                    inp = cf[src:src + run]
                    for t in range(run):
                        out[t] += inp[t]


def _dense(strides, pads, dilation):
    return tuple(strides) == (1, 1) and tuple(dilation) == (1, 1) and \
        tuple(pads) == ((0, 0), (0, 0))


def _out2d(x_shape, ksize, strides, pads, dilation):
    (kh, kw), (sh, sw), (dh, dw), ((t, b), (l, r)) = ksize, strides, dilation, pads
    return ((x_shape[1] + t + b - (kh - 1) * dh - 1) // sh + 1,
            (x_shape[2] + l + r - (kw - 1) * dw - 1) // sw + 1)


def im2col(x, ksize, strides, pads, dilation, out=None):
    if x.ndim != 4 or not _floats(x):
        return get_reference("im2col")(x, ksize, strides, pads, dilation, out)
    x = np.ascontiguousarray(x)
    (kh, kw), (sh, sw), (dh, dw) = ksize, strides, dilation
    oh, ow = _out2d(x.shape, ksize, strides, pads, dilation)
    if out is not None:  # the kernels index from the top-left, so fewer outputs just stop early
        oh, ow = min(oh, out[0]), min(ow, out[1])
    cols = workspace.empty((x.shape[0], oh, ow, kh, kw, x.shape[3]), x.dtype)
    if _dense(strides, pads, dilation):
        _im2col2d_dense(x, kh, kw, cols)
    else:
        _im2col2d(x, kh, kw, sh, sw, pads[0][0], pads[1][0], dh, dw, cols)
    return cols.reshape(x.shape[0], oh, ow, kh * kw, x.shape[3])


def col2im(gcols, x_shape, ksize, strides, pads, dilation):
    if len(x_shape) != 4 or not _floats(gcols):
        return get_reference("col2im")(gcols, x_shape, ksize, strides, pads, dilation)
    (kh, kw), (sh, sw), (dh, dw) = ksize, strides, dilation
    n, oh, ow = gcols.shape[:3]
    g6 = np.ascontiguousarray(gcols).reshape(n, oh, ow, kh, kw, x_shape[3])
    gx = workspace.empty(x_shape, gcols.dtype)
    if _dense(strides, pads, dilation):
        _col2im2d_dense(g6, kh, kw, gx)
    else:
        _col2im2d(g6, kh, kw, sh, sw, pads[0][0], pads[1][0], dh, dw, gx)
    return gx


# --- max pooling (2-D) ----------------------------------------------------------------


@njit(**_PJIT)
def _max_pool2d_fwd(x, ph, pw, sh, sw, lh, lw, y, arg):
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for n in prange(N):
        for oh in range(OH):
            for ow in range(OW):
                yv = y[n, oh, ow]
                av = arg[n, oh, ow]
                for i in range(ph):
                    h = oh * sh - lh + i
                    for j in range(pw):
                        w = ow * sw - lw + j
                        k = i * pw + j
                        inside = 0 <= h < H and 0 <= w < W
                        if k == 0:
                            for c in range(C):
                                yv[c] = x[n, h, w, c] if inside else -np.inf
                                av[c] = 0
                        elif inside:
                            for c in range(C):
                                v = x[n, h, w, c]
                                # NOTE: strict >: at a tie the first tap keeps the gradient.
                                if v > yv[c]:
                                    yv[c] = v
                                    av[c] = k


@njit(**_PJIT)
def _max_pool2d_fwd_22(x, y, arg):
    """The hot case: 2x2 windows, stride 2, no padding. Rows and runs are taken as
    slices so that the inner loop over channels indexes with a plain loop counter
    (vectorized; see _im2col2d_dense)."""
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for n in prange(N):
        for oh in range(OH):
            r0 = x[n, 2 * oh].reshape(-1)
            r1 = x[n, 2 * oh + 1].reshape(-1)
            yr = y[n, oh].reshape(-1)
            ar = arg[n, oh].reshape(-1)
            for ow in range(OW):
                o = 2 * ow * C
                a, b = r0[o:o + C], r0[o + C:o + 2 * C]
                d, e = r1[o:o + C], r1[o + C:o + 2 * C]
                yv, av = yr[ow * C:(ow + 1) * C], ar[ow * C:(ow + 1) * C]
                for c in range(C):
                    best, k = a[c], 0
                    if b[c] > best:
                        best, k = b[c], 1
                    if d[c] > best:
                        best, k = d[c], 2
                    if e[c] > best:
                        best, k = e[c], 3
                    yv[c] = best
                    av[c] = k


@njit(**_PJIT)
def _max_pool2d_fwd_22_max(x, y):
    """2x2 / stride 2 / no padding, the maximum only (inference: no argmax to keep)."""
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for n in prange(N):
        for oh in range(OH):
            r0 = x[n, 2 * oh].reshape(-1)
            r1 = x[n, 2 * oh + 1].reshape(-1)
            yr = y[n, oh].reshape(-1)
            for ow in range(OW):
                o = 2 * ow * C
                a, b = r0[o:o + C], r0[o + C:o + 2 * C]
                d, e = r1[o:o + C], r1[o + C:o + 2 * C]
                yv = yr[ow * C:(ow + 1) * C]
                for c in range(C):  # the same order of compares as with the argmax
                    best = a[c]
                    best = b[c] if b[c] > best else best
                    best = d[c] if d[c] > best else best
                    yv[c] = e[c] if e[c] > best else best


@njit(**_PJIT)
def _max_pool2d_bwd(gy, arg, ph, pw, sh, sw, lh, lw, gx):
    N, H, W, C = gx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    k = arg[n, oh, ow, c]
                    h = oh * sh - lh + k // pw
                    w = ow * sw - lw + k % pw
                    if 0 <= h < H and 0 <= w < W:
                        gx[n, h, w, c] += gy[n, oh, ow, c]


@njit(**_PJIT)
def _max_pool2d_bwd_22(gy, arg, gx):
    """2x2 windows, stride 2, no padding: every element of gx written once, no zeroing pass."""
    N, H, W, C = gx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    for n in prange(N):
        for oh in range(OH):
            r0 = gx[n, 2 * oh].reshape(-1)
            r1 = gx[n, 2 * oh + 1].reshape(-1)
            gr = gy[n, oh].reshape(-1)
            ar = arg[n, oh].reshape(-1)
            for ow in range(OW):
                o = 2 * ow * C
                a, b = r0[o:o + C], r0[o + C:o + 2 * C]
                d, e = r1[o:o + C], r1[o + C:o + 2 * C]
                g, k = gr[ow * C:(ow + 1) * C], ar[ow * C:(ow + 1) * C]
                for c in range(C):
                    a[c] = g[c] if k[c] == 0 else 0
                    b[c] = g[c] if k[c] == 1 else 0
                    d[c] = g[c] if k[c] == 2 else 0
                    e[c] = g[c] if k[c] == 3 else 0
            if 2 * OW < W:  # odd width: the last column belongs to no window
                r0[2 * OW * C:] = 0
                r1[2 * OW * C:] = 0
        for h in range(2 * OH, H):  # odd height: nor does the last row
            gx[n, h] = 0


@njit(**_PJIT)
def _max_pool2d_relu_bwd_22(gy, arg, y, gx, gb, scale):
    """_max_pool2d_bwd_22 with the ReLU's mask [y > 0] (y the pool's output, the
    activation at the argmax) applied to gy * scale, and gb the sum of the masked
    gy * scale (scale is 1, or a fused dropout's 1 / (1 - rate): see ops/conv_pool.py)."""
    N, H, W, C = gx.shape
    OH, OW = gy.shape[1], gy.shape[2]
    T = 16  # blocks of samples, each with its own partial sum of gb
    acc = np.zeros((T, C), np.float64)
    for t in prange(T):
        at = acc[t]
        for n in range(t * N // T, (t + 1) * N // T):
            for oh in range(OH):
                r0 = gx[n, 2 * oh].reshape(-1)
                r1 = gx[n, 2 * oh + 1].reshape(-1)
                gr = gy[n, oh].reshape(-1)
                yr = y[n, oh].reshape(-1)
                ar = arg[n, oh].reshape(-1)
                for ow in range(OW):
                    o = 2 * ow * C
                    a, b = r0[o:o + C], r0[o + C:o + 2 * C]
                    d, e = r1[o:o + C], r1[o + C:o + 2 * C]
                    g, k = gr[ow * C:(ow + 1) * C], ar[ow * C:(ow + 1) * C]
                    yv = yr[ow * C:(ow + 1) * C]
                    for c in range(C):
                        v = g[c] * scale if yv[c] > 0 else 0
                        at[c] += v
                        a[c] = v if k[c] == 0 else 0
                        b[c] = v if k[c] == 1 else 0
                        d[c] = v if k[c] == 2 else 0
                        e[c] = v if k[c] == 3 else 0
                if 2 * OW < W:  # odd width: the last column belongs to no window
                    r0[2 * OW * C:] = 0
                    r1[2 * OW * C:] = 0
            for h in range(2 * OH, H):  # odd height: nor does the last row
                gx[n, h] = 0
    for c in range(C):
        s = 0.0
        for t in range(T):
            s += acc[t, c]
        gb[c] = s


def max_pool_forward(x, pool, strides, pads, out, need_arg=True):
    if x.ndim != 4 or not _floats(x):
        return get_reference("max_pool_forward")(x, pool, strides, pads, out, need_arg)
    x = np.ascontiguousarray(x)
    y = workspace.empty((x.shape[0],) + tuple(out) + (x.shape[3],), x.dtype)
    hot = tuple(pool) == (2, 2) and tuple(strides) == (2, 2) and pads == ((0, 0), (0, 0))
    if hot and not need_arg:
        _max_pool2d_fwd_22_max(x, y)
        return y, None
    arg = workspace.empty(y.shape, np.int32)
    if hot:
        _max_pool2d_fwd_22(x, y, arg)
    else:
        _max_pool2d_fwd(x, pool[0], pool[1], strides[0], strides[1], pads[0][0], pads[1][0],
                        y, arg)
    return y, arg


def max_pool_backward(gy, arg, x_shape, pool, strides, pads, out):
    if len(x_shape) != 4 or not _floats(gy):
        return get_reference("max_pool_backward")(gy, arg, x_shape, pool, strides, pads, out)
    gx = workspace.empty(x_shape, gy.dtype)
    gy = np.ascontiguousarray(gy)
    if tuple(pool) == (2, 2) and tuple(strides) == (2, 2) and pads == ((0, 0), (0, 0)):
        _max_pool2d_bwd_22(gy, arg, gx)
    else:
        _max_pool2d_bwd(gy, arg, pool[0], pool[1], strides[0], strides[1], pads[0][0],
                        pads[1][0], gx)
    return gx


def max_pool_relu_backward(gy, arg, y, x_shape, pool, strides, pads, out):
    if len(x_shape) != 4 or not _floats(gy, y):
        return get_reference("max_pool_relu_backward")(gy, arg, y, x_shape, pool, strides,
                                                        pads, out)
    if not (tuple(pool) == (2, 2) and tuple(strides) == (2, 2) and pads == ((0, 0), (0, 0))):
        g, gb = bias_relu_grad(gy, y)
        return max_pool_backward(g, arg, x_shape, pool, strides, pads, out), gb
    gx = workspace.empty(x_shape, gy.dtype)
    gb = np.empty(x_shape[-1], gy.dtype)
    _max_pool2d_relu_bwd_22(np.ascontiguousarray(gy), np.ascontiguousarray(arg),
                            np.ascontiguousarray(y), gx, gb, gy.dtype.type(1))
    return gx, gb


# --- conv + bias + ReLU + 2x2 max pool, one chunk of samples per call -------------------
# The overrides of ops/conv_pool.py's chunk kernels (see its docstring for the math) for
# float32 and the common pool (2x2, stride 2), as one call each: the columns, NumPy's
# BLAS sgemm (shendu.kernels.blas), the pool, the bias + ReLU and a fused dropout, with
# the GIL released throughout. The reference is five kernel calls and a product from
# Python, each paying the interpreter, and the threads that share a step's chunks queue
# for the GIL between them. Products run over at most tuning.GEMM_ROWS rows per call.
GEMM_ROWS = tuning.GEMM_ROWS


@njit(**_JIT)
def _chunk_cols(x, kh, kw, sh, sw, ph, pw, dh, dw, cols):
    if sh == 1 and sw == 1 and dh == 1 and dw == 1 and ph == 0 and pw == 0 and \
            x.shape[1] >= cols.shape[1] + kh - 1 and x.shape[2] >= cols.shape[2] + kw - 1:
        _im2col2d_dense(x, kh, kw, cols)
    else:
        _im2col2d(x, kh, kw, sh, sw, ph, pw, dh, dw, cols)


# In-place forms of _bias_relu and _dropout for the chunks. (Called with the same array
# as input and output, those loops are not vectorized -- LLVM's runtime check for
# overlapping arrays fails -- and run many times slower.)


@njit(**_JIT)
def _bias_relu_in_place(y, b):
    M, F = y.shape
    for m in range(M):
        yr = y[m]
        for f in range(F):
            v = yr[f] + b[f]
            yr[f] = v if not v <= 0 else 0


@njit(**_JIT)
def _dropout_in_place(y, seed, threshold, scale):
    for i in range(y.size):
        if _keep(seed, i, threshold):
            y[i] = y[i] * scale
        else:
            y[i] = 0


@njit(**_JIT)
def _conv_pool_fwd(sgemm, x, w2, b, cols, z, y, arg, kh, kw, sh, sw, ph, pw, dh, dw,
                   need_arg, drop_seed, drop_threshold, drop_scale):
    n, OH, OW = cols.shape[0], cols.shape[1], cols.shape[2]
    F = w2.shape[1]
    K = w2.shape[0]
    _chunk_cols(x, kh, kw, sh, sw, ph, pw, dh, dw, cols)
    c2, z2 = cols.reshape(-1, K), z.reshape(-1, F)
    for r in range(0, n * OH * OW, GEMM_ROWS):
        m = min(GEMM_ROWS, n * OH * OW - r)
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, F, K, np.float32(1.0), c2[r:].ctypes, K,
              w2.ctypes, F, np.float32(0.0), z2[r:].ctypes, F)
    if need_arg:
        _max_pool2d_fwd_22(z, y, arg)
    else:
        _max_pool2d_fwd_22_max(z, y)
    _bias_relu_in_place(y.reshape(-1, F), b)
    if drop_threshold > 0:
        _dropout_in_place(y.reshape(-1), drop_seed, drop_threshold, drop_scale)


@njit(**_JIT)
def _conv_pool_bwd(sgemm, x, w2, gy, arg, y, cols, gz, gcols, gw, gb, gx,
                   kh, kw, sh, sw, ph, pw, dh, dw, make_cols, need_w, need_x, scale):
    n, OH, OW, F = gz.shape
    K = w2.shape[0]
    rows = n * OH * OW
    _max_pool2d_relu_bwd_22(gy, arg, y, gz, gb, scale)
    one, zero = np.float32(1.0), np.float32(0.0)
    g2 = gz.reshape(-1, F)
    if need_w:
        if make_cols:
            _chunk_cols(x, kh, kw, sh, sw, ph, pw, dh, dw, cols)
        c2 = cols.reshape(-1, K)
        for r in range(0, rows, GEMM_ROWS):  # gW = sum over row blocks, in order
            m = min(GEMM_ROWS, rows - r)
            sgemm(ROW_MAJOR, TRANS, NO_TRANS, K, F, m, one, c2[r:].ctypes, K, g2[r:].ctypes, F,
                  zero if r == 0 else one, gw.ctypes, F)
    if need_x:
        gc2 = gcols.reshape(-1, K)
        for r in range(0, rows, GEMM_ROWS):
            m = min(GEMM_ROWS, rows - r)
            sgemm(ROW_MAJOR, NO_TRANS, TRANS, m, K, F, one, g2[r:].ctypes, F, w2.ctypes, F, zero,
                  gc2[r:].ctypes, K)
        if sh == 1 and sw == 1 and dh == 1 and dw == 1 and ph == 0 and pw == 0:
            _col2im2d_dense(gcols, kh, kw, gx)
        else:
            _col2im2d(gcols, kh, kw, sh, sw, ph, pw, dh, dw, gx)


# Placeholders for the arrays a call does not use (the argument types stay the same, so
# each kernel is compiled once).
_NO_ARG = np.zeros((1, 1, 1, 1), np.int32)
_NO_4D = np.zeros((1, 1, 1, 1), np.float32)
_NO_6D = np.zeros((1, 1, 1, 1, 1, 1), np.float32)
_SGEMM = []
_F32 = np.dtype(np.float32)
_GEOMETRY = {}  # geom -> (the 8 ints the Numba loops take, columns' and z's shape past n)


def _one_call_sgemm(x, w2, *others, pool, pool_strides):
    """NumPy's sgemm when a chunk can be one call (float32 and C-contiguous throughout, 2-D,
    a 2x2 pool of stride 2, the BLAS binding found); else None."""
    if x.ndim != 4 or tuple(pool) != (2, 2) or tuple(pool_strides) != (2, 2):
        return None
    for a in (x, w2) + others:
        if a is not None and (a.dtype != _F32 or not a.flags.c_contiguous):
            return None
    if not _SGEMM:
        from .blas import sgemm
        _SGEMM.append(sgemm())
    return _SGEMM[0]


def _chunk_geometry(geom, x, F):
    """(kh, kw, sh, sw, ph, pw, dh, dw), the columns' shape and z's shape past the batch
    axis, for ``geom``; computed once per geometry (this runs per chunk)."""
    key = (geom, x.shape[-1], F)
    g = _GEOMETRY.get(key)
    if g is None:
        ksize, strides, pads, dilation, conv_out = geom[:5]
        g = _GEOMETRY[key] = (
            (ksize[0], ksize[1], strides[0], strides[1], pads[0][0], pads[1][0], dilation[0],
             dilation[1]),
            tuple(conv_out) + tuple(ksize) + (x.shape[-1],), tuple(conv_out) + (F,))
    return g


def _drop_args(drop):
    if drop is None:
        return _NO_DROP
    rate = drop[1]
    args = _DROP_ARGS.get(rate)
    if args is None:
        args = _DROP_ARGS[rate] = (np.uint64(dropout_threshold(rate)),
                                   np.float32(1.0 / (1.0 - rate)))
    return (np.uint64(drop[0]),) + args


_NO_DROP = (np.uint64(0), np.uint64(0), np.float32(1))
_DROP_ARGS = {}


def conv_pool_forward_chunk(x, w2, b, cols, y, arg, geom, drop):
    sgemm = _one_call_sgemm(x, w2, b, cols, y, pool=geom[5], pool_strides=geom[6])
    if sgemm is None:
        return get_reference("conv_pool_forward_chunk")(x, w2, b, cols, y, arg, geom, drop)
    n = len(x)
    g8, cshape, zshape = _chunk_geometry(geom, x, w2.shape[1])
    if cols is None:
        cols = workspace.empty((n,) + cshape, x.dtype)
    z = workspace.empty((n,) + zshape, x.dtype)
    _conv_pool_fwd(sgemm, x, w2, b, cols, z, y, _NO_ARG if arg is None else arg, *g8,
                   arg is not None, *_drop_args(drop))


def conv_pool_backward_chunk(x, w2, gy, arg, y, cols, gx, geom, need_w, scale):
    sgemm = _one_call_sgemm(x, w2, gy, y, cols, gx, pool=geom[5], pool_strides=geom[6])
    if sgemm is None:
        return get_reference("conv_pool_backward_chunk")(x, w2, gy, arg, y, cols, gx, geom,
                                                         need_w, scale)
    n, (K, F) = len(x), w2.shape
    g8, cshape, zshape = _chunk_geometry(geom, x, F)
    make = need_w and cols is None
    c = cols if cols is not None else workspace.empty((n,) + cshape, x.dtype) if make else _NO_6D
    gz = workspace.empty((n,) + zshape, x.dtype)
    gcols = workspace.empty((n,) + cshape, x.dtype) if gx is not None else _NO_6D
    gw = np.empty((K, F), np.float32) if need_w else _NO_4D[0, 0]
    gb = np.empty(F, np.float32)
    _conv_pool_bwd(sgemm, x, w2, gy, arg, y, c, gz, gcols, gw, gb,
                   _NO_4D if gx is None else gx, *g8, make, need_w, gx is not None,
                   np.float32(scale))
    return (gw if need_w else None), gb


# --- bias + relu ----------------------------------------------------------------------


@njit(**_PJIT)
def _bias_relu(x, b, y):
    M, F = x.shape
    for m in prange(M):
        xr, yr = x[m], y[m]
        for f in range(F):
            v = xr[f] + b[f]
            # one unordered compare: true for v > 0 and for NaN (which propagates, as in
            # np.maximum), and branch-free, so the loop vectorizes
            yr[f] = v if not v <= 0 else 0


@njit(**_PJIT)
def _bias_relu_grad(gy, y, gx, gb):
    M, F = gy.shape
    T = 16  # row blocks, each with its own partial sum of gb
    acc = np.zeros((T, F), np.float64)
    for t in prange(T):
        at = acc[t]
        for m in range(t * M // T, (t + 1) * M // T):
            gr, yr, xr = gy[m], y[m], gx[m]
            for f in range(F):
                g = gr[f] if yr[f] > 0 else 0
                xr[f] = g
                at[f] += g
    for f in range(F):
        s = 0.0
        for t in range(T):
            s += acc[t, f]
        gb[f] = s


def bias_relu(x, b, out=None):
    if not _floats(x, b) or x.ndim < 1 or b.shape != x.shape[-1:] or (
            out is not None and (out.dtype != x.dtype or not out.flags.c_contiguous)):
        return get_reference("bias_relu")(x, b, out)
    if out is not None and np.may_share_memory(x, out):
        # in place (ConvBiasRelu's epilogue): the one-array loop, which vectorizes
        if out.ctypes.data == x.ctypes.data and out.shape == x.shape and x.flags.c_contiguous:
            _bias_relu_in_place(out.reshape(-1, x.shape[-1]), b)
            return out
        return get_reference("bias_relu")(x, b, out)
    y = workspace.empty(x.shape, x.dtype) if out is None else out
    _bias_relu(np.ascontiguousarray(x).reshape(-1, x.shape[-1]), b, y.reshape(-1, x.shape[-1]))
    return y


def bias_relu_grad(gy, y):
    if not _floats(gy, y) or gy.ndim < 1:
        return get_reference("bias_relu_grad")(gy, y)
    F = gy.shape[-1]
    gx = workspace.empty(gy.shape, gy.dtype)
    gb = np.empty(F, gy.dtype)
    _bias_relu_grad(np.ascontiguousarray(gy).reshape(-1, F), np.ascontiguousarray(y).reshape(-1, F),
                    gx.reshape(-1, F), gb)
    return gx, gb


# --- batch norm, channels last: x as (M, C), statistics per column ---------------------


@njit(**_JIT)
def _bn_moments(x, shift, s1, s2):
    M, C = x.shape
    for m in range(M):
        xr = x[m]
        for c in range(C):
            d = xr[c] - shift[c]
            s1[c] += d
            s2[c] += d * d


def bn_moments(x, shift):
    if x.ndim != 2 or not _floats(x):
        return get_reference("bn_moments")(x, shift)
    s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    _bn_moments(np.ascontiguousarray(x), np.ascontiguousarray(shift, np.float64), s1, s2)
    return s1, s2


@njit(**_JIT)
def _bn_grad_moments(gy, x, mean, s1, s2):
    M, C = x.shape
    for m in range(M):
        gr, xr = gy[m], x[m]
        for c in range(C):
            g = np.float64(gr[c])
            s1[c] += g
            s2[c] += g * (xr[c] - mean[c])


def bn_grad_moments(gy, x, mean):
    if x.ndim != 2 or not _floats(gy, x):
        return get_reference("bn_grad_moments")(gy, x, mean)
    s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    _bn_grad_moments(np.ascontiguousarray(gy), np.ascontiguousarray(x),
                     np.ascontiguousarray(mean, np.float64), s1, s2)
    return s1, s2


@njit(**_JIT)
def _bn_affine(x, center, a, b, y):
    M, C = x.shape
    for m in range(M):
        xr, yr = x[m], y[m]
        for c in range(C):
            yr[c] = (xr[c] - center[c]) * a[c] + b[c]


@njit(**_JIT)
def _bn_affine_g(x, center, a, b, gy, gs, y):
    M, C = x.shape
    for m in range(M):
        xr, gr, yr = x[m], gy[m], y[m]
        for c in range(C):
            yr[c] = (xr[c] - center[c]) * a[c] + b[c] + gr[c] * gs[c]


def bn_affine(x, center, a, b, gy=None, g_scale=None, out=None):
    arrays = (x, center, a, b) + (() if gy is None else (gy, g_scale))
    if x.ndim != 2 or not _floats(*arrays) or (out is not None and (
            out.dtype != x.dtype or not out.flags.c_contiguous or np.may_share_memory(out, x)
            or (gy is not None and np.may_share_memory(out, gy)))):
        return get_reference("bn_affine")(x, center, a, b, gy, g_scale, out)
    y = np.empty_like(x) if out is None else out
    x = np.ascontiguousarray(x)
    if gy is None:
        _bn_affine(x, center, a, b, y)
    else:
        _bn_affine_g(x, center, a, b, np.ascontiguousarray(gy), g_scale, y)
    return y


# --- dropout: counter-based mask ------------------------------------------------------

@njit(inline="always", **_JIT)
def _keep(seed, i, threshold):
    """Whether element i is kept: the top 24 bits of splitmix64(seed + i * golden), read
    as an integer, are >= threshold (see ops.random.dropout_apply)."""
    z = seed + np.uint64(i) * GOLDEN
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)) >= threshold


@njit(**_PJIT)
def _dropout(x, seed, threshold, scale, y):
    for i in prange(x.size):
        if _keep(seed, i, threshold):
            y[i] = x[i] * scale
        else:
            y[i] = 0


def dropout_apply(x, seed, rate):
    if not _floats(x):
        return get_reference("dropout_apply")(x, seed, rate)
    y = workspace.empty(x.shape, x.dtype)
    _dropout(np.ascontiguousarray(x).reshape(-1), np.uint64(seed),
             np.uint64(dropout_threshold(rate)), x.dtype.type(1.0 / (1.0 - rate)), y.reshape(-1))
    return y


# --- Adam -----------------------------------------------------------------------------


@njit(**_JIT)
def _adam(w, g, m, v, b1, b2, alpha, eps):
    for i in range(w.size):
        gi = g[i]
        mi = (m[i] - gi) * b1 + gi
        g2 = gi * gi
        vi = (v[i] - g2) * b2 + g2
        m[i] = mi
        v[i] = vi
        w[i] -= mi / (np.sqrt(vi) + eps) * alpha


def adam_update(w, g, m, v, beta_1, beta_2, alpha, epsilon):
    arrays = (w, g, m, v)
    if not _floats(*arrays) or not all(a.flags.c_contiguous for a in arrays):
        return get_reference("adam_update")(w, g, m, v, beta_1, beta_2, alpha, epsilon)
    t = w.dtype.type
    _adam(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), t(beta_1), t(beta_2),
          t(alpha), t(epsilon))


KERNELS = {
    "im2col": im2col,
    "col2im": col2im,
    "max_pool_forward": max_pool_forward,
    "max_pool_backward": max_pool_backward,
    "max_pool_relu_backward": max_pool_relu_backward,
    "bias_relu": bias_relu,
    "bias_relu_grad": bias_relu_grad,
    "dropout_apply": dropout_apply,
    "bn_moments": bn_moments,
    "bn_grad_moments": bn_grad_moments,
    "bn_affine": bn_affine,
    "adam_update": adam_update,
    "conv_pool_forward_chunk": conv_pool_forward_chunk,
    "conv_pool_backward_chunk": conv_pool_backward_chunk,
}
