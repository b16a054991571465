"""What IMDB and Reuters share: finding Keras's files, and turning the stored word-index
lists into model inputs (start and out-of-vocabulary markers, length and vocabulary limits)."""
import json
import os

import numpy as np

from . import _loader
from ._npz import load_npz


def keras_file(name, fname, path):
    """The verified file for a dataset: ``path`` may be Keras's default file name (looked up in
    shendu's and Keras's caches, downloaded if missing), a file or a folder."""
    if path is None or (path == fname and not os.path.exists(path)):
        return _loader.fetch(name)[fname]
    return _loader.fetch(name, path)[fname]


def load_arrays(name, fname, path):
    return load_npz(keras_file(name, fname, path))


def load_word_index(name, fname, path):
    with open(keras_file(name, fname, path), encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
        raise _loader.ChecksumError(f"{fname}: expected a JSON object of word -> integer index")
    return index


def shuffled(rng, *arrays):
    """The arrays in one random order drawn from ``rng``, a NumPy ``RandomState`` (the
    generator Keras shuffles these datasets with, so the orders are Keras's)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [a[indices] for a in arrays]


def with_markers(xs, start_char, index_from):
    """Each sequence's indices shifted by ``index_from``, after a ``start_char`` if not None."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    return [[w + index_from for w in x] for x in xs]


def remove_long(maxlen, xs, labels):
    """The sequences shorter than ``maxlen`` and their labels."""
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], np.asarray(labels)[keep]


def limit_vocabulary(xs, num_words, skip_top, oov_char):
    """Indices outside [skip_top, num_words) become ``oov_char`` (or are dropped when it is
    None); ``num_words`` None keeps the whole vocabulary."""
    if not num_words:
        num_words = max(max(x) for x in xs if len(x)) if any(len(x) for x in xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = [list(x) for x in lists]
    return out
