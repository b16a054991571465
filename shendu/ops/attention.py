"""Scaled dot-product attention, ``ops.dot_product_attention``, in two implementations.

With query ``q`` (B, T, N, H), key ``k`` (B, S, K, H) and value ``v`` (B, S, K, Hv)
(K key/value heads; N = G K query heads, query head n reads key head n // G)::

    logits[b, n, t, s] = scale * sum_h q[b, t, n, h] k[b, s, n // G, h]  + bias[b, n, t, s]
    logits             = where(mask and (not causal or s <= t), logits, -0.7 * max_float)
    p                  = softmax(logits, over s)
    out[b, t, n, :]    = sum_s p[b, n, t, s] v[b, s, n // G, :]

Masked logits are replaced by a large negative *finite* number, as Keras does: a row
whose every key is masked attends uniformly to all keys instead of giving NaN.

* The **reference** composes differentiable ops (einsum, where, softmax): it stores the
  (B, N, T, S) weights, and autograd derives its backward.
* The **fused** kernel (the flash-attention algorithm) walks key blocks with an online
  softmax: for each query block it keeps the running row maximum ``m``, the running sum
  ``l`` of ``exp(logits - m)`` and the unnormalised output, rescaling the three when a
  new block raises the maximum. Only the output and the log-sum-exp, as its two parts
  ``m`` and ``l`` (B, N, T), are saved (``m + log l`` would lose ``log l`` on a fully
  masked row, whose ``m`` is -0.7 max_float). Backward recomputes each block's weights
  ``p = exp(logits - m) / l`` and, with ``D = rowsum(gout * out)``::

      gv  += p^T gout        gp = gout v^T        glogits = p (gp - D) [unmasked]
      gq  += scale glogits k                      gk += scale glogits^T q

  so no T x S array is ever held (a bias that needs a gradient gets its full gradient).
"""
import numpy as np

from .. import config
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import data_of

# Rows of queries and of keys per block of the fused kernel: a (B, N, 128, 128) block of
# logits stays small whatever T is, and each block product is still a sizeable GEMM.
BLOCK_Q = 128
BLOCK_K = 128


def _neg(dtype):
    # The value masked logits take (Keras: -0.7 of the largest float of the logits' type).
    return dtype.type(-0.7 * np.finfo(dtype).max)


def _check(query, key, value, bias, mask):
    q, k, v = (np.shape(data_of(a)) for a in (query, key, value))
    if len(q) != 4 or len(k) != 4 or len(v) != 4:
        raise ValueError("dot_product_attention expects query, key and value of rank 4, "
                         f"(batch, length, heads, head_dim). Received: query.shape={q}, "
                         f"key.shape={k}, value.shape={v}")
    if k[:3] != v[:3] or q[0] != k[0] or q[3] != k[3] or q[2] % k[2]:
        raise ValueError("dot_product_attention: key and value must share (batch, length, heads), "
                         "query and key the batch and head_dim, and the query heads must be a "
                         f"multiple of the key heads. Received: query.shape={q}, key.shape={k}, "
                         f"value.shape={v}")
    full = (q[0], q[2], q[1], k[1])
    for name, a in (("bias", bias), ("mask", mask)):
        if a is not None:
            try:
                np.broadcast_shapes(np.shape(data_of(a)), full)
            except ValueError:
                raise ValueError(f"dot_product_attention: {name} must broadcast to (batch, "
                                 f"heads, query length, key length) = {full}. Received: "
                                 f"{name}.shape={np.shape(data_of(a))}") from None
    return q, k


def _block(a, t0, t1, s0, s1):
    """Block [t0:t1, s0:s1] of a 4-d array broadcastable to (B, N, T, S)."""
    return a[..., slice(t0, t1) if a.shape[-2] > 1 else slice(None),
             slice(s0, s1) if a.shape[-1] > 1 else slice(None)]


def _keep(mask, is_causal, t0, t1, s0, s1):
    """Boolean block [t0:t1, s0:s1] of the combined mask (None: keep all)."""
    keep = None if mask is None else _block(mask, t0, t1, s0, s1)
    if is_causal:
        tri = np.arange(t0, t1)[:, None] >= np.arange(s0, s1)[None, :]
        keep = tri if keep is None else keep & tri
    return keep


def _block_logits(q, k, bias, mask, is_causal, scale, t0, t1, s0, s1):
    """(logits of the block with bias and masks applied, the keep mask or None)."""
    s = np.matmul(q[:, :, t0:t1], k[:, :, s0:s1].swapaxes(-1, -2))
    s *= s.dtype.type(scale)
    if bias is not None:
        s = s + _block(bias, t0, t1, s0, s1).astype(s.dtype, copy=False)
    keep = _keep(mask, is_causal, t0, t1, s0, s1)
    if keep is not None:
        s = np.where(keep, s, _neg(s.dtype))
    return s, keep


