"""``ProgbarLogger``: prints the progress bar and metrics during fit/evaluate/predict."""
from .. import config as _config
from ..utils.progbar import Progbar
from .callback import Callback


class ProgbarLogger(Callback):
    """Prints ``Epoch i/n`` and a :class:`~shendu.utils.Progbar` per epoch.

    ``CallbackList(add_progbar=True)`` adds one; it reads ``verbose``,
    ``epochs`` and ``steps`` from the params. Batch logs are shown as given:
    the trainer passes running averages since the start of the epoch (as
    Keras 3 does), so the bar does not average them again. Validation runs
    inside ``fit`` stay silent; their ``val_*`` values appear on the epoch line.
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        # The same instance may be passed to a later evaluate() or predict().
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        if self.verbose and self.epochs > 1:
            _config.print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        # Batch predictions are not metrics.
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(None)

    def _reset_progbar(self):
        # Started here, not at the first batch end, so the clock includes step one.
        self.seen = 0
        self.progbar = None
        self._get_progbar()

    def _get_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")
            # Every logged value is already an epoch-level running average.
            self.progbar.stateful_metrics = _AllNames()
        return self.progbar

    def _update_progbar(self, batch, logs):
        progbar = self._get_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        progbar = self._get_progbar()
        if self.target is None:
            # Unknown length (a generator): the epoch's length is now known.
            progbar.target = self.seen
        target = self.target if self.target is not None else self.seen
        progbar.update(target, list((logs or {}).items()), finalize=True)


class _AllNames:
    """A set that contains every name."""

    def __contains__(self, name):
        return True
