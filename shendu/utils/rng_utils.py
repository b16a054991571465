"""``set_random_seed``: one seed for every source of randomness."""
import random

import numpy as np

from ..ops import random as _shendu_random


def set_random_seed(seed):
    """Seed Python's ``random``, ``numpy.random`` and shendu's global generator.

    Weight initializers, dropout masks and shuffling all draw from
    ``shendu.ops.random.default_generator()``, so the same seed gives the same run.

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.

    Example:
        >>> from shendu.ops.random import default_generator
        >>> set_random_seed(7); a = default_generator().random()
        >>> set_random_seed(7); a == default_generator().random()
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("set_random_seed expected a non-negative integer seed; "
                         f"received seed={seed!r}")
    seed = int(seed)
    random.seed(seed)
    # numpy's legacy global state only takes 32-bit seeds.
    np.random.seed(seed % (2 ** 32))
    _shendu_random.manual_seed(seed)
