"""``Dataset``: a small input pipeline in the style of ``tf.data``.

    ds = (Dataset.from_tensor_slices((x, y))
          .shuffle(10_000, seed=0).batch(128).map(augment).prefetch(2))
    for x_batch, y_batch in ds: ...

An element is a NumPy array, a tuple of them or a dict of them; every transformation
keeps that structure. A dataset is re-iterable: each ``for`` loop is one pass (epoch).

Batching arrays is vectorized: while the source is ``from_tensor_slices`` (shuffled or
not), ``batch`` cuts whole batches with one slice or one fancy index per array, and
never stacks samples one by one. After ``map`` or ``from_generator`` elements are
ordinary Python objects and are stacked.
"""
import queue
import threading

import numpy as np

INFINITE = -1
UNKNOWN = -2
AUTOTUNE = -1
_AUTOTUNE_BUFFER = 2


# --- element structure -------------------------------------------------------------

def _map_structure(fn, element):
    if isinstance(element, tuple):
        return tuple(fn(e) for e in element)
    if isinstance(element, dict):
        return {k: fn(v) for k, v in element.items()}
    return fn(element)


def _leaves(element):
    if isinstance(element, tuple):
        return list(element)
    if isinstance(element, dict):
        return list(element.values())
    return [element]


def _stack(elements):
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(np.stack([e[i] for e in elements]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: np.stack([e[k] for e in elements]) for k in first}
    return np.stack(elements)


def _call(fn, element):
    # As in tf.data: a tuple element is spread over the function's arguments.
    return fn(*element) if isinstance(element, tuple) else fn(element)


# --- the public class --------------------------------------------------------------

class Dataset:
    """A re-iterable sequence of elements with chainable transformations."""

    # -- sources

    @staticmethod
    def from_tensor_slices(tensors):
        """Slice arrays along their first axis: element ``i`` is ``a[i]`` of every array.

        Args:
            tensors: an array, a tuple such as ``(x, y)`` or ``(x, y, sample_weight)``,
                or a dict of arrays; all with the same first dimension.

        Example:
            >>> ds = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10)).batch(2)
            >>> [y.tolist() for _, y in ds]
            [[0, 10], [20, 30], [40]]
        """
        return _TensorSlices(tensors)

    @staticmethod
    def from_generator(generator):
        """Elements from ``generator()``, a callable called again for every pass."""
        if not callable(generator):
            raise TypeError(
                f"Dataset.from_generator expects a callable returning an iterable (so "
                f"every pass can restart it). Received: {type(generator).__name__}")
        return _FromGenerator(generator)

    # -- transformations

    def batch(self, batch_size, drop_remainder=False):
        """Group consecutive elements into batches of ``batch_size``.

        The last, smaller batch is kept unless ``drop_remainder``.
        """
        batch_size = _positive_int(batch_size, "batch", "batch_size")
        return _Batch(self, batch_size, bool(drop_remainder))

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """Shuffle with a buffer of ``buffer_size`` elements (full shuffle when >= size).

        With a ``seed`` the sequence of orders is reproducible; with
        ``reshuffle_each_iteration`` each pass gets a new order, else every pass
        repeats the first one.
        """
        buffer_size = _positive_int(buffer_size, "shuffle", "buffer_size")
        return _Shuffle(self, buffer_size, seed, bool(reshuffle_each_iteration))

    def map(self, fn):
        """Apply ``fn`` to every element (a tuple element is passed as ``fn(*element)``)."""
        if not callable(fn):
            raise TypeError(f"Dataset.map expects a callable. Received: {type(fn).__name__}")
        return _Map(self, fn)

    def repeat(self, count=None):
        """Repeat the dataset ``count`` times; ``None`` or -1 repeats forever."""
        if count is None or count == -1:
            count = None
        elif not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"Dataset.repeat expects count >= 0, -1 or None. Received: count={count!r}")
        return _Repeat(self, count)

    def take(self, count):
        """The first ``count`` elements."""
        if not isinstance(count, (int, np.integer)) or count < -1:
            raise ValueError(f"Dataset.take expects count >= 0 (or -1 for all). Received: count={count!r}")
        return _Take(self, int(count))

    def prefetch(self, buffer_size):
        """Prepare up to ``buffer_size`` elements ahead in a background thread.

        ``AUTOTUNE`` picks a small buffer. An exception raised while producing an
        element is re-raised in the consuming loop, where it would have occurred.
        """
        if buffer_size == AUTOTUNE:
            buffer_size = _AUTOTUNE_BUFFER
        buffer_size = _positive_int(buffer_size, "prefetch", "buffer_size")
        return _Prefetch(self, buffer_size)

    # -- inspection and iteration

    def cardinality(self):
        """The number of elements, ``INFINITE`` (-1) or ``UNKNOWN`` (-2)."""
        return UNKNOWN

    def _gatherable(self):
        """Whether ``order()`` and ``gather(rows)`` are available (array sources)."""
        return False

    def __len__(self):
        n = self.cardinality()
        if n == INFINITE:
            raise TypeError("the dataset is infinite (repeat() without a count): it has no length")
        if n == UNKNOWN:
            raise TypeError("the dataset's length is unknown (it comes from a generator)")
        return n

    def __iter__(self):
        # Every concrete dataset (from_tensor_slices, batch, map, ...) defines its own.
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__; make datasets "
                                  "with Dataset.from_tensor_slices or Dataset.from_generator")

    def as_numpy_iterator(self):
        """An iterator over the elements (they already are NumPy arrays)."""
        return iter(self)


