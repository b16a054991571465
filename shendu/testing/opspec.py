"""Declarative op tests: one ``OpSpec`` per op drives every generated check.

From a spec the suite generates (tests/ops/test_op_specs.py):
  * forward vs. the NumPy reference, in float64 and float32;
  * a float64 central-difference gradient check of every float input;
  * float32 in, float32 out (no op may silently promote to float64).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass
class OpSpec:
    """How to test one op.

    Args:
        name: test id.
        fn: callable on Tensors, returning a Tensor (wrap keyword arguments in a lambda).
        samples: callable(rng) -> list of input tuples (float64 arrays; int arrays pass as is).
            Cover 0-d, broadcasting, odd sizes and non-contiguous inputs where they apply.
        reference: NumPy forward on the same arrays (None when fn is its own reference,
            e.g. composites tested elsewhere against PyTorch).
        atol/rtol: gradcheck tolerances.
    """
    name: str
    fn: Callable
    samples: Callable
    reference: Optional[Callable] = None
    atol: float = 1e-5
    rtol: float = 1e-4
    fwd_rtol32: float = 1e-5
    tags: tuple = field(default_factory=tuple)


def away_from(x, points, margin=1e-2):
    """Push samples at least ``margin`` away from the kinks in ``points`` (relu at 0, ...)."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
    return x


def distinct(rng, shape, gap=1e-3):
    """Samples with no two values closer than ``gap`` (max/min/pooling have no ties)."""
    n = int(np.prod(shape)) if len(shape) else 1
    vals = (rng.permutation(n) - n / 2) * gap * 10 + rng.uniform(0, gap, n)
    return (vals / max(n, 1)).reshape(shape) * 10 if n > 1 else vals.reshape(shape)
