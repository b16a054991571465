"""``PyDataset``: a Python object that serves batches by index (``keras.utils.PyDataset``)."""


class PyDataset:
    """Base class for datasets that produce one batch per index.

    Subclasses implement ``__len__`` (the number of batches per epoch) and
    ``__getitem__(idx)`` returning a batch ``(x, y)`` or ``(x, y, sample_weight)``;
    ``on_epoch_end`` runs after each epoch (e.g. to reshuffle). Call
    ``super().__init__(**kwargs)`` so the loading options are stored.

    Args:
        workers: number of workers the trainer may use to load batches.
        use_multiprocessing: use processes instead of threads for the workers.
        max_queue_size: the most batches kept ready ahead of the training loop.

    Example:
        >>> import numpy as np
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, idx):
        ...         s = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        ...         return self.x[s], self.y[s]
        >>> ds = Batches(np.zeros((10, 2)), np.zeros(10), batch_size=4)
        >>> len(ds), ds[2][0].shape
        (3, (2, 2))
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"PyDataset expected workers to be an integer >= 1; "
                             f"received workers={workers!r}")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int) \
                or max_queue_size < 1:
            raise ValueError("PyDataset expected max_queue_size to be an integer >= 1; "
                             f"received max_queue_size={max_queue_size!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    # The getattr defaults cover subclasses that forget super().__init__().
    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at ``index``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) "
                                  "returning a batch")

    @property
    def num_batches(self):
        """Batches per epoch from ``__len__``; override to return None for an
        endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__, or override "
                                  "num_batches (returning None for an endless dataset)")

    def __iter__(self):
        n = self.num_batches
        index = 0
        while n is None or index < n:
            yield self[index]
            index += 1

    def on_epoch_begin(self):
        """Called before each epoch."""

    def on_epoch_end(self):
        """Called after each epoch; e.g. reshuffle here."""


Sequence = PyDataset
