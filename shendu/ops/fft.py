"""Fourier transforms and short-time spectra with ``keras.ops`` names: ``fft``, ``fft2``,
``ifft2``, ``rfft``, ``irfft``, ``stft``, ``istft``, ``extract_sequences``.

As in Keras, a complex tensor travels as a pair (real, imag) of float tensors, so the
whole chain stays differentiable. Each transform is linear, so its backward is its
adjoint applied to the gradient g = g_re + i g_im:

    fft:    y = F z            g z = F^H g = n ifft(g)
    ifft:   y = F^H z / n      g z = F g / n = fft(g) / n
    rfft:   y = (F x)[:m]      g x = Re(F^H [g; 0]) (zero-padded to n, then cut or padded to x)
    irfft:  y = the real signal whose half spectrum is z
            g z_k = c_k / n rfft(g)_k,  c_k = 1 at k = 0 and k = n/2, else 2

(for fft2/ifft2 the same over the last two axes).
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import as_tensor
from ._util import data_of


def _pair(op, x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: x must be a tuple (real, imag) of two tensors. Received: {type(x).__name__}")
    from .math import _float_input
    re, im = _float_input(x[0]), _float_input(x[1])
    if re.shape != im.shape:
        raise ValueError(f"{op}: the real and imaginary parts must have the same shape. "
                         f"Received: {re.shape} and {im.shape}")
    return re, im


def _split(z, dtype):
    return np.real(z).astype(dtype), np.imag(z).astype(dtype)


class _ComplexTransform(Function):
    """y = T(re + i im), returned as [Re y, Im y] stacked first;  g z = T^H(g) (class rule)."""
    axes = (-1,)

    def forward(ctx, re, im):
        ctx.dtype = re.dtype
        return np.stack(_split(type(ctx).apply_forward(re + 1j * im), re.dtype))

    def backward(ctx, gy):
        g = type(ctx).apply_adjoint(gy[0] + 1j * gy[1])
        return _split(g, gy.dtype)


class FFT(_ComplexTransform):
    """y = F z over the last axis;  g z = F^H g = n ifft(g)."""
    apply_forward = staticmethod(lambda z: np.fft.fft(z, axis=-1))
    apply_adjoint = staticmethod(lambda g: np.fft.ifft(g, axis=-1) * g.shape[-1])


class FFT2(_ComplexTransform):
    """y = F z over the last two axes;  g z = F^H g."""
    apply_forward = staticmethod(lambda z: np.fft.fft2(z, axes=(-2, -1)))
    apply_adjoint = staticmethod(lambda g: np.fft.ifft2(g, axes=(-2, -1)) * (g.shape[-1] * g.shape[-2]))


class IFFT2(_ComplexTransform):
    """y = F^H z / n over the last two axes;  g z = F g / n."""
    apply_forward = staticmethod(lambda z: np.fft.ifft2(z, axes=(-2, -1)))
    apply_adjoint = staticmethod(lambda g: np.fft.fft2(g, axes=(-2, -1)) / (g.shape[-1] * g.shape[-2]))


def _unstack(y):
    from .shape import getitem
    return getitem(y, 0), getitem(y, 1)


def fft(x):
    """The discrete Fourier transform over the last axis of x = (real, imag); returns
    (real, imag).

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> re, im = ops.fft((np.array([1., 0., 0., 0.]), np.zeros(4)))
        >>> re.numpy()
        array([1., 1., 1., 1.])
    """
    return _unstack(FFT.apply(*_pair("fft", x)))


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes of (real, imag)."""
    return _unstack(FFT2.apply(*_pair("fft2", x)))


def ifft2(x):
    """The inverse 2-D discrete Fourier transform over the last two axes of (real, imag)."""
    return _unstack(IFFT2.apply(*_pair("ifft2", x)))


class RFFT(Function):
    """y = the first n//2 + 1 bins of F x for real x (x cut or zero-padded to n first);
    g x = Re(F^H [g; 0]) cut or padded back to x's length."""

    def forward(ctx, x, n):
        ctx.n, ctx.length = n, x.shape[-1]
        return np.stack(_split(np.fft.rfft(x, n=n, axis=-1), x.dtype))

    def backward(ctx, gy):
        n = ctx.n
        g = gy[0] + 1j * gy[1]
        full = np.zeros(g.shape[:-1] + (n,), g.dtype)
        full[..., :g.shape[-1]] = g
        gx = np.real(np.fft.ifft(full, axis=-1) * n)
        if ctx.length <= n:
            gx = gx[..., :ctx.length]
        else:
            gx = np.concatenate([gx, np.zeros(gx.shape[:-1] + (ctx.length - n,))], axis=-1)
        return gx.astype(gy.dtype)


