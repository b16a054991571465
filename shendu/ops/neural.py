"""The rest of ``keras.ops.nn``, built from other ops (so each gradient comes from the
ops it is made of): the cross-entropies as Keras computes them, ``moments``,
``normalize``, ``layer_normalization``/``rms_normalization``, ``psnr``, ``polar``,
``separable_conv``, ``depth_to_space``/``space_to_depth``, ``unfold``/``fold``,
adaptive pooling, and CTC (loss by the forward algorithm in log space, greedy and
beam-search decoding).
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_tensor
from ._util import data_of, normalize_axis

_NEG = -1e30  # log(0) for CTC: finite, so logaddexp and its gradient never see inf - inf


def _epsilon():
    from .. import config
    return config.epsilon()


def _float(x):
    from .math import _float_input
    return _float_input(x)


def _check_same_shape(op, target, output):
    if np.shape(data_of(target)) != np.shape(data_of(output)):
        raise ValueError(f"{op}: target and output must have the same shape. Received: "
                         f"target.shape={np.shape(data_of(target))}, output.shape={np.shape(data_of(output))}")


# ---- cross-entropies (elementwise or over one axis, no reduction over the batch) --------------------

def binary_crossentropy(target, output, from_logits=False):
    """Elementwise -(t log p + (1 - t) log(1 - p)), p = output clipped to [eps, 1 - eps],
    or p = sigmoid(output) computed stably when ``from_logits``."""
    from .elementwise import clip, log, multiply, subtract
    from .math import log_sigmoid
    _check_same_shape("binary_crossentropy", target, output)
    output = _float(output)
    t = as_tensor(np.asarray(data_of(target), output.dtype)) if not isinstance(target, Tensor) else target
    if from_logits:
        return subtract(multiply(multiply(t, log_sigmoid(output)), -1.0),
                        multiply(subtract(1.0, t), log_sigmoid(multiply(output, -1.0))))
    eps = _epsilon()
    p = clip(output, eps, 1.0 - eps)
    return multiply(subtract(multiply(t, log(p)), multiply(subtract(t, 1.0), log(subtract(1.0, p)))), -1.0)


def _log_probs(output, from_logits, axis):
    from .activation import log_softmax
    from .elementwise import clip, divide, log
    from .reduction import sum as _sum
    if from_logits:
        return log_softmax(output, axis=axis)
    eps = _epsilon()
    return log(clip(divide(output, _sum(output, axis=axis, keepdims=True)), eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum_axis t log p, with p = output / sum(output) clipped to [eps, 1 - eps], or
    p = softmax(output) when ``from_logits``."""
    from .elementwise import multiply
    from .reduction import sum as _sum
    _check_same_shape("categorical_crossentropy", target, output)
    if np.ndim(data_of(output)) < 1:
        raise ValueError("categorical_crossentropy: target and output must be at least rank 1")
    output = _float(output)
    return multiply(_sum(multiply(target, _log_probs(output, from_logits, axis)), axis=axis), -1.0)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[target] along ``axis`` for integer class indices ``target`` (a trailing
    axis of size 1 is squeezed); p as in ``categorical_crossentropy``."""
    from .elementwise import multiply
    from .indexing import take_along_axis
    output = _float(output)
    t = np.asarray(data_of(target)).astype(np.int64)
    if t.ndim == output.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if output.ndim < 1 or t.shape != output.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: target must have output's shape up to its "
                         f"last axis. Received: target.shape={t.shape}, output.shape={output.shape}")
    ax, = normalize_axis(axis, output.ndim)
    n = output.shape[ax]
    if t.size and ((t < 0) | (t >= n)).any():
        raise ValueError(f"sparse_categorical_crossentropy: a target index is outside [0, {n})")
    picked = take_along_axis(_log_probs(output, from_logits, ax), np.expand_dims(t, ax), axis=ax)
    return multiply(picked[tuple(0 if d == ax else np.s_[:] for d in range(output.ndim))], -1.0)


# ---- statistics and normalization ------------------------------------------------------------------

def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over ``axes``."""
    from .reduction import mean, var
    x = _float(x)
    return mean(x, axes, keepdims), var(x, axes, keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its ``order``-norm along ``axis`` (at least ``epsilon``), as Keras:
    for order 2, x * min(1/sqrt(sum x^2), 1/epsilon)."""
    from .elementwise import divide, maximum, minimum, multiply, square
    from .math import rsqrt
    from .reduction import sum as _sum
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1. Received: order={order}")
    x = _float(x)
    if x.ndim == 0:
        from .shape import expand_dims
        x = expand_dims(x, 0)
    eps = _epsilon() if epsilon is None else epsilon
    if order == 2:
        with np.errstate(divide="ignore"):
            inv = rsqrt(_sum(square(x), axis=axis, keepdims=True))
        return multiply(x, minimum(inv, 1.0 / eps))
    from .linalg import norm
    return divide(x, maximum(norm(x, ord=order, axis=axis, keepdims=True), eps))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """(x - mean) / sqrt(var + epsilon) over ``axis`` (an int or axes), scaled by gamma and
    shifted by beta; ``rms_scaling=True`` divides by sqrt(var + epsilon) without centring."""
    from .normalization import layer_norm
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}")
    eps = _epsilon() if epsilon is None else epsilon
    x = _float(x)
    if rms_scaling:
        from .elementwise import add, multiply
        from .math import rsqrt
        from .reduction import var
        y = multiply(x, rsqrt(add(var(x, axis, keepdims=True), eps)))
        return y if gamma is None else multiply(y, _param(gamma, x, axis))
    return layer_norm(x, gamma, beta, axis=axis, epsilon=eps)


def _param(p, x, axis):
    from .shape import reshape
    axes = normalize_axis(axis, x.ndim)
    if np.ndim(data_of(p)) == x.ndim or axes == (x.ndim - 1,):
        return p
    return reshape(p, [x.shape[d] if d in axes else 1 for d in range(x.ndim)])


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x^2) + epsilon) over ``axis``, times ``scale``."""
    from .elementwise import add, multiply, square
    from .math import rsqrt
    from .reduction import mean
    eps = _epsilon() if epsilon is None else epsilon
    x = _float(x)
    y = multiply(x, rsqrt(add(mean(square(x), axis=axis, keepdims=True), eps)))
    return y if scale is None else multiply(y, _param(scale, x, axis))


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: 20 log10(max_val) - 10 log10(mean((x1 - x2)^2))."""
    from .elementwise import multiply, square, subtract
    from .math import log10
    from .reduction import mean
    if np.shape(data_of(x1)) != np.shape(data_of(x2)):
        raise ValueError(f"psnr: x1 and x2 must have the same shape. Received: "
                         f"{np.shape(data_of(x1))} and {np.shape(data_of(x2))}")
    x2 = _float(x2)
    mse = mean(square(subtract(x1, x2)))
    peak = 20.0 * np.log10(np.asarray(data_of(max_val), x2.dtype))
    return subtract(peak.astype(x2.dtype), multiply(log10(mse), 10.0))


def polar(abs_, angle):
    """The complex numbers abs_ * e^{i angle} (complex results carry no gradient here)."""
    r, a = np.asarray(data_of(abs_)), np.asarray(data_of(angle))
    out = r * np.cos(a) + 1j * (r * np.sin(a))
    return Tensor(out.astype(np.complex64 if r.dtype == np.float32 else np.complex128))


# ---- convolutions and rearrangements -------------------------------------------------------------

def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    from .conv import conv, depthwise_conv
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def _block_format(op, x, data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    if np.ndim(data_of(x)) != 4:
        raise ValueError(f"{op}: x must be 4-D. Received: x.shape={np.shape(data_of(x))}")


def depth_to_space(x, block_size, data_format="channels_last"):
    """Move channel blocks into space (pixel shuffle): (N, H, W, C) -> (N, H b, W b, C / b^2)."""
    from .shape import reshape, transpose
    _block_format("depth_to_space", x, data_format)
    b = int(block_size)
    if data_format == "channels_last":
        n, h, w, c = np.shape(data_of(x))
        if c % (b * b):
            raise ValueError(f"depth_to_space: channels ({c}) must be divisible by block_size^2 ({b * b})")
        y = transpose(reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
        return reshape(y, (n, h * b, w * b, c // (b * b)))
    n, c, h, w = np.shape(data_of(x))
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels ({c}) must be divisible by block_size^2 ({b * b})")
    y = transpose(reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return reshape(y, (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of ``depth_to_space``: (N, H, W, C) -> (N, H / b, W / b, C b^2)."""
    from .shape import reshape, transpose
    _block_format("space_to_depth", x, data_format)
    b = int(block_size)
    shape = np.shape(data_of(x))
    h, w = (shape[1], shape[2]) if data_format == "channels_last" else (shape[2], shape[3])
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height and width ({h}, {w}) must be divisible by "
                         f"block_size ({b})")
    if data_format == "channels_last":
        n, _, _, c = shape
        y = transpose(reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return reshape(y, (n, h // b, w // b, b * b * c))
    n, c = shape[:2]
    y = transpose(reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return reshape(y, (n, c * b * b, h // b, w // b))


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(a) for a in v)


def _patch_index(C, H, W, kernel_size, dilation, padding, stride):
    """Index arrays (c, h, w) of shape (C*kh*kw, L) into the padded image, and (oh, ow)."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(_pair, (kernel_size, dilation, padding, stride))
    oh = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: the kernel {(kh, kw)} with dilation {(dh, dw)} does not fit the "
                         f"padded input {(H + 2 * ph, W + 2 * pw)}")
    c = np.arange(C)[:, None, None, None, None]
    i = (np.arange(kh) * dh)[None, :, None, None, None] + (np.arange(oh) * sh)[None, None, None, :, None]
    j = (np.arange(kw) * dw)[None, None, :, None, None] + (np.arange(ow) * sw)[None, None, None, None, :]
    full = (C, kh, kw, oh, ow)
    idx = [np.broadcast_to(a, full).reshape(C * kh * kw, oh * ow) for a in (c, i, j)]
    return idx, (ph, pw), (oh, ow)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an (N, C, H, W) image as columns: (N, C*kh*kw, L), as ``torch.nn.Unfold``."""
    from .shape import getitem, pad
    shape = np.shape(data_of(x))
    if len(shape) != 4:
        raise ValueError(f"unfold: x must be (N, C, H, W). Received: x.shape={shape}")
    n, C, H, W = shape
    (ci, hi, wi), (ph, pw), _ = _patch_index(C, H, W, kernel_size, dilation, padding, stride)
    xp = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    return getitem(xp, (np.s_[:], ci, hi, wi))


class Fold(Function):
    """Y = the columns of x (N, C*kh*kw, L) added back into an image (the adjoint of unfold);
    gx = gY gathered at the same positions."""

    def forward(ctx, x, index, padded_shape, crop):
        ctx.index, ctx.crop = index, crop
        y = np.zeros(padded_shape, x.dtype)
        ci, hi, wi = index
        np.add.at(y, (np.s_[:], ci, hi, wi), x)
        return y[crop]

    def backward(ctx, gy):
        ci, hi, wi = ctx.index
        ph, pw = ctx.crop[2].start, ctx.crop[3].start
        return np.pad(gy, ((0, 0), (0, 0), (ph, ph), (pw, pw)))[:, ci, hi, wi]


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C*kh*kw, L) summed back into an (N, C, H, W) image, as ``torch.nn.Fold``."""
    shape = np.shape(data_of(x))
    if len(shape) != 3:
        raise ValueError(f"fold: x must be (N, C*kh*kw, L). Received: x.shape={shape}")
    H, W = _pair(output_size)
    kh, kw = _pair(kernel_size)
    if shape[1] % (kh * kw):
        raise ValueError(f"fold: the second axis ({shape[1]}) must be divisible by kh*kw ({kh * kw})")
    C = shape[1] // (kh * kw)
    index, (ph, pw), (oh, ow) = _patch_index(C, H, W, kernel_size, dilation, padding, stride)
    if oh * ow != shape[2]:
        raise ValueError(f"fold: expected {oh * ow} blocks for output_size {(H, W)}, got {shape[2]}")
    crop = (np.s_[:], np.s_[:], slice(ph, ph + H), slice(pw, pw + W))
    return Fold.apply(x, index=tuple(index), padded_shape=(shape[0], C, H + 2 * ph, W + 2 * pw), crop=crop)


# ---- adaptive pooling -------------------------------------------------------------------------------

def _adaptive_bins(n_in, n_out):
    """Window [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)) of each output i."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_pool(op, inputs, output_size, data_format, reducer):
    x = _float(inputs)
    nsp = x.ndim - 2
    if nsp < 1:
        raise ValueError(f"{op}: inputs must have a batch, spatial and channel axes. Received: {x.shape}")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    sizes = (int(output_size),) * nsp if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != nsp:
        raise ValueError(f"{op}: output_size needs {nsp} entries. Received: output_size={output_size}")
    first = data_format == "channels_first"
    y = x
    for k, n_out in enumerate(sizes):
        ax = (2 if first else 1) + k
        y = reducer(y, ax, int(n_out))
    return y


def _average_along(x, axis, n_out):
    from .einsum import tensordot
    from .shape import moveaxis
    n_in = x.shape[axis]
    start, end = _adaptive_bins(n_in, n_out)
    pos = np.arange(n_in)
    weights = ((pos >= start[:, None]) & (pos < end[:, None])) / (end - start)[:, None]
    y = tensordot(x, weights.astype(x.dtype), axes=([axis], [1]))   # pooled axis last
    return moveaxis(y, -1, axis)


def _max_along(x, axis, n_out):
    from .embedding import take
    from .reduction import max as _max
    n_in = x.shape[axis]
    start, end = _adaptive_bins(n_in, n_out)
    width = int((end - start).max())
    # each window padded to the widest by repeating its last element (a max is unchanged)
    idx = np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
    return _max(take(x, idx, axis=axis), axis=axis + 1)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average over windows that split each spatial axis into ``output_size`` nearly equal
    parts (window i spans [floor(i n / m), ceil((i + 1) n / m)), as PyTorch and Keras)."""
    return _adaptive_pool("adaptive_average_pool", inputs, output_size, data_format, _average_along)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Maximum over the windows of ``adaptive_average_pool``."""
    return _adaptive_pool("adaptive_max_pool", inputs, output_size, data_format, _max_along)


# ---- CTC -------------------------------------------------------------------------------------------

def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss, one value per sequence.

    Args:
        target: (B, L) integer labels (entries past ``target_length`` ignored).
        output: (B, T, K) logits (log-softmaxed here).
        target_length, output_length: (B,) lengths.
        mask_index: the blank class.

    The forward algorithm over the labels with blanks between and around them
    (S = 2L + 1 states), in log space: alpha_t(s) = logaddexp(alpha_{t-1}(s),
    alpha_{t-1}(s - 1), alpha_{t-1}(s - 2) where the skip is allowed) + log p_t(l'_s);
    loss = -logaddexp(alpha_{T-1}(S - 1), alpha_{T-1}(S - 2)). The gradient comes from
    the ops of the recursion (the alpha-beta rule, computed by backpropagation).
    """
    from .activation import log_softmax
    from .elementwise import add, multiply, where
    from .indexing import take_along_axis
    from .math import logaddexp
    from .shape import concatenate, getitem
    labels = np.asarray(data_of(target)).astype(np.int64)
    output = _float(output)
    if output.ndim != 3 or labels.ndim != 2 or labels.shape[0] != output.shape[0]:
        raise ValueError(f"ctc_loss: target must be (batch, labels) and output (batch, time, classes). "
                         f"Received: target.shape={labels.shape}, output.shape={output.shape}")
    B, T, K = output.shape
    L = labels.shape[1]
    tl = np.asarray(data_of(target_length)).astype(np.int64).reshape(B)
    ol = np.asarray(data_of(output_length)).astype(np.int64).reshape(B)
    S = 2 * L + 1
    ext = np.full((B, S), mask_index, np.int64)
    ext[:, 1::2] = labels
    prev2 = np.concatenate([np.full((B, 2), -1), ext[:, :-2]], axis=1)
    skip = (ext != mask_index) & (ext != prev2) & (np.arange(S) >= 2)
    logp = log_softmax(output, axis=-1)
    emit = take_along_axis(logp, np.broadcast_to(ext[:, None, :], (B, T, S)), axis=2)   # (B, T, S)
    neg = np.asarray(_NEG, output.dtype)
    start = np.where(np.arange(S) < 2, 0.0, _NEG).astype(output.dtype)
    alpha = add(getitem(emit, (np.s_[:], 0)), start)
    pad1, pad2 = np.full((B, 1), _NEG, output.dtype), np.full((B, 2), _NEG, output.dtype)
    for t in range(1, T):
        shift1 = concatenate([pad1, getitem(alpha, (np.s_[:], np.s_[:-1]))], axis=1)
        shift2 = where(skip, concatenate([pad2, getitem(alpha, (np.s_[:], np.s_[:-2]))], axis=1), neg)
        new = add(logaddexp(logaddexp(alpha, shift1), shift2), getitem(emit, (np.s_[:], t)))
        alpha = where((t < ol)[:, None], new, alpha)
    last = 2 * tl
    end1 = take_along_axis(alpha, last[:, None], axis=1)
    end2 = take_along_axis(alpha, np.maximum(last - 1, 0)[:, None], axis=1)
    end2 = where((tl > 0)[:, None], end2, neg)
    return multiply(getitem(logaddexp(end1, end2), (np.s_[:], 0)), -1.0)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decode CTC outputs (B, T, K): the best label sequences and their scores.

    Returns ``(decoded, scores)``: decoded (top_paths, B, T) int32, each sequence padded
    with -1; for 'greedy', scores (B, 1) = -(sum over time of the best logit); for
    'beam_search', scores (B, top_paths) = the log probability of each sequence
    (inputs are log-softmaxed first), as Keras.
    """
    x = np.asarray(data_of(inputs))
    lengths = np.asarray(data_of(sequence_lengths)).astype(np.int64)
    if x.ndim != 3:
        raise ValueError(f"ctc_decode: inputs must be (batch, time, classes). Received: {x.shape}")
    B, T, K = x.shape
    if strategy == "greedy":
        idx = x.argmax(-1)
        scores = x.max(-1)
        past = np.arange(T)[None, :] >= lengths[:, None]
        idx = np.where(past, mask_index, idx)
        scores = np.where(past, 0, scores)
        if merge_repeated:
            rep = np.pad(idx[:, 1:] == idx[:, :-1], ((0, 0), (1, 0)))
            idx = np.where(rep, mask_index, idx)
        out = np.full((B, T), -1, np.int32)
        for b in range(B):  # per sequence: drop the blanks, keep the order
            kept = idx[b][idx[b] != mask_index]
            out[b, :len(kept)] = kept
        return Tensor(out[None]), Tensor((-scores.sum(1))[:, None].astype(x.dtype))
    if strategy == "beam_search":
        return _beam_search(x, lengths, int(beam_width), int(top_paths), mask_index)
    raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search'. Received: strategy={strategy!r}")


def _beam_search(x, lengths, beam_width, top_paths, blank):
    """Prefix beam search: each prefix keeps the log probability of ending in a blank and
    of ending in its last label; extensions merge equal prefixes."""
    B, T, K = x.shape
    m = x.max(-1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
    decoded = np.full((top_paths, B, T), -1, np.int32)
    scores = np.full((B, top_paths), -np.inf, x.dtype)
    for b in range(B):
        beams = {(): (0.0, -np.inf)}   # prefix -> (log p ending in blank, log p ending in label)
        for t in range(int(lengths[b])):
            nxt = {}

            def add(prefix, pb, pnb):
                ob, onb = nxt.get(prefix, (-np.inf, -np.inf))
                nxt[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))
            for prefix, (pb, pnb) in beams.items():
                total = np.logaddexp(pb, pnb)
                add(prefix, total + logp[b, t, blank], -np.inf)
                for k in range(K):
                    if k == blank:
                        continue
                    p = logp[b, t, k]
                    if prefix and prefix[-1] == k:
                        add(prefix, -np.inf, pnb + p)          # the repeat merges
                        add(prefix + (k,), -np.inf, pb + p)    # a new k after a blank
                    else:
                        add(prefix + (k,), -np.inf, total + p)
            ranked = sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))
            beams = dict(ranked[:beam_width])
        ranked = sorted(beams.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:top_paths]
        for p, (prefix, (pb, pnb)) in enumerate(ranked):
            decoded[p, b, :len(prefix)] = prefix
            scores[b, p] = np.logaddexp(pb, pnb)
    return Tensor(decoded), Tensor(scores)
