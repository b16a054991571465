"""Cutting a batch into chunks that the cores share (ops/conv.py, ops/conv_pool.py).

A convolution's work is independent per sample, so the batch is cut into chunks small
enough for a chunk's columns and outputs to stay in one core's cache, and inside the
steps where shendu owns the cores (``threads.owning_cores``) every core takes the next
chunk nobody has taken. Sums over the batch (the kernel's and bias's gradients) are
kept per chunk and added in chunk order, so they do not depend on which core did what.
"""
import itertools

from ..kernels.threads import parallel


def chunks(n, per_sample, budget, multiple):
    """[(start, stop)]: n samples cut into chunks of at most ``budget`` bytes (at least
    one sample each), as many as a multiple of ``multiple`` where there are samples
    enough, and of sizes that differ by one at most. (Every core then gets as many
    chunks, instead of one core doing the last odd chunk while the others wait; and
    the chunks, hence the sums, do not depend on the thread count.)"""
    k = -(-n // max(1, budget // max(1, per_sample)))
    k = min(n, -(-k // multiple) * multiple)
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]


def each_chunk(chunk, n, parts):
    """chunk(0), ..., chunk(n - 1): in order when ``parts`` < 2, else shared out among
    ``parts`` threads, each taking the next chunk nobody has taken (``next`` on a shared
    counter is atomic under the GIL)."""
    parts = min(parts, n)
    if parts < 2:
        for j in range(n):
            chunk(j)
        return
    claim = itertools.count()

    def worker():
        for j in iter(lambda: next(claim), None):
            if j >= n:
                return
            chunk(j)

    parallel([worker] * parts)


def in_order_sum(arrays):
    """arrays[0] + arrays[1] + ..., added in that order (a new array)."""
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total
