"""``EarlyStopping``: stop ``fit`` when a monitored quantity stops improving."""
import numpy as np

from .callback import check_state, decode_float, decode_int, encode_float
from .monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs.

    At the end of each epoch the monitored value is compared with the best so
    far; after ``patience`` epochs without an improvement larger than
    ``min_delta`` it sets ``model.stop_training = True``, which the trainer
    checks after the epoch.

    Args:
        monitor: log key to watch. Defaults to ``"val_loss"``.
        min_delta: smallest absolute change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when stopping or restoring weights.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: if given, training stops unless the monitored value beats it
            within ``patience`` epochs (the wait only resets on epochs that beat
            both the baseline and the best so far).
        restore_best_weights: at the end of training, restore the weights
            (``model.set_weights``) of the best epoch, as saved with
            ``model.get_weights``.
        start_from_epoch: epochs of warm-up before monitoring begins.

    Attributes:
        stopped_epoch: the epoch at which training stopped (0 if it did not).
        best_epoch: the epoch with the best value.
        best: the best value seen.

    Example:
        >>> cb = EarlyStopping(monitor="loss", patience=2)
        >>> # model.fit(x, y, epochs=100, callbacks=[cb])
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor=monitor, mode=mode, baseline=None, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # Reset so one instance can serve several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.best = None
        self.monitor_op = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitor_value(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Something must be restorable even if no epoch ever improves.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_state(self):
        """Best value and epoch, wait counter, stopped epoch, and the best weights
        (when ``restore_best_weights``) as arrays."""
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_epoch": self.best_epoch, "best": encode_float(self.best),
                "best_weights": None if self.best_weights is None else list(self.best_weights)}

    def set_state(self, state):
        check_state(state, ("wait", "stopped_epoch", "best_epoch", "best"), "EarlyStopping")
        self.wait = decode_int(state["wait"], "EarlyStopping wait")
        self.stopped_epoch = decode_int(state["stopped_epoch"], "EarlyStopping stopped_epoch")
        self.best_epoch = decode_int(state["best_epoch"], "EarlyStopping best_epoch")
        self.best = decode_float(state["best"], "EarlyStopping best")
        weights = state.get("best_weights")
        if weights is not None:
            if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) for w in weights):
                raise ValueError("EarlyStopping.set_state: best_weights must be a list of arrays")
            self.best_weights = [np.array(w) for w in weights]

    def get_monitor_value(self, logs):
        """``logs[monitor]``, warning (and returning None) when it is missing."""
        return self._monitor_value(logs, "Early stopping")