class IRFFT(Function):
    """y = the length-n real signal with half spectrum z = re + i im (NumPy's irfft: the
    imaginary parts of bin 0 and, for even n, bin n/2 are ignored);
    g z_k = c_k/n rfft(g)_k, c_k = 1 for k = 0 and k = n/2, 2 otherwise (0 past the bins used)."""

    def forward(ctx, re, im, n):
        ctx.n, ctx.m = n, re.shape[-1]
        return np.fft.irfft(re + 1j * im, n=n, axis=-1).astype(re.dtype)

    def backward(ctx, gy):
        n, m = ctx.n, ctx.m
        r = np.fft.rfft(gy, axis=-1)
        k = np.arange(r.shape[-1])
        c = np.where((k == 0) | ((n % 2 == 0) & (k == n // 2)), 1.0, 2.0) / n
        g = r * c
        if m > g.shape[-1]:
            g = np.concatenate([g, np.zeros(g.shape[:-1] + (m - g.shape[-1],), g.dtype)], axis=-1)
        g = g[..., :m]
        return _split(g, gy.dtype)


def rfft(x, fft_length=None):
    """The transform of real x over its last axis, bins 0..n//2; returns (real, imag)."""
    from .math import _float_input
    x = _float_input(x)
    n = x.shape[-1] if fft_length is None else int(fft_length)
    return _unstack(RFFT.apply(x, n=n))


def irfft(x, fft_length=None):
    """The real signal of length ``fft_length`` (default 2 (bins - 1)) whose half spectrum
    is x = (real, imag)."""
    re, im = _pair("irfft", x)
    n = 2 * (re.shape[-1] - 1) if fft_length is None else int(fft_length)
    return IRFFT.apply(re, im, n=n)


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of the last axis: (..., num_frames, sequence_length), frame i starting at
    i * sequence_stride (whole frames only)."""
    from .shape import getitem
    n = np.shape(data_of(x))[-1]
    count = (n - sequence_length) // sequence_stride + 1
    if count < 1:
        raise ValueError(f"extract_sequences: the signal (length {n}) is shorter than "
                         f"sequence_length={sequence_length}")
    idx = np.arange(count)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return getitem(as_tensor(x), (Ellipsis, idx))


def _window(op, window, sequence_length, fft_length, dtype):
    """The window, centred in a frame of fft_length (zeros either side), as Keras builds it."""
    if window is None:
        return np.ones(fft_length, dtype), False
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"{op}: a window given by name must be 'hann' or 'hamming'. "
                             f"Received: window={window!r}")
        t = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * t / sequence_length)   # periodic, as SciPy's get_window
    else:
        win = np.asarray(data_of(window), np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(f"{op}: the window must have shape ({sequence_length},). Received: {win.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left)).astype(dtype), True


def _check_lengths(op, sequence_length, fft_length):
    if sequence_length > fft_length:
        raise ValueError(f"{op}: sequence_length must be <= fft_length. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of real x over its last axis: frames every
    ``sequence_stride`` samples, windowed, and their rfft (n = fft_length); with
    ``center`` the signal is first reflect-padded by fft_length // 2 on each side.
    Returns (real, imag) of shape (..., frames, fft_length // 2 + 1)."""
    from .elementwise import multiply
    from .math import _float_input
    from .shape import pad
    _check_lengths("stft", sequence_length, fft_length)
    x = _float_input(x)
    win, _ = _window("stft", window, sequence_length, fft_length, x.dtype)
    if center:
        x = pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    frames = extract_sequences(x, fft_length, sequence_stride)
    return rfft(multiply(frames, win), fft_length)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse of ``stft``: each frame's irfft times the window, overlap-added and
    divided by the overlap-added squared window (where it is above 1e-10), then the
    centring pad cut off (to ``length`` samples when given), as Keras."""
    from .core import Scatter
    from .elementwise import divide, multiply
    from .shape import getitem, moveaxis, reshape
    _check_lengths("istft", sequence_length, fft_length)
    re, im = _pair("istft", x)
    if re.ndim < 2:
        raise ValueError(f"istft: x must have at least 2 axes (frames, bins). Received: {re.shape}")
    win, given = _window("istft", window, sequence_length, fft_length, re.dtype)
    frames = multiply(irfft((re, im), fft_length), win * win.sum())   # (..., F, L), JAX's scaling
    count = re.shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    pos = (np.arange(count)[:, None] * sequence_stride + np.arange(fft_length)[None, :]).reshape(-1)
    lead = re.shape[:-2]
    flat = moveaxis(reshape(frames, lead + (count * fft_length,)), -1, 0)
    ola = moveaxis(Scatter.apply(flat, index=(pos,), shape=(total,) + lead), 0, -1)
    norm = np.zeros(total, re.dtype)
    np.add.at(norm, pos, np.tile(win * win, count))
    y = divide(ola, np.where(norm > 1e-10, norm, 1.0).astype(re.dtype))
    y = divide(y, np.asarray(win.sum() if given else sequence_stride, re.dtype))
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return getitem(y, (Ellipsis, np.s_[start:end]))
