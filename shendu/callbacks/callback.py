"""``Callback``: the base class whose hooks the training loop calls."""


class Callback:
    """Base class for objects that hook into ``fit``, ``evaluate`` and ``predict``.

    Subclasses override the hooks they need; every hook is a no-op here. The
    trainer calls them through a :class:`~shendu.callbacks.CallbackList`, which
    also hands each callback the model (``set_model``) and the run's parameters
    (``set_params``: ``verbose``, ``epochs``, ``steps``).

    Attributes:
        model: the model being trained, evaluated or run.
        params: dict of run parameters (``verbose``, ``epochs``, ``steps``).

    Example:
        >>> class Count(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: loss={logs['loss']}")
        >>> Count().on_epoch_end(0, {"loss": 0.5})
        epoch 0: loss=0.5
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    # Legacy names: Keras still routes training-batch hooks through them, so
    # callbacks written against the old API (``on_batch_end``) keep working.
    def on_batch_begin(self, batch, logs=None):
        """Called at the start of a training batch (legacy name)."""

    def on_batch_end(self, batch, logs=None):
        """Called at the end of a training batch (legacy name)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based) during ``fit``."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; ``logs`` holds the epoch's metric values,
        with validation ones prefixed ``val_``."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the start of training batch ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch; ``logs`` holds the running averages."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the start of an ``evaluate`` (or validation) batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of an ``evaluate`` (or validation) batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the start of a ``predict`` batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a ``predict`` batch; ``logs`` may hold ``outputs``."""

    def on_train_begin(self, logs=None):
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called once at the end of ``fit``."""

    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate`` (and of each validation pass)."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate`` (and of each validation pass)."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""
