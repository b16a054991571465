"""Resuming fit exactly: BackupAndRestore after a crash mid-epoch, callback state in
checkpoints, ModelCheckpoint every N steps, and Ctrl-C during fit."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import shendu as keras
from shendu.trainers.resume import StopOnInterrupt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n)


def _model(lr=0.01, schedule=True):
    """The script's model, in this process: Adam (with a schedule), dropout of both kinds."""
    keras.utils.set_random_seed(42)
    model = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(6,)),
        keras.layers.Dropout(0.3),                # draws from the global generator
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dropout(0.25, seed=7),       # its own generator
        keras.layers.Dense(3, activation="softmax")])
    opt = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(
        lr, decay_steps=3, decay_rate=0.8) if schedule else lr)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(p, q) for p, q in zip(wa, wb))


# ---- BackupAndRestore: a process killed mid-epoch, then the same script run again ----------------
SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import shendu as keras
    crash_at, backup, save_freq, out = sys.argv[1:5]
    crash_epoch, crash_step = map(int, crash_at.split(","))
    keras.config.enable_determinism()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40)
    keras.utils.set_random_seed(42)
    model = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(6,)),
        keras.layers.Dropout(0.3), keras.layers.Dense(8, activation="relu"),
        keras.layers.Dropout(0.25, seed=7), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(
                      keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.8)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (crash_epoch, crash_step):
                os._exit(17)   # no clean-up at all, as a killed process

    freq = save_freq if save_freq == "epoch" else int(save_freq)
    history = model.fit(x, y, epochs=4, batch_size=8, shuffle=True, verbose=0,
                        validation_split=0.2,
                        callbacks=[Crash(), keras.callbacks.BackupAndRestore(backup, save_freq=freq)])
    np.savez(out + ".npz", *model.get_weights(), *model.optimizer.get_state().values())
    with open(out + ".json", "w") as f:
        json.dump({"epoch": history.epoch, "history": history.history}, f)