def _skip(is_causal, mask, t1, s0):
    # Under a causal mask alone, a key block that starts after the query block's last row
    # holds only masked logits, each exp(neg - m) = 0 beside the row's unmasked key 0.
    # A user mask may mask a whole row, which then attends to every key: no skipping.
    return is_causal and mask is None and s0 >= t1


def flash_attention_forward(q, k, v, bias, mask, is_causal, scale):
    """Blocked forward with the online softmax over (B, N, T, H) / (B, N, S, H) arrays.

    Returns (out (B, N, T, Hv), m (B, N, T), l (B, N, T)): the output and each row's
    maximum logit and sum of exp(logit - maximum). ``bias`` and ``mask`` are 4-d arrays
    broadcastable to (B, N, T, S) or None.
    """
    B, N, T, _ = q.shape
    S = k.shape[2]
    dt = q.dtype
    out = np.zeros((B, N, T, v.shape[-1]), dt)
    m_all = np.full((B, N, T), _neg(dt), dt)
    l_all = np.ones((B, N, T), dt)
    for t0 in range(0, T, BLOCK_Q):
        t1 = min(t0 + BLOCK_Q, T)
        m = np.full((B, N, t1 - t0), -np.inf, dt)
        l = np.zeros((B, N, t1 - t0), dt)
        acc = out[:, :, t0:t1]
        for s0 in range(0, S, BLOCK_K):
            s1 = min(s0 + BLOCK_K, S)
            if _skip(is_causal, mask, t1, s0):
                break
            s, _ = _block_logits(q, k, bias, mask, is_causal, scale, t0, t1, s0, s1)
            m_new = np.maximum(m, s.max(axis=-1))
            alpha = np.exp(m - m_new)
            p = np.exp(s - m_new[..., None])
            l = l * alpha + p.sum(axis=-1)
            acc *= alpha[..., None]
            acc += np.matmul(p, v[:, :, s0:s1])
            m = m_new
        if S:
            acc /= l[..., None]
            m_all[:, :, t0:t1], l_all[:, :, t0:t1] = m, l
    return out, m_all, l_all


def flash_attention_backward(gout, q, k, v, out, m, l, bias, mask, is_causal, scale, need_gbias):
    """Blocked backward: (gq, gk, gv, gbias or None), the weights recomputed per block."""
    B, N, T, _ = q.shape
    S = k.shape[2]
    dt = q.dtype
    gq, gk, gv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    gbias = np.zeros((B, N, T, S), dt) if need_gbias else None
    D = np.einsum("bnth,bnth->bnt", gout, out)
    sc = dt.type(scale)
    for t0 in range(0, T, BLOCK_Q):
        t1 = min(t0 + BLOCK_Q, T)
        go = gout[:, :, t0:t1]
        for s0 in range(0, S, BLOCK_K):
            s1 = min(s0 + BLOCK_K, S)
            if _skip(is_causal, mask, t1, s0):
                break
            s, keep = _block_logits(q, k, bias, mask, is_causal, scale, t0, t1, s0, s1)
            p = np.exp(s - m[:, :, t0:t1, None]) / l[:, :, t0:t1, None]
            gv[:, :, s0:s1] += np.matmul(p.swapaxes(-1, -2), go)
            gs = p * (np.matmul(go, v[:, :, s0:s1].swapaxes(-1, -2)) - D[:, :, t0:t1, None])
            if keep is not None:
                # NOTE: a masked logit was replaced by a constant: no gradient flows to it.
                gs = np.where(keep, gs, dt.type(0))
            if gbias is not None:
                gbias[:, :, t0:t1, s0:s1] = gs
            gq[:, :, t0:t1] += sc * np.matmul(gs, k[:, :, s0:s1])
            gk[:, :, s0:s1] += sc * np.matmul(gs.swapaxes(-1, -2), q[:, :, t0:t1])
    return gq, gk, gv, gbias


def _heads_first(x, groups=1):
    """(B, L, K, H) -> (B, K * groups, L, H): heads first, each key head repeated per group.

    Contiguous: NumPy's matmul takes its slow non-BLAS loop on strided blocks."""
    x = x.transpose(0, 2, 1, 3)
    return np.repeat(x, groups, axis=1) if groups > 1 else np.ascontiguousarray(x)


def _as_4d(a):
    return None if a is None else a.reshape((1,) * (4 - a.ndim) + a.shape)


