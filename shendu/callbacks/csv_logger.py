"""``CSVLogger``: stream each epoch's logs to a CSV file."""
import collections.abc
import csv
import os

import numpy as np

from .callback import Callback, check_state, decode_int


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes one row per epoch: ``epoch`` (0-based) then the logged values.

    The columns are fixed by the first epoch's logs (sorted), plus the
    ``val_*`` names the model reports in ``metrics_names``; a value missing
    from a later epoch is written as ``NA``.

    Args:
        filename: path of the CSV file, e.g. ``"run/log.csv"``.
        separator: the field separator.
        append: append to an existing file (no second header) instead of
            overwriting it.

    Example:
        >>> cb = CSVLogger("training.log")
        >>> # model.fit(x, y, callbacks=[cb])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, newline="") as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            self.append_header = True
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        dirname = os.path.dirname(self.filename)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            # With validation_freq > 1 the first epoch has no val_ values; keep
            # their columns anyway when the model says it will report them.
            for name in getattr(self.model, "metrics_names", None) or []:
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def get_state(self):
        """The length of the file: rows written after a checkpoint (an epoch whose
        backup an exception prevented) are cut off when ``fit`` resumes from it."""
        if self.csv_file is None or self.csv_file.closed:
            return None
        return {"size": self.csv_file.tell()}

    def set_state(self, state):
        check_state(state, ("size",), "CSVLogger")
        size = decode_int(state["size"], "CSVLogger size")
        # Only a file appended to holds the rows the checkpoint counted (a new file was
        # emptied by on_train_begin).
        if self.append and self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.flush()
            if size < os.path.getsize(self.filename):
                self.csv_file.truncate(size)

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
