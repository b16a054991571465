"""Reusable output buffers for ops whose shapes repeat from step to step.

A training loop allocates the same large arrays every step (im2col columns, conv
outputs, their gradients). Fresh large allocations are fresh pages, and the page
faults that fill them cost as much as the arithmetic; ``empty(shape, dtype)``
returns a buffer that an earlier step used and nobody references any more.

A pooled buffer is free when the pool's own list holds the only reference to it
(``sys.getrefcount`` counts only the pool's own references). A view, a Tensor, a
saved array in a graph node or a user's variable all hold references, so a buffer
is never handed out twice while any of them is alive. A lock makes the check and the
hand-out one step, so two threads (``threads.parallel``) never get the same buffer.
"""
import math
import sys
import threading

import numpy as np

_POOL = {}          # (shape, dtype) -> [buffers]
_PER_SHAPE = 8      # at most this many buffers kept per (shape, dtype)
_MIN_BYTES = 1 << 16  # small arrays come from malloc's own free lists: no need to pool
_LOCK = threading.Lock()


def empty(shape, dtype):
    """An uninitialized array of ``shape`` and ``dtype``, reused when one is free."""
    # (called per chunk by ops split over threads, so kept cheap: map and math.prod,
    # not a generator and np.prod, which cost several microseconds)
    shape = tuple(map(int, shape))
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes < _MIN_BYTES:
        return np.empty(shape, dtype)
    key = (shape, dtype.str)
    with _LOCK:
        bufs = _POOL.setdefault(key, [])
        for buf in bufs:
            # referenced by the list, the loop variable and getrefcount's argument only
            if sys.getrefcount(buf) == 3:
                return buf
        buf = np.empty(shape, dtype)
        if len(bufs) < _PER_SHAPE:
            bufs.append(buf)
        return buf


def clear():
    """Forget every pooled buffer (their memory is freed once no one uses them)."""
    _POOL.clear()


def pooled_bytes():
    """Bytes held by the pool (in use or free)."""
    return sum(b.nbytes for bufs in _POOL.values() for b in bufs)