class FlashAttention(Function):
    """The fused attention: forward and backward in query x key blocks (module docstring).

    Inputs q (B, T, N, H), k (B, S, K, H), v (B, S, K, Hv) and optionally a bias
    broadcastable to (B, N, T, S); ``mask`` (boolean) and ``is_causal`` are parameters.
    Saves q, k, v, the output and the row maxima and sums (B, N, T): nothing of size T x S.
    """

    def forward(ctx, q, k, v, *bias, mask=None, is_causal=False, scale=1.0):
        groups = q.shape[2] // k.shape[2]
        qh, kh, vh = _heads_first(q), _heads_first(k, groups), _heads_first(v, groups)
        b = _as_4d(bias[0]) if bias else None
        out, m, l = flash_attention_forward(qh, kh, vh, b, mask, is_causal,
                                                              scale)
        ctx.save_for_backward(qh, kh, vh, out, m, l, b)
        ctx.mask, ctx.is_causal, ctx.scale, ctx.groups = mask, is_causal, scale, groups
        ctx.has_bias = bool(bias)
        return np.ascontiguousarray(out.transpose(0, 2, 1, 3))

    def backward(ctx, gy):
        qh, kh, vh, out, m, l, b = ctx.saved
        need_gbias = ctx.has_bias and ctx.needs_input_grad[3]
        gq, gk, gv, gb = flash_attention_backward(
            np.ascontiguousarray(gy.transpose(0, 2, 1, 3)), qh, kh, vh, out, m, l, b, ctx.mask,
            ctx.is_causal, ctx.scale, need_gbias)
        B, N, S, _ = gk.shape
        g = ctx.groups
        gk = gk.reshape(B, N // g, g, S, -1).sum(axis=2)
        gv = gv.reshape(B, N // g, g, S, -1).sum(axis=2)
        grads = (gq.transpose(0, 2, 1, 3), gk.transpose(0, 2, 1, 3), gv.transpose(0, 2, 1, 3))
        if ctx.has_bias:
            gb = None if gb is None else _reduce_to(gb, ctx.inputs[3].shape)
            grads += (gb,)
        return grads


def _reduce_to(g, shape):
    """Sum a (B, N, T, S) gradient back to a bias of ``shape`` (broadcast axes summed)."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _reference(query, key, value, bias, mask, scale, is_causal):
    """Materialised attention composed of differentiable ops (autograd gives its backward)."""
    from . import einsum, reshape, softmax, where
    B, T, N, H = query.shape
    S, K = key.shape[1], key.shape[2]
    G = N // K
    q = reshape(query, (B, T, K, G, H))
    logits = reshape(einsum("btkgh,bskh->bkgts", q, key), (B, N, T, S)) * scale
    if bias is not None:
        logits = logits + bias
    keep = _keep(None if mask is None else _as_4d(mask), is_causal, 0, T, 0, S)
    if keep is not None:
        logits = where(keep, logits, _neg(np.dtype(logits.dtype)))
    p = softmax(logits, axis=-1)
    out = einsum("bkgts,bskh->btkgh", reshape(p, (B, K, G, T, S)), value)
    return reshape(out, (B, T, N, value.shape[-1]))


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None):
    """softmax(scale * Q K^T + bias, masked) V, in the (batch, length, heads, head_dim) layout.

    Args:
        query: (B, T, N, H).
        key: (B, S, K, H); N must be a multiple of K (K < N: grouped-query attention).
        value: (B, S, K, Hv).
        bias: added to the scaled logits; broadcastable to (B, N, T, S).
        mask: boolean, True where a query may attend to a key; broadcastable to (B, N, T, S).
        scale: multiplies Q K^T; default 1 / sqrt(H).
        is_causal: mask every key after its query (top-left aligned when T != S).
        flash_attention: True: the fused blocked kernel (no T x S array is stored); False:
            the materialised reference; None: fused unless
            ``config.disable_flash_attention()`` was called.

    Returns:
        (B, T, N, Hv).

    Example:
        >>> import numpy as np
        >>> q = np.ones((2, 4, 8, 16), "float32")
        >>> dot_product_attention(q, q, q).shape
        (2, 4, 8, 16)
    """
    if flash_attention not in (None, True, False):
        raise ValueError("dot_product_attention: flash_attention must be True, False or None. "
                         f"Received: flash_attention={flash_attention!r}")
    qs, ks = _check(query, key, value, bias, mask)
    if scale is None:
        scale = 1.0 / float(np.sqrt(qs[3]))
    if mask is not None:
        mask = np.asarray(data_of(mask)).astype(bool, copy=False)
    use_fused = flash_attention if flash_attention is not None else \
        config.is_flash_attention_enabled() is not False
    if use_fused:
        inputs = (query, key, value) + ((bias,) if bias is not None else ())
        return FlashAttention.apply(*inputs, mask=_as_4d(mask), is_causal=bool(is_causal),
                                    scale=float(scale))
    from .creation import convert_to_tensor
    query, key, value = (a if isinstance(a, Tensor) else convert_to_tensor(a)
                         for a in (query, key, value))
    return _reference(query, key, value, bias, mask, float(scale), bool(is_causal))
