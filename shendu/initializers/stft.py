"""The STFT initializer: Conv1D kernels that compute one side of a windowed DFT."""
import numpy as np

from . import Initializer

_WINDOWS = {"hann": np.hanning, "hanning": np.hanning, "hamming": np.hamming,
            "blackman": np.blackman, "bartlett": np.bartlett, "boxcar": np.ones}


def _window(name, length, periodic):
    """scipy.signal.get_window's values for the common windows: symmetric, or periodic
    (the symmetric window one longer, its last point dropped)."""
    fn = _WINDOWS[name]
    return fn(length + 1)[:-1] if periodic else fn(length)


class STFT(Initializer):
    """kernel[t, 0, f] = trig(-2 pi t f / n_fft) * window[t] / scale, for a kernel of shape
    (frame_length, 1, n_fft // 2 + 1); trig is cos for ``side='real'``, sin for 'imag'.

    Args:
        side: 'real' or 'imag'.
        window: a window name (hann, hamming, blackman, bartlett, boxcar), an array of
            ``frame_length`` values, or None (no window).
        scaling: 'density' (divide by the window's L2 norm), 'spectrum' (its L1 norm) or None.
        periodic: use the periodic form of a named window (False).

    Example:
        >>> import numpy as np, shendu
        >>> k = shendu.initializers.STFT(window=None)((4, 1, 3))
        >>> np.round(k[:, 0, 1], 6).tolist()
        [1.0, 0.0, -1.0, -0.0]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: `side` must be 'real' or 'imag'. Received: side={side!r}")
        if isinstance(window, str) and window not in _WINDOWS:
            raise ValueError(f"STFT: unknown window {window!r}; expected one of "
                             f"{sorted(_WINDOWS)}, an array, or None. Received: window={window!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT: `scaling` must be None, 'density' or 'spectrum'. "
                             f"Received: scaling={scaling!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        dtype = self._dtype(dtype)
        if len(shape) != 3:
            raise ValueError(f"STFT: the kernel shape must be (frame_length, channels, "
                             f"fft_bins). Received: shape={tuple(shape)}")
        frame_length, _, bins = shape
        n_fft = (bins - 1) * 2
        t = np.arange(frame_length, dtype=np.float64).reshape(-1, 1, 1)
        f = np.arange(bins, dtype=np.float64).reshape(1, 1, -1)
        args = -2.0 * np.pi * t * f / n_fft
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if self.window is not None:
            if isinstance(self.window, str):
                win = _window(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(self.window, np.float64)
            if win.shape != (frame_length,):
                raise ValueError(f"STFT: the window must have shape (frame_length,) = "
                                 f"({frame_length},). Received: window shape={win.shape}")
            scale = {"density": np.sqrt(np.sum(win ** 2)), "spectrum": np.sum(np.abs(win)),
                     None: 1.0}[self.scaling]
            kernel = kernel * win.reshape(-1, 1, 1) / scale
        return np.ascontiguousarray(kernel, dtype=dtype)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}
