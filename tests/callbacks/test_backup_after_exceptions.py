"""BackupAndRestore resumes after a Python exception, wherever it was raised (a callback
hook, the data pipeline, mid-epoch or at an epoch boundary): the resumed run ends with the
weights, optimizer state, History and epoch numbering of an uninterrupted run, bit for
bit. (tests/saving/test_resume.py does the same for a killed process.)"""
import importlib.util
import os

import numpy as np
import pytest

import shendu as keras
from shendu.callbacks import BackupAndRestore

_spec = importlib.util.spec_from_file_location(
    "_resume_helpers", os.path.join(os.path.dirname(__file__), "..", "saving", "test_resume.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
_data, _model = _helpers._data, _helpers._model  # Adam with a schedule, two kinds of dropout

EPOCHS, BATCH = 4, 8  # 40 samples, validation_split=0.2: 4 steps an epoch


class Crash(Exception):
    pass


class _Raise(keras.callbacks.Callback):
    """Raises Crash from one hook at one (epoch, step); records the epochs it saw begin."""

    def __init__(self, hook=None, epoch=None, step=None):
        super().__init__()
        self.hook, self.at, self.epoch, self.began = hook, (epoch, step), None, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.began.append(epoch)
        if self.hook == "on_epoch_begin" and epoch == self.at[0]:
            raise Crash(self.hook)

    def on_train_batch_end(self, batch, logs=None):
        if self.hook == "on_train_batch_end" and (self.epoch, batch) == self.at:
            raise Crash(self.hook)

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "on_epoch_end" and epoch == self.at[0]:
            raise Crash(self.hook)


class _Batches(keras.utils.PyDataset):
    """The training data as an indexable sequence, raising Crash on its ``fail_at``-th read."""

    def __init__(self, x, y, fail_at=None):
        super().__init__()
        self.x, self.y, self.fail_at, self.reads = x, y, fail_at, 0

    def __len__(self):
        return len(self.x) // BATCH

    def __getitem__(self, i):
        self.reads += 1
        if self.reads == self.fail_at:
            raise Crash("PyDataset")
        return self.x[i * BATCH:(i + 1) * BATCH], self.y[i * BATCH:(i + 1) * BATCH]


def _generator(x, y, fail_at=None):
    """A Python generator cycling through the batches (a fresh one restarts at batch 0)."""
    step = 0
    while True:
        for i in range(0, len(x), BATCH):
            step += 1
            if step == fail_at:
                raise Crash("generator")
            yield x[i:i + BATCH], y[i:i + BATCH]


def _fit(model, source, callbacks, fail_at=None):
    x, y = _data()
    kwargs = dict(epochs=EPOCHS, verbose=0, callbacks=callbacks)
    if source == "arrays":
        return model.fit(x, y, batch_size=BATCH, shuffle=True, validation_split=0.2, **kwargs)
    val = (x[32:], y[32:])
    if source == "pydataset":
        return model.fit(_Batches(x[:32], y[:32], fail_at), shuffle=True, validation_data=val,
                         **kwargs)
    return model.fit(_generator(x[:32], y[:32], fail_at), steps_per_epoch=4,
                     validation_data=val, **kwargs)


def _outcome(model, history, probe):
    return {"weights": model.get_weights(), "optimizer": model.optimizer.get_state(),
            "epoch": list(history.epoch), "history": history.history, "began": probe.began}


def _assert_same(a, b):
    assert a["epoch"] == b["epoch"] == list(range(EPOCHS))
    assert a["history"] == b["history"]  # every epoch's logs, the interrupted one included
    assert len(a["weights"]) == len(b["weights"])
    assert all(np.array_equal(p, q) for p, q in zip(a["weights"], b["weights"]))
    assert a["optimizer"].keys() == b["optimizer"].keys()
    assert all(np.array_equal(a["optimizer"][k], b["optimizer"][k]) for k in a["optimizer"])


@pytest.fixture
def deterministic():
    keras.config.enable_determinism()
    yield
    keras.config.disable_determinism()


def _uninterrupted(tmp_path, source, save_freq):
    model, probe = _model(), _Raise()
    history = _fit(model, source, [probe, BackupAndRestore(tmp_path / "full", save_freq)])
    assert not (tmp_path / "full" / "latest.shendu").exists()  # deleted after a normal end
    return _outcome(model, history, probe)


CASES = [  # (data, save_freq, where it raises, epochs the resumed run begins)
    ("arrays", "epoch", ("on_epoch_begin", 2, None), [2, 3]),   # the issue's snippet
    ("arrays", "epoch", ("on_train_batch_end", 2, 1), [2, 3]),  # mid-epoch
    ("arrays", 3, ("on_train_batch_end", 2, 1), [2, 3]),        # mid-epoch, backup mid-epoch
    ("arrays", "epoch", ("on_epoch_end", 1, None), [1, 2, 3]),  # at the boundary, before backup
    ("arrays", 5, ("on_epoch_begin", 3, None), [2, 3]),         # backup at step 1 of epoch 2
    ("pydataset", "epoch", ("data", 11, None), [2, 3]),         # the 11th read: epoch 2, step 2
    ("pydataset", 3, ("data", 11, None), [2, 3]),
    ("generator", "epoch", ("data", 11, None), [2, 3]),
    ("generator", 3, ("data", 7, None), [1, 2, 3]),
]


@pytest.mark.parametrize("source,save_freq,crash,resumed_epochs", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2][0]}" for c in CASES])
def test_backup_and_restore_resumes_after_an_exception(tmp_path, deterministic, source,
                                                       save_freq, crash, resumed_epochs):
    full = _uninterrupted(tmp_path, source, save_freq)
    hook, epoch, step = crash
    backup = tmp_path / "backup"
    model = _model()
    callbacks = [BackupAndRestore(backup, save_freq)]
    if hook == "data":
        with pytest.raises(Crash):
            _fit(model, source, callbacks, fail_at=epoch)
    else:
        with pytest.raises(Crash, match=hook):
            _fit(model, source, callbacks + [_Raise(hook, epoch, step)])
    assert (backup / "latest.shendu").exists()  # an exception is not a normal end
    # the same script run again: a fresh model, the same callbacks, data that does not fail
    again, probe = _model(), _Raise()
    history = _fit(again, source, [probe, BackupAndRestore(backup, save_freq)])
    assert probe.began == resumed_epochs
    _assert_same(_outcome(again, history, probe), full)
    assert not (backup / "latest.shendu").exists()


def test_issue_snippet_and_resuming_on_the_crashed_model_itself(tmp_path, deterministic):
    full = _uninterrupted(tmp_path, "arrays", "epoch")
    model = _model()
    with pytest.raises(Crash):
        _fit(model, "arrays", [BackupAndRestore(tmp_path / "b"), _Raise("on_epoch_begin", 3)])
    # the script catches the exception and calls fit again on the same model
    probe = _Raise()
    history = _fit(model, "arrays", [BackupAndRestore(tmp_path / "b"), probe])
    assert probe.began == [3]
    assert int(model.optimizer.iterations) == 4 * EPOCHS
    _assert_same(_outcome(model, history, probe), full)


def test_a_model_without_input_shape_resumes(tmp_path, deterministic):
    # fit builds the model before BackupAndRestore restores the weights into it
    x, y = _data()

    def make():
        keras.utils.set_random_seed(3)
        m = keras.Sequential([keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    full = make()
    full.fit(x, y, epochs=4, batch_size=8, verbose=0)
    with pytest.raises(Crash):
        make().fit(x, y, epochs=4, batch_size=8, verbose=0,
                   callbacks=[BackupAndRestore(tmp_path / "b"), _Raise("on_epoch_begin", 2)])
    again, probe = make(), _Raise()
    history = again.fit(x, y, epochs=4, batch_size=8, verbose=0,
                        callbacks=[BackupAndRestore(tmp_path / "b"), probe])
    assert probe.began == [2, 3] and history.epoch == [0, 1, 2, 3]
    assert all(np.array_equal(a, b) for a, b in zip(full.get_weights(), again.get_weights()))


def test_other_callbacks_after_an_exception(tmp_path, deterministic):
    """What each callback leaves when fit ends by an exception (as Keras: on_train_end does
    not run), and that a resumed run completes their files."""
    x, y = _data()
    csv = tmp_path / "log.csv"

    def callbacks():
        return [keras.callbacks.CSVLogger(csv, append=True),
                keras.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}.keras")),
                keras.callbacks.EarlyStopping(monitor="loss", patience=50,
                                              restore_best_weights=True),
                BackupAndRestore(tmp_path / "b")]

    ended = []
    end = keras.callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with pytest.raises(Crash):
        _model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                     callbacks=callbacks() + [end, _Raise("on_train_batch_end", 2, 1)])
    assert not ended  # on_train_end is for a normal end only
    rows = csv.read_text().splitlines()
    assert rows[0].startswith("epoch,") and [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    assert sorted(os.listdir(tmp_path)) == ["b", "ck-1.keras", "ck-2.keras", "log.csv"]
    again = _model()
    history = again.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=callbacks())
    assert history.epoch == [0, 1, 2, 3]
    rows = csv.read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3"]  # one header, each epoch once
    assert sorted(os.listdir(tmp_path)) == ["b", "ck-1.keras", "ck-2.keras", "ck-3.keras",
                                            "ck-4.keras", "log.csv"]
    assert not (tmp_path / "b" / "latest.shendu").exists()


def test_csv_rows_written_after_the_last_backup_are_not_repeated(tmp_path, deterministic):
    # The exception comes after CSVLogger wrote epoch 1's row and before that epoch's
    # backup: the resumed run trains epoch 1 again, and writes its row once.
    x, y = _data()
    csv = tmp_path / "log.csv"

    def fit(extra):
        return _model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[
            keras.callbacks.CSVLogger(csv, append=True), *extra, BackupAndRestore(tmp_path / "b")])

    full = fit([])
    full_rows = csv.read_text()
    csv.unlink()
    with pytest.raises(Crash):
        fit([_Raise("on_epoch_end", 1)])
    assert [r.split(",")[0] for r in csv.read_text().splitlines()[1:]] == ["0", "1"]
    again = fit([])
    assert csv.read_text() == full_rows  # the same rows and values as the uninterrupted run
    assert again.history == full.history
