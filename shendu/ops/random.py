"""Random number generation: seedable generators and randomness-using ops.

Every random op takes an explicit ``generator`` (or an int seed); without one it
draws from the global generator, which ``manual_seed`` / ``set_random_seed`` reset,
so the same seed gives the same run.
"""
import numpy as np

_global = np.random.default_rng(0)


def Generator(seed=None):
    """A NumPy ``Generator`` (PCG64) seeded with ``seed``: ``shendu.Generator(42)``."""
    return np.random.default_rng(seed)


def manual_seed(seed):
    """Reseed the global generator that random ops use when given none."""
    global _global
    _global = np.random.default_rng(seed)
    return _global


def default_generator():
    return _global


def as_generator(generator=None):
    """A Generator from None (the global one), an int seed, or a Generator."""
    if generator is None:
        return _global
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    raise TypeError(f"expected a seed (int) or a numpy Generator; got {type(generator).__name__}")
