"""Random number generation: seedable generators and randomness-using ops.

Every random op takes an explicit ``generator`` (or an int seed); without one it
draws from the global generator, which ``manual_seed`` / ``set_random_seed`` reset,
so the same seed gives the same run.
"""
import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..kernels import kernel
from ..kernels.counter_hash import GOLDEN, M1, M2, dropout_threshold

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


class Dropout(Function):
    """Inverted dropout: y = x * mask, mask = [u >= rate] / (1 - rate), u ~ U[0, 1);
    gx = gy * mask  (the same mask: a dropped element passes no gradient).

    The mask is drawn by the caller and may have a broadcastable ``noise_shape``
    (then whole rows or channels are dropped together). Saves the mask.
    """

    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    def backward(ctx, gy):
        mask, = ctx.saved
        return gy * mask


@kernels.reference("dropout_apply")
def dropout_apply(x, seed, rate):
    """y = x * keep / (1 - rate), keep_i = [u_i >= rate] for the C-order flat index i.

    u_i = (splitmix64(seed + i * 0x9E3779B97F4A7C15) >> 40) / 2^24 is uniform on
    [0, 1) in steps of 2^-24: a counter-based generator, so the mask is a pure function
    of (seed, i) -- nothing to store for backward, and the same seed gives the same mask
    in every implementation. Dropped elements are exactly 0 (even where x is inf).
    """
    z = np.uint64(seed) + np.arange(x.size, dtype=np.uint64) * GOLDEN
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    z ^= z >> np.uint64(31)
    keep = ((z >> np.uint64(40)) >= np.uint64(dropout_threshold(rate))).reshape(x.shape)
    return np.where(keep, x * x.dtype.type(1.0 / (1.0 - rate)), x.dtype.type(0))


class CounterDropout(Function):
    """Inverted dropout with a counter-based mask (see ``dropout_apply``):
    y = x * keep / (1 - rate);  gx = gy * keep / (1 - rate), the same keep.

    Saves only the seed: backward recomputes the mask, which costs less than storing
    and reading it back.
    """

    def forward(ctx, x, seed, rate):
        ctx.mask_args = seed, rate
        return kernel("dropout_apply")(x, seed, rate)

    def backward(ctx, gy):
        return kernel("dropout_apply")(gy, *ctx.mask_args)


def dropout_seed(generator):
    """The seed of one counter-based dropout mask, drawn from ``generator`` (a Generator,
    an int or None) exactly as :func:`dropout` draws it."""
    return int(as_generator(generator).integers(0, 2 ** 63))


def dropout(x, rate, noise_shape=None, seed=None, training=True, generator=None):
    """Randomly zero a fraction ``rate`` of x and scale the rest by 1 / (1 - rate).

    Args:
        x: any float tensor.
        rate: probability of dropping each element, 0 <= rate < 1.
        noise_shape: shape of the mask, broadcast against x (None entries take x's size);
            default x's shape.
        seed: an int seed or a NumPy Generator (``generator`` is the same thing by
            its PyTorch name); None draws from the global generator.
        training: when False, or when rate == 0, x itself is returned unchanged.

    Returns:
        A tensor of x's shape; the expected value of each element is x's.

    Example:
        >>> import numpy as np, shendu.ops as ops
        >>> y = ops.dropout(np.ones((2, 4), np.float32), 0.5, seed=0)
        >>> sorted(set(y.numpy().ravel().tolist()))
        [0.0, 2.0]
    """
    if not 0 <= float(rate) < 1:
        raise ValueError(f"dropout: rate must be in [0, 1) (the probability of dropping an "
                         f"element). Received: rate={rate}")
    if seed is not None and generator is not None:
        raise ValueError("dropout: pass either seed or generator, not both")
    if not training or rate == 0:
        return x
    from ..autograd.tensor import as_tensor
    from ._util import data_of
    shape = np.shape(data_of(x))
    if noise_shape is None:
        noise_shape = shape
    else:
        noise_shape = tuple(n if m is None else int(m)
                            for m, n in zip(noise_shape, shape[len(shape) - len(noise_shape):]))
        try:
            np.broadcast_shapes(noise_shape, shape)
        except ValueError:
            raise ValueError(f"dropout: noise_shape {noise_shape} does not broadcast to the "
                             f"input shape {shape}") from None
    dt = data_of(x).dtype if data_of(x).dtype.kind == "f" else as_tensor(1.0).dtype
    rng = as_generator(generator if generator is not None else seed)
    if noise_shape == shape and data_of(x).dtype.kind == "f":
        # The common case: one 64-bit seed from the generator, the mask from a hash.
        return CounterDropout.apply(x, seed=dropout_seed(rng), rate=float(rate))
    keep = rng.random(noise_shape) >= rate
    mask = keep.astype(dt) * dt.type(1.0 / (1.0 - rate))
    return Dropout.apply(x, mask=mask)
