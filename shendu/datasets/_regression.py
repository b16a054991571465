"""What Boston and California housing share: Keras's ``x``/``y`` arrays, shuffled and split."""
import numpy as np

from ._npz import load_npz
from ._text import keras_file


def load_split(name, fname, path, test_split, seed, limit=None):
    if not 0 <= test_split < 1:
        raise ValueError(f"`test_split` must be in [0, 1). Received: test_split={test_split}")
    f = load_npz(keras_file(name, fname, path))
    x, y = f["x"], f["y"]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])
