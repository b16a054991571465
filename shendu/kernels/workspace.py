"""A bounded pool of reusable buffers for ops whose shapes repeat from step to step.

A training loop allocates the same large arrays every step (im2col columns, conv
outputs, their gradients). Fresh large allocations are fresh pages, and the page
faults that fill them cost as much as the arithmetic; ``empty(shape, dtype)`` lends
a block of memory that an earlier step gave back.

Ownership, not reference counts. ``empty`` returns a new plain-ndarray view of a
pooled block; that array is the *loan*, and the block belongs to it. The block goes back to
the pool only when the loan is garbage, which a weak reference reports: the language
guarantees the callback, so this holds on any Python (3.14's borrowed references,
free-threaded builds, PyPy's delayed collection only make a block come back later).
Whoever asked for the buffer owns it in the ordinary Python sense: an op's graph node
that saves it, a Tensor whose data it became, a user holding ``model(x).numpy()``,
a chunk's local scratch (back at the end of the chunk). Nothing the library hands out
can therefore be written again while anyone holds it.

Views cannot outlive the loan unnoticed: NumPy points a view's ``base`` at the first
array up the chain that owns its memory *or whose base has another type*. The block
is an instance of a private ndarray subclass, so every view of a loan (slices,
reshapes, ``np.asarray``, Numba's views) keeps the loan itself alive, not just the block.

Blocks are kept per (shape, dtype). The pool is bounded: free blocks are kept while
their total stays under a byte budget (``shendu.config.set_workspace_budget``); the
least recently returned blocks are dropped first. Blocks on loan are not counted: they
are in use, and come back (and are trimmed to the budget) when their owners are done.

Thread safety: one lock makes taking a free block one step, so two threads
(``threads.parallel``) never get the same block. A returned block is filed (and the
pool trimmed to its budget) by the callback when the lock is free; when it is taken (by
another thread, or by this one: a garbage collection can run the callback at any
allocation, even inside the lock) the block is queued and the next call files it.
"""
import collections
import math
import threading
import weakref

import numpy as np

_MIN_BYTES = 1 << 16    # small arrays come from malloc's own free lists: no need to pool
_DEFAULT_BUDGET = 256 << 20


class _Block(np.ndarray):
    """Pooled memory. Its own type stops NumPy collapsing a loan's views onto it."""


_view = np.ndarray.view
_LOCK = threading.Lock()
_FREE = {}                          # (shape, dtype) -> [block, ...], most recently returned last
_LRU = {}                           # id(block) -> (shape, dtype), least recently returned first
_LENT = {}      # id(weakref to a loan) -> (weakref, block, key, nbytes, generation)
_RETURNED = collections.deque()     # such entries given back while the lock was taken
_budget = _DEFAULT_BUDGET
_free_bytes = 0
_generation = 0                     # bumped by clear(): blocks lent before it are not taken back


def _give_back(ref):
    """Weak-reference callback: the loan died, so its block is free again."""
    entry = _LENT.pop(id(ref), None)
    if entry is None:
        return
    # File it now (and trim to the budget) unless the lock is taken, by another thread
    # or by this one inside empty() (a garbage collection can run this callback at any
    # allocation): then it waits in _RETURNED for the next call.
    if _LOCK.acquire(False):
        try:
            _file(entry)
            if _RETURNED:
                _file_returned()
        finally:
            _LOCK.release()
    else:
        _RETURNED.append(entry)


def _file(entry):
    """Put a returned block on its free list, then trim to the budget. Lock held."""
    global _free_bytes
    _, block, key, nbytes, generation = entry
    if generation != _generation:
        return
    blocks = _FREE.get(key)
    if blocks is None:
        _FREE[key] = [block]
    else:
        blocks.append(block)
    _LRU[id(block)] = key
    _free_bytes += nbytes
    if _free_bytes > _budget:
        _trim()


def _trim():
    """Drop the least recently returned free blocks until the rest fit the budget."""
    global _free_bytes
    while _free_bytes > _budget:
        # (a dict keeps insertion order: its first key is the least recently returned)
        oldest = _LRU.pop(next(iter(_LRU)))
        blocks = _FREE[oldest]
        # the oldest block of this key is the first one: both orders are return order
        _free_bytes -= blocks.pop(0).nbytes
        if not blocks:
            del _FREE[oldest]


def _file_returned():
    """File the blocks that came back while the lock was taken. Lock held."""
    while _RETURNED:
        _file(_RETURNED.popleft())


def empty(shape, dtype):
    """An uninitialized array of ``shape`` and ``dtype``, over pooled memory when possible.

    The array owns its memory until it (and every view of it) is garbage; then the
    memory may be lent again. Arrays under 64 KiB come from ``np.empty``.

    >>> a = empty((256, 256), "float32")
    >>> a.shape, a.dtype.name
    ((256, 256), 'float32')
    """
    global _free_bytes
    # (called per chunk by ops split over threads, so kept cheap: map and math.prod,
    # not a generator and np.prod, which cost several microseconds; the key holds the
    # dtype itself, whose hash is cheaper than building dtype.str)
    shape = tuple(map(int, shape))
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes < _MIN_BYTES or _budget <= 0:
        return np.empty(shape, dtype)
    key = (shape, dtype)
    with _LOCK:
        if _RETURNED:
            _file_returned()
        blocks = _FREE.get(key)
        if blocks:
            block = blocks.pop()        # the most recently returned: likely still in cache
            if not blocks:
                del _FREE[key]
            del _LRU[id(block)]
            _free_bytes -= nbytes
        else:
            block = _Block(shape, dtype)
        # A plain-ndarray view of the block: the loan. (Cheaper than building an array
        # over the block's buffer; a view of the loan stops at the loan, see above.)
        loan = _view(block, np.ndarray)
        ref = weakref.ref(loan, _give_back)
        _LENT[id(ref)] = (ref, block, key, nbytes, _generation)
    return loan


def clear():
    """Empty the pool: free blocks are dropped now, blocks on loan when their owners die."""
    global _free_bytes, _generation
    with _LOCK:
        _generation += 1
        _RETURNED.clear()
        _FREE.clear()
        _LRU.clear()
        _free_bytes = 0


def set_budget(nbytes):
    """At most ``nbytes`` of free buffers are kept (0 turns pooling off)."""
    global _budget
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
        raise ValueError("set_workspace_budget expects a number of bytes >= 0 (an int). "
                         f"Received: nbytes={nbytes!r}")
    with _LOCK:
        _budget = int(nbytes)
        _file_returned()
        _trim()


def get_budget():
    """The byte budget for free buffers."""
    return _budget


def pooled_bytes():
    """Bytes of free buffers the pool holds now (never more than the budget)."""
    with _LOCK:
        _file_returned()
        return _free_bytes


def lent_bytes():
    """Bytes of pooled memory on loan now (owned by live arrays)."""
    with _LOCK:
        return sum(e[3] for e in list(_LENT.values()) if e[4] == _generation)
