"""``BackupAndRestore``: an interrupted ``fit`` continues from its last backup when the
same script is run again."""
import os

from .callback import Callback, check_state, decode_int


class BackupAndRestore(Callback):
    """Backs up the whole training state during ``fit``; the next ``fit`` with a backup in
    ``backup_dir`` resumes from it instead of starting over.

    The backup is a full checkpoint (``model.save``): weights, optimizer slots and
    iterations (so the learning-rate schedule continues), every random generator, the
    epoch and the step within it, the epoch's running metrics and the state of the fit's
    other callbacks (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, History). A
    resumed run replays the interrupted epoch's shuffled order and skips the steps it had
    done, so with the same seed and script it ends bit for bit where an uninterrupted run
    would (see ``shendu.config.enable_determinism`` for what that assumes). Writes are
    atomic: a crash while saving leaves the previous backup.

    Args:
        backup_dir: folder for the backup (``backup_dir/latest.shendu``); created if needed.
            Use one folder per training job.
        save_freq: ``"epoch"`` (back up at the end of every epoch) or an int: every that
            many training steps (counted across epochs).
        delete_checkpoint: delete the backup when ``fit`` finishes normally (also when
            EarlyStopping ends it). A fit ended by an exception (in a callback, the data,
            a step) keeps the last backup, as a killed process does; an interrupted fit
            (Ctrl-C) keeps it too, first writing a backup of the step it stopped at.

    The resumed ``fit`` returns the History of the whole run, the epochs before the
    backup included (``history.epoch == [0, 1, ...]``); Keras's holds only the epochs that
    this call ran.

    Example:
        >>> cb = BackupAndRestore("/tmp/backup", save_freq=100)
        >>> # model.fit(x, y, epochs=10, callbacks=[cb])   # rerun after a crash: resumes
    """

    _saves_checkpoints = True  # CallbackList runs it after the callbacks whose state it saves

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path; received "
                             f"{backup_dir!r}")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError("BackupAndRestore expected save_freq='epoch' or a positive integer; "
                             f"received save_freq={save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.filepath = os.path.join(self.backup_dir, "latest.shendu")
        self._batches_since_save = 0

    def on_train_begin(self, logs=None):
        self._batches_since_save = 0
        if os.path.exists(self.filepath):
            from ..saving.saving_lib import restore_checkpoint
            resume = restore_checkpoint(self.model, self.filepath)
            resume["from_backup"] = True  # fit resumes at its epoch and step

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._backup()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup()

    def on_train_end(self, logs=None):
        if getattr(self.model, "_fit_interrupted", False):
            self._backup()  # Ctrl-C: keep the exact point it stopped at
        elif self.delete_checkpoint and os.path.exists(self.filepath):
            os.remove(self.filepath)

    def _backup(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model.save(self.filepath)

    def get_state(self):
        return {"batches_since_save": self._batches_since_save}

    def set_state(self, state):
        check_state(state, ("batches_since_save",), "BackupAndRestore")
        self._batches_since_save = decode_int(state["batches_since_save"],
                                              "BackupAndRestore batches_since_save")
