"""``Callback``: the base class whose hooks the training loop calls."""
import math
import numbers


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

    # ---- state a checkpoint keeps (``model.save`` during ``fit``) ----------------------------
    def get_state(self):
        """What a resumed ``fit`` needs to continue this callback exactly, as a dict of
        JSON values (arrays allowed as leaves: they are stored as tensors), or None for
        a callback without such state. ``model.save`` called during ``fit`` stores the
        state of every callback of that fit; resuming (``BackupAndRestore``, or
        ``load_model`` then ``fit(initial_epoch=model.saved_epoch)``) hands it back to
        ``set_state`` after ``on_train_begin``."""
        return None

    def set_state(self, state):
        """Restore what ``get_state`` returned. The dict comes from a file: check it."""

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


# ---- checked conversions for get_state / set_state ----------------------------------------------
def encode_float(value):
    """A JSON value for a float that may be None, inf or NaN (JSON has no inf)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else repr(value)  # 'inf', '-inf', 'nan'


def decode_float(value, what):
    if value is None:
        return None
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}: expected a number, received {str(value)[:80]!r}")
    return float(value)


def decode_int(value, what, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what}: expected an integer >= {minimum}, received {str(value)[:80]!r}")
    return value


def check_state(state, keys, who):
    """``state`` as a dict holding ``keys`` (raises ValueError naming ``who`` otherwise)."""
    if not isinstance(state, dict):
        raise ValueError(f"{who}.set_state expected a dict, received {type(state).__name__}")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(f"{who}.set_state: missing {missing}")
    return state