def _positive_int(value, method, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Dataset.{method} expects a positive integer {name}. Received: {name}={value!r}")
    return int(value)


# --- sources -----------------------------------------------------------------------

class _TensorSlices(Dataset):
    """Slices of in-memory arrays; can hand out any set of rows at once (``gather``)."""

    def __init__(self, tensors):
        if isinstance(tensors, list) and tensors and isinstance(tensors[0], (tuple, dict)):
            raise TypeError("Dataset.from_tensor_slices expects an array, a tuple or a dict of "
                            "arrays; received a list of structures (pass a tuple of arrays)")
        self._tensors = _map_structure(np.asarray, tensors)
        leaves = _leaves(self._tensors)
        if not leaves:
            raise ValueError("Dataset.from_tensor_slices expects at least one array; received none")
        if any(a.ndim == 0 for a in leaves):
            raise ValueError(
                f"Dataset.from_tensor_slices expects arrays with a first axis to slice; "
                f"received shapes {[a.shape for a in leaves]}")
        lengths = {len(a) for a in leaves}
        if len(lengths) > 1:
            raise ValueError(
                f"Dataset.from_tensor_slices expects arrays of the same first dimension; "
                f"received shapes {[a.shape for a in leaves]}")
        self._n = lengths.pop()

    def cardinality(self):
        return self._n

    def _gatherable(self):
        return True

    def order(self):
        """This pass's row order: ``None`` means 0, 1, ..., n-1."""
        return None

    def gather(self, rows):
        """The element(s) at ``rows``: an int, a slice or an index array."""
        return _map_structure(lambda a: a[rows], self._tensors)

    def __iter__(self):
        for i in range(self._n):
            yield _map_structure(np.asarray, self.gather(i))


class _FromGenerator(Dataset):
    def __init__(self, generator):
        self._generator = generator

    def __iter__(self):
        return iter(self._generator())


# --- transformations ---------------------------------------------------------------

class _Shuffle(Dataset):
    def __init__(self, source, buffer_size, seed, reshuffle):
        self._source = source
        self._buffer_size = buffer_size
        # Without a seed, draw one now: each pass still gets its own order, and with
        # reshuffle_each_iteration=False every pass repeats the first one.
        self._seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self._reshuffle = reshuffle
        self._epoch = 0
        self._lock = threading.Lock()

    def cardinality(self):
        return self._source.cardinality()

    def _next_rng(self):
        with self._lock:
            epoch = self._epoch if self._reshuffle else 0
            self._epoch += 1
        return np.random.default_rng([self._seed, epoch])

    # Over array slices the shuffle permutes row indices and stays gatherable, so a
    # following batch() still cuts whole batches with one fancy index per array.
    def _gatherable(self):
        return self._source._gatherable()

    def gather(self, rows):
        return self._source.gather(rows)

    def order(self):
        rng = self._next_rng()
        source_order = self._source.order()
        n = self._source.cardinality()
        rows = np.arange(n) if source_order is None else source_order
        return rows[_buffer_permutation(n, self._buffer_size, rng)]

    def __iter__(self):
        if self._gatherable():
            for i in self.order():
                yield _map_structure(np.asarray, self.gather(i))
            return
        yield from _buffer_shuffle(iter(self._source), self._buffer_size, self._next_rng())


def _buffer_permutation(n, buffer_size, rng):
    """The order in which a shuffle buffer of ``buffer_size`` emits items 0..n-1."""
    if buffer_size >= n:
        return rng.permutation(n)
    out = np.empty(n, dtype=np.int64)
    buffer = np.arange(buffer_size)
    picks = rng.integers(0, buffer_size, size=n - buffer_size)
    for t, (j, incoming) in enumerate(zip(picks, range(buffer_size, n))):
        out[t] = buffer[j]
        buffer[j] = incoming
    out[n - buffer_size:] = rng.permutation(buffer)
    return out


def _buffer_shuffle(iterator, buffer_size, rng):
    buffer = []
    for element in iterator:
        if len(buffer) < buffer_size:
            buffer.append(element)
            continue
        j = int(rng.integers(buffer_size))
        yield buffer[j]
        buffer[j] = element
    for j in rng.permutation(len(buffer)):
        yield buffer[j]


class _Batch(Dataset):
    def __init__(self, source, batch_size, drop_remainder):
        self._source = source
        self._batch_size = batch_size
        self._drop = drop_remainder

    def cardinality(self):
        n = self._source.cardinality()
        if n < 0:
            return n
        return n // self._batch_size if self._drop else -(-n // self._batch_size)

    def __iter__(self):
        if self._source._gatherable():
            yield from self._iter_gathered()
            return
        batch = []
        for element in self._source:
            batch.append(element)
            if len(batch) == self._batch_size:
                yield _stack(batch)
                batch = []
        if batch and not self._drop:
            yield _stack(batch)

    def _iter_gathered(self):
        n, b = self._source.cardinality(), self._batch_size
        stop = n - n % b if self._drop else n
        order = self._source.order()
        for start in range(0, stop, b):
            end = min(start + b, n)
            # A slice of unshuffled rows is a view; a fancy index copies once per batch.
            yield self._source.gather(slice(start, end) if order is None else order[start:end])


class _Map(Dataset):
    def __init__(self, source, fn):
        self._source = source
        self._fn = fn

    def cardinality(self):
        return self._source.cardinality()

    def __iter__(self):
        for element in self._source:
            yield _call(self._fn, element)


class _Repeat(Dataset):
    def __init__(self, source, count):
        self._source = source
        self._count = count

    def cardinality(self):
        n = self._source.cardinality()
        if self._count == 0 or n == 0:
            return 0
        if self._count is None:
            return INFINITE if n != UNKNOWN else UNKNOWN
        return n * self._count if n >= 0 else n

    def __iter__(self):
        passes = 0
        while self._count is None or passes < self._count:
            empty = True
            for element in self._source:
                empty = False
                yield element
            passes += 1
            if empty:  # an empty source repeated forever would spin without yielding
                return


class _Take(Dataset):
    def __init__(self, source, count):
        self._source = source
        self._count = count

    def cardinality(self):
        n = self._source.cardinality()
        if self._count == -1:
            return n
        if n == INFINITE:
            return self._count
        return n if n == UNKNOWN else min(n, self._count)

    def __iter__(self):
        if self._count == -1:
            yield from self._source
            return
        if self._count == 0:
            return
        for i, element in enumerate(self._source, 1):
            yield element
            if i == self._count:
                return


class _Prefetch(Dataset):
    def __init__(self, source, buffer_size):
        self._source = source
        self._buffer_size = buffer_size

    def cardinality(self):
        return self._source.cardinality()

    def __iter__(self):
        return _PrefetchIterator(self._source, self._buffer_size)


# --- prefetching -------------------------------------------------------------------

_ITEM, _END, _ERROR = range(3)
_PUT_POLL_S = 0.05


def _prefetch_worker(source, q, stop):
    # A module function, not a method: the thread must hold no reference to the
    # iterator, or the iterator could never be garbage-collected and stop it.
    def put(message):
        while not stop.is_set():
            try:
                q.put(message, timeout=_PUT_POLL_S)
                return True
            except queue.Full:
                pass
        return False

    try:
        for element in source:
            if not put((_ITEM, element)):
                return
        put((_END, None))
    except BaseException as e:  # handed to the consumer, re-raised there
        put((_ERROR, e))


class _PrefetchIterator:
    """Iterates a dataset through a bounded queue filled by a daemon thread.

    The thread stops when the iteration ends, when ``close()`` is called, or when the
    iterator is garbage-collected (e.g. after ``break`` out of a ``for`` loop).
    """

    def __init__(self, source, buffer_size):
        self._queue = queue.Queue(maxsize=buffer_size)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=_prefetch_worker, args=(iter(source), self._queue, self._stop),
            name="shendu-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value
        self.close()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self):
        """Stop the worker thread and wait for it to finish."""
        self._done = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __del__(self):
        self._done = True
        self._stop.set()
