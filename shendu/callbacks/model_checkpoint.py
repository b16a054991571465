"""``ModelCheckpoint``: save the model or its weights during training."""
import os
import string
import warnings

import numpy as np

from .callback import check_state, decode_float, decode_int, encode_float
from .monitor_callback import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``)
    every epoch or every ``save_freq`` batches.

    ``filepath`` may hold format fields filled from ``epoch`` (1-based),
    ``batch`` (1-based, batch-level saving only) and the logs, e.g.
    ``"ckpt/w.{epoch:02d}-{val_loss:.2f}.weights.h5"``. Missing directories are
    created; writing the file atomically is the model's job.

    A full checkpoint (``save_weights_only=False``) written during ``fit`` holds the
    training state too: optimizer, random generators, the epoch and the step within
    it, and the other callbacks' state (it runs after them), so
    ``load_model(path)`` then ``fit(..., initial_epoch=model.saved_epoch)`` continues
    the run exactly, mid-epoch included.

    Args:
        filepath: where to save; must end in ``.weights.h5`` when
            ``save_weights_only`` and in ``.keras`` (or ``.h5``) otherwise.
        monitor: log key compared when ``save_best_only``.
        verbose: 1 prints a line for each save decision.
        save_best_only: save only when ``monitor`` improves on the best so far.
        save_weights_only: save only the weights.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"``, or an int: save every that many batches.
        initial_value_threshold: starting "best" value for ``save_best_only``.

    Raises:
        ValueError: for a bad ``save_freq`` or a file extension that does not
            match ``save_weights_only``.
    """

    _saves_checkpoints = True  # CallbackList runs it after the callbacks whose state it saves

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError("ModelCheckpoint expected save_freq='epoch' or a positive integer; "
                             f"received save_freq={save_freq!r}")
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using save_weights_only=True in ModelCheckpoint, the filepath "
                             "must end in `.weights.h5`. Received: "
                             f"filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("ModelCheckpoint saving the whole model expected a filepath "
                             f"ending in `.keras`. Received: filepath={self.filepath}")
        self._current_epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def get_state(self):
        """The best value so far and the batches counted since the last save."""
        return {"best": encode_float(self.best), "batches_since_save": self._batches_since_save}

    def set_state(self, state):
        check_state(state, ("best", "batches_since_save"), "ModelCheckpoint")
        best = decode_float(state["best"], "ModelCheckpoint best")
        self._batches_since_save = decode_int(state["batches_since_save"],
                                              "ModelCheckpoint batches_since_save")
        self.best = best

    def on_train_begin(self, logs=None):
        self._check_directory()
        self._keys_checked = False

    def _check_directory(self):
        """The folder of ``filepath`` (up to its first format field) must be one that can
        be made: checked now, not when the first epoch has trained and must be saved."""
        static = self.filepath.split("{", 1)[0]
        folder = os.path.dirname(os.path.abspath(static if "{" not in self.filepath
                                                 else static + "x"))
        existing = folder
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise ValueError(f"ModelCheckpoint cannot save into {folder}: {existing} is a file, "
                             f"not a directory. Received: filepath={self.filepath}")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"ModelCheckpoint cannot save into {folder}: {existing} is not "
                             f"writable. Received: filepath={self.filepath}")

    def _check_format_keys(self, logs):
        """Every ``{field}`` of ``filepath`` must be one the logs will have: after the first
        batch the training keys are known (validation ones are ``val_`` + a training key)."""
        self._keys_checked = True
        known = set(logs or {}) | {f"val_{k}" for k in (logs or {})} | {"epoch", "batch"}
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.filepath) if f]
        except ValueError as err:
            raise ValueError(f"ModelCheckpoint filepath is not a valid format string ({err}). "
                             f"Received: filepath={self.filepath}") from None
        unknown = sorted({f.split(".")[0].split("[")[0] for f in fields} - known)
        if unknown:
            raise ValueError(f"ModelCheckpoint filepath has format key(s) {unknown} that no "
                             f"epoch will log; known keys: {sorted(known)}. "
                             f"Received: filepath={self.filepath}")

    def on_train_batch_end(self, batch, logs=None):
        if logs and not getattr(self, "_keys_checked", True):
            self._check_format_keys(logs)
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _set_monitor_op(self):
        try:
            super()._set_monitor_op()
        except ValueError:
            if self.save_best_only:
                raise
            # Without save_best_only the direction is never used.
            self.monitor_op = np.less

    def _get_file_path(self, epoch, batch, logs):
        logs = dict(logs or {})
        fields = {**logs, "epoch": epoch + 1}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}; available keys: {sorted(fields)}") from e

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available; "
                          f"available keys: {','.join(logs or {})}", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError("ModelCheckpoint expected a file path, but the filepath "
                                    f"is an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
