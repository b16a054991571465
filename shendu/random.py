"""Keras's ``keras.random``: random tensors with Keras's seed semantics.

Every function takes ``seed``:

- an ``int``: a fixed stream, so the same call with the same seed gives the same values;
- a ``SeedGenerator`` (or a NumPy ``Generator``): its state advances with each draw, so
  successive calls differ, and a run seeded the same way repeats them;
- ``None``: shendu's global generator, which ``shendu.utils.set_random_seed`` reseeds.

Draws come from NumPy's PCG64 generators, so they follow Keras's distributions, not its
exact numbers.

    >>> import shendu as keras
    >>> a = keras.random.normal((2, 3), seed=1); b = keras.random.normal((2, 3), seed=1)
    >>> bool((a.numpy() == b.numpy()).all())
    True
"""
import numpy as np

from .autograd.tensor import Tensor
from .backend import is_float_dtype, is_int_dtype, standardize_dtype
from .ops import random as _random


class SeedGenerator:
    """A generator of random streams whose state advances with each use.

    Args:
        seed: an int (the same seed gives the same sequence of draws) or None (a seed drawn
            from the global generator, so ``set_random_seed`` makes it reproducible).
        name: optional name.

    A layer that keeps one as an attribute (``self.seed_generator = SeedGenerator(1337)``)
    has its state saved in checkpoints with the layer's other generators.

    Example:
        >>> g = SeedGenerator(42)
        >>> x1 = uniform((2,), seed=g); x2 = uniform((2,), seed=g)
        >>> bool((x1.numpy() != x2.numpy()).all())
        True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator got unexpected keyword arguments: {sorted(kwargs)}")
        if seed is None:
            seed = int(_random.default_generator().integers(0, 2 ** 31))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError("SeedGenerator: `seed` must be an integer or None. "
                             f"Received: seed={seed!r}")
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        # saving_lib saves any `_rng` Generator of a layer's attributes with the checkpoint.
        self._rng = np.random.default_rng(self._initial_seed)

    @property
    def state(self):
        """The generator's current state (a NumPy bit-generator state dict, copied)."""
        return dict(self._rng.bit_generator.state)

    def next(self, ordered=True):
        """A fresh integer seed, advancing the state."""
        return int(self._rng.integers(0, 2 ** 63))

    def get_config(self):
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} seed={self._initial_seed}>"


def _rng(seed, fn):
    if seed is None:
        return _random.default_generator()
    if isinstance(seed, SeedGenerator):
        return seed._rng
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError(f"{fn}: `seed` must be an integer, a SeedGenerator or None. "
                     f"Received: seed={seed!r}")


def _float_dtype(dtype, fn):
    dtype = standardize_dtype(dtype)
    if not is_float_dtype(dtype) or dtype == "bfloat16":
        raise ValueError(f"{fn}: `dtype` must be a floating point type (float16, float32 or "
                         f"float64). Received: dtype={dtype}")
    return dtype


def _shape(shape):
    return tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))


def _out(values, dtype):
    return Tensor(np.asarray(values).astype(dtype, copy=False))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2), a tensor of ``shape`` and ``dtype`` (default floatx)."""
    dtype = _float_dtype(dtype, "normal")
    return _out(_rng(seed, "normal").normal(mean, stddev, _shape(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U[minval, maxval), a tensor of ``shape`` and float ``dtype`` (default floatx)."""
    dtype = _float_dtype(dtype, "uniform")
    return _out(_rng(seed, "uniform").uniform(minval, maxval, _shape(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2) kept within two standard deviations of the mean
    (values outside are drawn again)."""
    dtype = _float_dtype(dtype, "truncated_normal")
    rng = _rng(seed, "truncated_normal")
    z = rng.standard_normal(_shape(shape))
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return _out(mean + stddev * z, dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    dtype = standardize_dtype(dtype)
    if not is_int_dtype(dtype):
        raise ValueError(f"randint: `dtype` must be an integer type. Received: dtype={dtype}")
    return _out(_rng(seed, "randint").integers(minval, maxval, _shape(shape)), dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (batch, classes), each drawn with
    probability softmax(logits row); returns (batch, num_samples).

    Drawn by the Gumbel-max rule: argmax_k (logits_k + g_k), g_k ~ Gumbel(0, 1), which
    samples softmax(logits) exactly and handles -inf logits (never drawn).
    """
    dtype = standardize_dtype(dtype)
    logits = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError("categorical: `logits` must have shape (batch_size, num_classes). "
                         f"Received: logits.shape={logits.shape}")
    g = _rng(seed, "categorical").gumbel(size=(logits.shape[0], int(num_samples), logits.shape[1]))
    return _out(np.argmax(logits[:, None, :] + g, axis=-1), dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate`` and scale the rest by 1 / (1 - rate);
    differentiable in ``inputs`` (see ``shendu.ops.dropout``)."""
    return _random.dropout(inputs, rate, noise_shape=noise_shape, seed=_rng(seed, "dropout"))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    arr = np.asarray(getattr(x, "data", x))
    perm = _rng(seed, "shuffle").permutation(arr.shape[axis])
    return Tensor(np.take(arr, perm, axis=axis))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of the Gamma(alpha, 1) distribution (mean alpha, variance alpha)."""
    dtype = _float_dtype(dtype, "gamma")
    return _out(_rng(seed, "gamma").gamma(alpha, 1.0, _shape(shape)), dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of Binomial(counts, probabilities): successes in ``counts`` trials, as floats
    of ``dtype`` (default floatx), as Keras returns them."""
    dtype = _float_dtype(dtype, "binomial")
    n = np.asarray(getattr(counts, "data", counts))
    p = np.asarray(getattr(probabilities, "data", probabilities))
    return _out(_rng(seed, "binomial").binomial(n.astype(np.int64), p, _shape(shape)), dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of the Beta(alpha, beta) distribution on [0, 1] (mean alpha / (alpha + beta))."""
    dtype = _float_dtype(dtype, "beta")
    a = np.asarray(getattr(alpha, "data", alpha))
    b = np.asarray(getattr(beta, "data", beta))
    return _out(_rng(seed, "beta").beta(a, b, _shape(shape)), dtype)
