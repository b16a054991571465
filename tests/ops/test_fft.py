"""Fourier transforms on (real, imag) pairs: forward vs NumPy, gradients of every part."""
import numpy as np
import pytest

from shendu import ops
from shendu.testing import OpSpec, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _c(a, b):
    return a + 1j * b


def _parts(z):
    return np.real(z), np.imag(z)


def _stft_ref(x, length, stride, n, center):
    """Frames, a periodic Hann window centred in each, and their rfft (Keras's stft)."""
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n // 2, n // 2)], mode="reflect")
    win = np.pad(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length),
                 ((n - length) // 2, n - length - (n - length) // 2))
    count = (x.shape[-1] - n) // stride + 1
    frames = np.stack([x[..., i * stride:i * stride + n] for i in range(count)], -2)
    return _parts(np.fft.rfft(frames * win, axis=-1))


PAIR = lambda r: [(_n(r, 2, 3, 8), _n(r, 2, 3, 8))]  # noqa: E731

SPECS = [
    OpSpec("fft", lambda a, b: ops.fft((a, b)), PAIR, lambda a, b: _parts(np.fft.fft(_c(a, b)))),
    OpSpec("fft_imag", lambda a, b: ops.fft((a, b))[1], PAIR, lambda a, b: np.fft.fft(_c(a, b)).imag),
    OpSpec("fft2", lambda a, b: ops.fft2((a, b)), PAIR, lambda a, b: _parts(np.fft.fft2(_c(a, b)))),
    OpSpec("ifft2_imag", lambda a, b: ops.ifft2((a, b))[1], PAIR, lambda a, b: np.fft.ifft2(_c(a, b)).imag),
    OpSpec("rfft", ops.rfft, lambda r: [(_n(r, 3, 8),)], lambda x: _parts(np.fft.rfft(x))),
    OpSpec("rfft_cut_imag", lambda x: ops.rfft(x, 6)[1], lambda r: [(_n(r, 3, 8),)],
           lambda x: np.fft.rfft(x, 6).imag),
    OpSpec("rfft_padded", lambda x: ops.rfft(x, 11), lambda r: [(_n(r, 3, 8),)],
           lambda x: _parts(np.fft.rfft(x, 11))),
] + [
    OpSpec(f"irfft_{n}", lambda a, b, n=n: ops.irfft((a, b), n), lambda r: [(_n(r, 2, 5), _n(r, 2, 5))],
           lambda a, b, n=n: np.fft.irfft(_c(a, b), n)) for n in [None, 9, 4]
] + [
    OpSpec("extract_sequences", lambda x: ops.extract_sequences(x, 4, 3), lambda r: [(_n(r, 2, 11),)],
           lambda x: np.stack([x[:, i:i + 4] for i in range(0, 8, 3)], -2)),
    OpSpec("stft", lambda x: ops.stft(x, 6, 3, 8), lambda r: [(_n(r, 2, 20),)],
           lambda x: _stft_ref(x, 6, 3, 8, True)),
    OpSpec("stft_uncentred_imag", lambda x: ops.stft(x, 8, 4, 8, center=False)[1], lambda r: [(_n(r, 24),)],
           lambda x: _stft_ref(x, 8, 4, 8, False)[1]),
    OpSpec("istft", lambda a, b: ops.istft((a, b), 8, 4, 8), lambda r: [(_n(r, 7, 5), _n(r, 7, 5))]),
]
for spec in SPECS:
    spec.fwd_rtol32 = 1e-4

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


@pytest.mark.parametrize("window", ["hann", "hamming"])
def test_istft_inverts_stft(window, rng):
    x = rng.standard_normal((2, 40))
    spec = ops.stft(x, 8, 2, 8, window=window)
    np.testing.assert_allclose(ops.istft(spec, 8, 2, 8, length=40, window=window).numpy(), x, atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="tuple \\(real, imag\\)"):
        ops.fft(np.zeros(4))
    with pytest.raises(ValueError, match="window"):
        ops.stft(np.zeros(16), 4, 2, 4, window="kaiser")
    with pytest.raises(ValueError, match="sequence_length must be <= fft_length"):
        ops.stft(np.zeros(16), 8, 2, 4)
    with pytest.raises(ValueError, match="shorter"):
        ops.extract_sequences(np.zeros(3), 4, 1)
