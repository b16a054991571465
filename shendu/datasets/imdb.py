"""IMDB movie reviews (Maas et al., 2011): 25,000 training and 25,000 test reviews labelled
positive (1) or negative (0), as lists of word indices, the most frequent word first.

Read from Keras's ``imdb.npz`` (found in ``$SHENDU_HOME/datasets/imdb``, in Keras's cache
``~/.keras/datasets`` or downloaded), whose SHA-256 is checked; its arrays of lists are read
without pickle (``_npz.py``).
"""
import numpy as np

from ._text import (limit_vocabulary, load_arrays, load_word_index, object_array,
                    remove_long, shuffled, with_markers)


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load IMDB as Keras does.

    Args:
        path: ``imdb.npz`` (the default: the caches, then a download), or a file or folder.
        num_words: keep the ``num_words`` most frequent words; the others become ``oov_char``.
        skip_top: the most frequent words to treat as out of vocabulary too.
        maxlen: drop the reviews of ``maxlen`` words or more.
        seed: the seed of the shuffle of each split.
        start_char: the index that starts every review (None: no start marker).
        oov_char: the index of the words cut by ``num_words``/``skip_top`` (None: drop them).
        index_from: shift every word index up by this much.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        label arrays.
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    f = load_arrays("imdb", "imdb.npz", path)
    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(rng, f["x_train"], f["y_train"])
    x_test, labels_test = shuffled(rng, f["x_test"], f["y_test"])
    x_train = with_markers(x_train, start_char, index_from)
    x_test = with_markers(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = remove_long(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             "sequence was kept. Increase maxlen.")
    xs = limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    idx = len(x_train)
    return (object_array(xs[:idx]), labels[:idx]), (object_array(xs[idx:]), labels[idx:])


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> index of IMDB (1 is the most frequent word; add ``index_from`` to
    match ``load_data``'s indices)."""
    return load_word_index("imdb_word_index", "imdb_word_index.json", path)