""")


def _run(tmp_path, *args, expect=0):
    (tmp_path / "resume_script.py").write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(tmp_path / "resume_script.py"), *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == expect, proc.stderr[-3000:]


@pytest.mark.parametrize("save_freq,crash_at", [(3, "2,2"), ("epoch", "2,1")])
def test_backup_and_restore_after_a_crash_mid_epoch_is_bitwise_identical(tmp_path, save_freq,
                                                                          crash_at):
    # 32 training samples, batch 8: 4 steps an epoch. save_freq=3 backs up after global steps
    # 3, 6, 9: the crash after step 3 of epoch 2 (global step 11) resumes at epoch 2, step 1;
    # with 'epoch' it resumes at the start of epoch 2.
    backup = tmp_path / "backup"
    _run(tmp_path, "-1,-1", tmp_path / "full_backup", save_freq, tmp_path / "full")
    _run(tmp_path, crash_at, backup, save_freq, tmp_path / "resumed", expect=17)
    assert (backup / "latest.shendu").exists()
    ckpt = keras.models.load_model(backup / "latest.shendu")
    assert (ckpt.saved_epoch, ckpt._resume["step"]) == ((2, 1) if save_freq == 3 else (2, 0))
    _run(tmp_path, crash_at.replace("2,", "9,"), backup, save_freq, tmp_path / "resumed")
    full, resumed = np.load(tmp_path / "full.npz"), np.load(tmp_path / "resumed.npz")
    assert full.files == resumed.files
    assert all(np.array_equal(full[k], resumed[k]) for k in full.files)  # weights and Adam
    # the whole History, including the running metrics of the interrupted epoch
    assert (tmp_path / "full.json").read_text() == (tmp_path / "resumed.json").read_text()
    assert not (backup / "latest.shendu").exists()  # delete_checkpoint=True after success
    assert not (tmp_path / "full_backup" / "latest.shendu").exists()


# ---- EarlyStopping / ReduceLROnPlateau state in checkpoints ---------------------------------------
class _Stop(Exception):
    pass


class _CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise _Stop  # the backup of the previous epoch is on disk


class _Probe(keras.callbacks.Callback):
    def __init__(self, es, rl):
        super().__init__()
        self.es, self.rl, self.seen = es, rl, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((self.es.wait, self.rl.wait, self.rl.cooldown_counter))


def _plateau_fit(callbacks):
    x, y = _data(48, seed=1)
    model = _model(lr=0.05, schedule=False)  # ReduceLROnPlateau sets the rate
    es = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.01, patience=3,
                                       restore_best_weights=True)
    rl = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1)
    probe = _Probe(es, rl)
    try:
        history = model.fit(x, y, epochs=30, batch_size=8, shuffle=True, verbose=0,
                            validation_split=0.25, callbacks=[es, rl, probe, *callbacks])
    except _Stop:
        return model, None, es, probe
    return model, history, es, probe


def test_early_stopping_and_reduce_lr_state_survive_resume(tmp_path):
    full, h_full, es_full, probe = _plateau_fit([])
    assert 0 < es_full.stopped_epoch < 29  # it did stop early
    # crash right after an epoch where both callbacks were counting (their state matters)
    crash = next(e + 1 for e, (w, rw, cd) in enumerate(probe.seen) if w > 0 and (rw > 0 or cd > 0))
    backup = keras.callbacks.BackupAndRestore(tmp_path / "b")
    _, none, _, _ = _plateau_fit([backup, _CrashAtEpoch(crash)])
    assert none is None
    saved = keras.models.load_model(tmp_path / "b" / "latest.shendu")._resume["callbacks"]
    assert saved["EarlyStopping"]["wait"] == probe.seen[crash - 1][0] > 0
    assert (saved["ReduceLROnPlateau"]["wait"], saved["ReduceLROnPlateau"]["cooldown_counter"]) \
        == probe.seen[crash - 1][1:]
    assert len(saved["EarlyStopping"]["best_weights"]) == len(full.get_weights())
    resumed, h_res, es_res, probe_res = _plateau_fit([keras.callbacks.BackupAndRestore(tmp_path / "b")])
    assert es_res.stopped_epoch == es_full.stopped_epoch
    assert es_res.best_epoch == es_full.best_epoch
    assert probe_res.seen == probe.seen[crash:]
    assert h_res.history == h_full.history and h_res.epoch == h_full.epoch
    assert _same_weights(full, resumed)  # the restored best weights, bitwise
    assert resumed.optimizer.learning_rate == full.optimizer.learning_rate


def test_callback_state_round_trip_and_checks():
    es = keras.callbacks.EarlyStopping(patience=2)
    es.wait, es.best, es.best_epoch = 1, float("inf"), 3
    other = keras.callbacks.EarlyStopping(patience=2)
    other.set_state(es.get_state())
    assert (other.wait, other.best, other.best_epoch) == (1, float("inf"), 3)
    with pytest.raises(ValueError, match="wait"):
        other.set_state({**es.get_state(), "wait": "1; import os"})
    with pytest.raises(ValueError, match="missing"):
        keras.callbacks.ReduceLROnPlateau().set_state({"wait": 0})


# ---- ModelCheckpoint every N steps, and resuming from one of those files --------------------------
def test_model_checkpoint_every_n_steps_writes_at_the_right_steps(tmp_path):
    x, y = _data()
    keras.config.enable_determinism()
    try:
        full = _model()
        ck = keras.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}-{batch}.keras"),
                                             save_freq=3)
        full.fit(x, y, epochs=3, batch_size=8, shuffle=True, verbose=0, callbacks=[ck])
        # 5 steps an epoch (40 samples, batch 8), 15 steps: saves after global steps 3, 6, ...
        names = sorted(os.listdir(tmp_path))
        assert names == sorted(["ck-1-3.keras", "ck-2-1.keras", "ck-2-4.keras", "ck-3-2.keras",
                                "ck-3-5.keras"])
        last = keras.models.load_model(tmp_path / "ck-3-5.keras")
        assert (last.saved_epoch, last._resume["step"]) == (2, 5)
        mid = keras.models.load_model(tmp_path / "ck-2-1.keras")  # (sets the global generator)
        assert (mid.saved_epoch, mid._resume["step"]) == (1, 1)
        assert int(mid.optimizer.iterations.data) == 6
        # a mid-epoch file continues the run exactly: load_model, then fit from its epoch
        with pytest.warns(UserWarning, match="ModelCheckpoint"):  # its state has no taker
            mid.fit(x, y, epochs=3, initial_epoch=mid.saved_epoch, batch_size=8, shuffle=True,
                    verbose=0)
        assert _same_weights(full, mid)
        assert int(mid.optimizer.iterations.data) == 15
    finally:
        keras.config.disable_determinism()


# ---- Ctrl-C ---------------------------------------------------------------------------------------
class _SigintAt(keras.callbacks.Callback):
    def __init__(self, epoch, step):
        super().__init__()
        self.at, self.ended, self.epoch = (epoch, step), False, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGINT)  # as a Ctrl-C in the terminal

    def on_train_end(self, logs=None):
        self.ended = True


@pytest.fixture
def default_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_after_the_step_and_returns_partial_history(tmp_path, capsys, default_sigint):
    x, y = _data()
    model = _model()
    cb = _SigintAt(2, 1)
    history = model.fit(x, y, epochs=5, batch_size=8, shuffle=True, verbose=0, callbacks=[cb])
    assert cb.ended  # on_train_end ran
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2
    assert int(model.optimizer.iterations.data) == 2 * 5 + 2  # stopped right after that step
    assert "Training interrupted" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler put back


def test_ctrl_c_with_backup_resumes_exactly(tmp_path, default_sigint):
    x, y = _data()
    full = _model()
    full.fit(x, y, epochs=3, batch_size=8, shuffle=True, verbose=0)
    model = _model()
    model.fit(x, y, epochs=3, batch_size=8, shuffle=True, verbose=0,
              callbacks=[_SigintAt(1, 2), keras.callbacks.BackupAndRestore(tmp_path / "b")])
    assert (tmp_path / "b" / "latest.shendu").exists()  # kept, at the step it stopped
    again = _model()
    again.fit(x, y, epochs=3, batch_size=8, shuffle=True, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "b")])
    assert _same_weights(full, again)
    assert not (tmp_path / "b" / "latest.shendu").exists()


def test_second_ctrl_c_raises_at_once(default_sigint):
    with StopOnInterrupt() as interrupt:
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupt.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # let the handler run
                pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_to_a_training_subprocess_returns_partial_history(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        import numpy as np
        import shendu as keras
        x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
        y = (x[:, 0] > 0).astype("int64")
        model = keras.Sequential([keras.layers.Dense(2, activation="softmax", input_shape=(6,))])
        model.compile("sgd", "sparse_categorical_crossentropy")

        class Slow(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch == 0:
                    print("TRAINING", flush=True)
                time.sleep(0.02)
            def on_train_end(self, logs=None):
                print("END", flush=True)
        h = model.fit(x, y, epochs=1000, batch_size=8, verbose=0, callbacks=[Slow()])
        print("EPOCHS", len(h.epoch), flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "TRAINING"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Training interrupted" in out and "END" in out
    epochs = int(out.split("EPOCHS")[1])
    assert 0 <= epochs < 1000


# ---- enable_determinism pins BLAS to one thread while on --------------------------------------------
def test_enable_determinism_pins_blas_threads_and_gives_them_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    before = blas_threads()
    if not before:
        pytest.skip("no BLAS library loaded")
    keras.config.enable_determinism()
    try:
        assert blas_threads() == [1] * len(before)
        keras.config.set_num_threads(2)  # recorded, but BLAS stays pinned
        assert blas_threads() == [1] * len(before)
    finally:
        keras.config.disable_determinism()
    assert blas_threads() == [2] * len(before)
    keras.config.set_num_threads(max(before))
    assert blas_threads() == before
