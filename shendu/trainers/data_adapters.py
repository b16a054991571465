"""Turn what ``fit``/``evaluate``/``predict`` receive into batches.

Accepted: NumPy arrays (or lists/tuples/dicts of them, one per model input or
output), Tensors, Python generators yielding ``x``, ``(x, y)`` or ``(x, y,
sample_weight)``, ``shendu.utils.PyDataset`` sequences and ``shendu.data.Dataset``s.
Array data is checked once, up front, so a bad input fails before any step runs.
"""
import warnings

import numpy as np

from ..autograd.tensor import Tensor
from ..ops.random import as_generator


def _to_numpy(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if x and all(isinstance(v, (np.ndarray, Tensor)) for v in x):
            return [_to_numpy(v) for v in x]
        return np.asarray(x)
    return np.asarray(x)


def _arrays_of(part, label):
    try:
        return _to_numpy(part)
    except ValueError as err:  # ragged nested lists: NumPy's message names no argument
        raise ValueError(f"`{label}` cannot be made into an array (are its rows of different "
                         f"lengths?): {err}") from None


def flatten_arrays(x):
    if x is None:
        return []
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, list):
        return list(x)
    return [x]


def _take(x, idx):
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: v[idx] for k, v in x.items()}
    if isinstance(x, list):
        return [v[idx] for v in x]
    return x[idx]


def unpack(batch):
    """(x, y, sample_weight) from a batch that is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``.

    A list is read as a tuple (Keras 3 does so): ``[x, y]`` is ``(x, y)``.
    """
    if isinstance(batch, list):
        batch = tuple(batch)
    if batch is None or (isinstance(batch, tuple) and batch and batch[0] is None):
        raise ValueError("The data yielded a batch whose x is None; expected x, (x, y) or "
                         f"(x, y, sample_weight) with arrays. Received: {batch!r}")
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"A data batch must be x, (x, y) or (x, y, sample_weight); got a tuple of {len(batch)}")
    return batch, None, None


class ArrayAdapter:
    """Batches of in-memory arrays, reshuffled each epoch from shendu's generator."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x, self.y, self.sample_weight = (_arrays_of(x, "x"), _arrays_of(y, "y"),
                                              _arrays_of(sample_weight, "sample_weight"))
        sizes = {}
        for label, part in (("x", self.x), ("y", self.y), ("sample_weight", self.sample_weight)):
            for i, arr in enumerate(flatten_arrays(part)):
                if np.ndim(arr) == 0:
                    raise ValueError(f"{label} must have a batch dimension; received a scalar")
                sizes[f"{label}[{i}]" if len(flatten_arrays(part)) > 1 else label] = len(arr)
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise ValueError(f"Data cardinality is ambiguous: the arrays do not all have the same "
                             f"number of samples ({detail}). Make sure x and y have the same length.")
        self.num_samples = next(iter(sizes.values()), 0)
        if self.num_samples == 0:
            raise ValueError("The data is empty: x has 0 samples")
        from .checks import check_count
        self.batch_size = 32 if batch_size is None else check_count(batch_size, "batch_size")
        self.shuffle = shuffle
        full = -(-self.num_samples // self.batch_size)
        if steps is not None and check_count(steps, "steps") > full:
            # Arrays are never wrapped around: a second pass would repeat samples (predict
            # would return more rows than x has, evaluate would count samples twice).
            warn_ran_out(f"steps={steps} were asked of arrays that give {full} batch(es) of "
                         f"{self.batch_size} ({self.num_samples} samples); each pass stops after "
                         f"{full}")
            steps = full
        self.steps = steps

    @property
    def num_batches(self):
        full = -(-self.num_samples // self.batch_size)
        return full if self.steps is None else self.steps

    def epoch_order(self, batch_size=None):
        """The order of the samples for one epoch (drawn from shendu's generator), or None
        when not shuffling. ``shuffle='batch'`` keeps runs of ``batch_size`` together."""
        n, bs = self.num_samples, batch_size or self.batch_size
        if not self.shuffle:
            return None
        order = as_generator(None).permutation(n)
        if self.shuffle == "batch":  # shuffle batch order only, keep batches contiguous
            starts = as_generator(None).permutation(range(0, n, bs))
            order = np.concatenate([np.arange(s, min(s + bs, n)) for s in starts])
        return order

    def __iter__(self):
        n, bs = self.num_samples, self.batch_size
        order = self.epoch_order()
        for step in range(self.num_batches):
            lo = step * bs
            hi = min(lo + bs, n)
            idx = order[lo:hi] if order is not None else slice(lo, hi)
            yield _take(self.x, idx), _take(self.y, idx), _take(self.sample_weight, idx)


def warn_ran_out(detail):
    warnings.warn(f"Your input ran out of data: {detail}. Make sure that the data can give "
                  "`steps` (or `steps_per_epoch * epochs`) batches, e.g. with `.repeat()` on a "
                  "Dataset or a generator that loops.", UserWarning, stacklevel=4)


class IterableAdapter:
    """Batches from a generator, a PyDataset-like sequence or a shendu.data.Dataset.

    ``ran_out`` tells, after an epoch, whether the data ended before the ``steps`` asked
    (a one-shot generator then has nothing left for the next epoch).
    """

    def __init__(self, data, steps=None, shuffle=False):
        from .checks import check_count
        self.data, self.steps, self.shuffle = data, check_count(steps, "steps"), shuffle
        self.ran_out = False
        self._iterator = None
        self.is_sequence = hasattr(data, "__getitem__") and hasattr(data, "__len__") and \
            not isinstance(data, (np.ndarray, list, tuple, dict))

    @property
    def num_batches(self):
        if self.steps is not None:
            return self.steps
        if self.is_sequence:
            return len(self.data)
        try:
            return len(self.data)
        except TypeError:
            return None

    def __iter__(self):
        if self.is_sequence:
            order = np.arange(len(self.data))
            if self.shuffle:
                order = as_generator(None).permutation(order)
            self.ran_out = self.steps is not None and self.steps > len(order)
            for step, i in enumerate(order):
                if self.steps is not None and step >= self.steps:
                    break
                yield unpack(self.data[int(i)])
            if hasattr(self.data, "on_epoch_end"):
                self.data.on_epoch_end()
            return
        if hasattr(self.data, "__next__"):
            source = self.data  # a generator: epochs continue where the last one stopped
        else:
            source = iter(self.data)
        step = 0
        self.ran_out = False
        while self.steps is None or step < self.steps:
            try:
                batch = next(source)
            except StopIteration:
                self.ran_out = self.steps is not None or step == 0
                return
            yield unpack(batch)
            step += 1


def make_adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(
            x, (np.ndarray, list, tuple, dict, Tensor))):
        if y is not None:
            raise ValueError("When x is a generator, a Dataset or a PyDataset, y must be None: "
                             "the targets come from x")
        return IterableAdapter(x, steps=steps, shuffle=shuffle)
    return ArrayAdapter(x, y, sample_weight, batch_size, shuffle, steps)


def split_validation(x, y, sample_weight, validation_split):
    """Keras's rule: the LAST ``validation_split`` fraction of the data, before shuffling."""
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in (0, 1). Received: {validation_split}")
    x, y, sample_weight = _to_numpy(x), _to_numpy(y), _to_numpy(sample_weight)
    n = len(flatten_arrays(x)[0])
    cut = int(n * (1 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={validation_split} leaves an empty training or "
                         f"validation set for {n} samples")
    first, last = slice(0, cut), slice(cut, n)
    return ((_take(x, first), _take(y, first), _take(sample_weight, first)),
            (_take(x, last), _take(y, last), _take(sample_weight, last)))
