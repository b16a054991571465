"""``ReduceLROnPlateau``: lower the learning rate when a metric stops improving."""
import warnings

import numpy as np

from .callback import Callback, check_state, decode_float, decode_int, encode_float
from .monitor_callback import check_mode, infer_direction


class ReduceLROnPlateau(Callback):
    """Multiplies ``model.optimizer.learning_rate`` by ``factor`` after
    ``patience`` epochs without improvement of ``monitor``.

    Args:
        monitor: log key to watch.
        factor: ``new_lr = lr * factor``; must be below 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line on each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` falls back to
            ``"min"`` when the name does not tell.
        min_delta: an improvement must beat the best by more than this.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate never goes below this.

    The learning rate used during the epoch is added to its logs as
    ``learning_rate`` (a reduction takes effect from the next epoch).

    Example:
        >>> cb = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=1e-3)
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = check_mode("ReduceLROnPlateau", mode)
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.monitor_op = None
        self._reset()

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0
        self.monitor_op = None
        self.best = None

    def _set_monitor_op(self):
        direction = self.mode
        if direction == "auto":
            direction = infer_direction(self.monitor, self.model) or "min"
        if direction == "min":
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -np.inf

    def on_train_begin(self, logs=None):
        self._reset()

    def get_state(self):
        """Best value, wait and cooldown counters (the rate itself is the optimizer's)."""
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter,
                "best": encode_float(self.best)}

    def set_state(self, state):
        check_state(state, ("wait", "cooldown_counter", "best"), "ReduceLROnPlateau")
        wait = decode_int(state["wait"], "ReduceLROnPlateau wait")
        cooldown = decode_int(state["cooldown_counter"], "ReduceLROnPlateau cooldown_counter")
        best = decode_float(state["best"], "ReduceLROnPlateau best")
        if self.monitor_op is None:
            self._set_monitor_op()  # it also resets `best`: restore after it
        self.wait, self.cooldown_counter = wait, cooldown
        if best is not None:
            self.best = best

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        lr = _get_lr(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics are: "
                          f"{','.join(logs)}", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                # Compare in float32: the optimizer may store the rate in float32, and
                # min_lr=1e-4 must not be "above" its float32 rounding forever.
                if np.float32(lr) > np.float32(self.min_lr):
                    new_lr = max(lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _get_lr(model, who):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who} expected the model's optimizer to have a `learning_rate` "
                         f"attribute; received optimizer={optimizer!r}")
    return float(np.asarray(optimizer.learning_rate))
