"""Reuters newswire topics: 11,228 newswires in 46 topics, as lists of word indices
(Keras's ``reuters.npz``, read without pickle and checked against its SHA-256)."""
import numpy as np

from ._text import (limit_vocabulary, load_arrays, load_word_index, object_array,
                    remove_long, shuffled, with_markers)

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Load Reuters as Keras does: the newswires shuffled (``seed``), then split with the last
    ``test_split`` of them for testing. The other arguments are ``imdb.load_data``'s.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        topic labels 0-45.
    """
    f = load_arrays("reuters", "reuters.npz", path)
    xs, labels = shuffled(np.random.RandomState(seed), f["x"], f["y"])
    xs = with_markers(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long(maxlen, xs, labels)
    xs = limit_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    return ((object_array(xs[:idx]), np.array(labels[:idx])),
            (object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path="reuters_word_index.json"):
    """The dict word -> index of Reuters (add ``index_from`` to match ``load_data``)."""
    return load_word_index("reuters_word_index", "reuters_word_index.json", path)


def get_label_names():
    """The 46 topic names, in label order (label 3 is 'earn')."""
    return _LABEL_NAMES
