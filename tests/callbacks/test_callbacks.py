"""Callbacks driven by hand through CallbackList with a tiny fake model."""
import csv
import math
import os

import numpy as np
import pytest

import shendu
from shendu import callbacks as cb


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate


class FakeModel:
    """The attributes callbacks rely on, and nothing else."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.zeros(2, np.float32)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w, copy=True) for w in weights]

    def save_weights(self, path):
        self.saved.append(("weights", path))
        with open(path, "w") as f:
            f.write("weights")

    def save(self, path):
        self.saved.append(("model", path))
        with open(path, "w") as f:
            f.write("model")


def run_fit(callbacks, model, epoch_logs, steps=2, verbose=0):
    """A minimal fit loop; epoch ``i`` sets the weights to ``i`` so restores are visible.

    Returns the number of epochs that ran.
    """
    cbs = cb.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                          verbose=verbose, epochs=len(epoch_logs), steps=steps)
    model.stop_training = False
    cbs.on_train_begin()
    ran = 0
    for epoch, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            cbs.on_train_batch_end(step, {k: v for k, v in logs.items()
                                          if not k.startswith("val_")})
        model.weights = [np.full(2, epoch, np.float32)]
        cbs.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return ran


def losses(*values, key="val_loss"):
    return [{key: v} for v in values]


class Recorder(cb.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                object.__getattribute__(self, "calls").append(name)
                return attr(*args, **kwargs)
            return record
        return attr


# ---- CallbackList, History ---------------------------------------------------------


def test_callback_list_adds_history_and_progbar_once():
    model = FakeModel()
    history = cb.History()
    cbs = cb.CallbackList([history], add_history=True, add_progbar=True, model=model,
                          verbose=1, epochs=3, steps=10)
    assert [type(c) for c in cbs.callbacks] == [cb.History, cb.ProgbarLogger]
    assert model.history is history
    assert all(c.model is model for c in cbs.callbacks)
    assert history.params == {"verbose": 1, "epochs": 3, "steps": 10}
    assert cbs.callbacks[1].target == 10 and cbs.callbacks[1].epochs == 3


def test_callback_list_without_progbar_when_silent():
    cbs = cb.CallbackList(None, add_history=True, add_progbar=False, model=FakeModel(),
                          verbose=0, epochs=1, steps=1)
    assert [type(c) for c in cbs.callbacks] == [cb.History]


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="Callback instances; received 3"):
        cb.CallbackList([3])


def test_callback_list_dispatches_every_hook_and_legacy_batch_names():
    rec = Recorder()
    cbs = cb.CallbackList([rec], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    cbs.on_test_begin()
    cbs.on_test_batch_begin(0)
    cbs.on_test_batch_end(0)
    cbs.on_test_end()
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_train_end()
    cbs.on_predict_begin()
    cbs.on_predict_batch_begin(0)
    cbs.on_predict_batch_end(0, {"outputs": np.zeros(2)})
    cbs.on_predict_end()
    assert rec.calls == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin",
        "on_train_batch_end", "on_batch_end", "on_test_begin", "on_test_batch_begin",
        "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end",
        "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_logs_become_sorted_python_floats_and_shared_between_callbacks():
    seen = []
    adder = cb.LambdaCallback(on_epoch_end=lambda e, logs: logs.update(extra=1.5))
    reader = cb.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(dict(logs)))
    cbs = cb.CallbackList([adder, reader], model=FakeModel())
    logs = {"loss": np.float32(0.5), "accuracy": shendu.tensor(0.25), "nested": {"mae": 2}}
    cbs.on_epoch_end(0, logs)
    assert seen == [{"accuracy": 0.25, "extra": 1.5, "loss": 0.5, "mae": 2}]
    assert type(seen[0]["loss"]) is float and type(seen[0]["accuracy"]) is float
    assert logs["extra"] == 1.5  # the trainer sees what callbacks added


def test_history_records_every_epoch():
    model = FakeModel()
    logs = [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}]
    run_fit([], model, logs)
    assert model.history.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]}
    assert model.history.epoch == [0, 1]
    assert model.history.model is model
    assert model.history.params["epochs"] == 2


# ---- EarlyStopping -----------------------------------------------------------------


def test_early_stopping_patience():
    model = FakeModel()
    es = cb.EarlyStopping(patience=2)
    ran = run_fit([es], model, losses(1.0, 0.9, 0.95, 0.91, 0.5, 0.4))
    assert ran == 4 and es.stopped_epoch == 3 and es.best == 0.9 and es.best_epoch == 1
    assert model.stop_training


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    ran = run_fit([cb.EarlyStopping(monitor="loss")], FakeModel(),
                  losses(3.0, 2.0, 2.5, 1.0, key="loss"))
    assert ran == 3


def test_early_stopping_min_delta_ignores_small_improvements():
    es = cb.EarlyStopping(min_delta=0.1, patience=1)
    ran = run_fit([es], FakeModel(), losses(1.0, 0.95, 0.92, 0.5))
    assert ran == 2 and es.best == 1.0


def test_early_stopping_mode_max_and_auto_for_accuracy():
    for mode in ("max", "auto"):
        es = cb.EarlyStopping(monitor="val_accuracy", mode=mode, patience=1)
        ran = run_fit([es], FakeModel(), losses(0.5, 0.7, 0.6, 0.9, key="val_accuracy"))
        assert ran == 3 and es.best == 0.7, mode


def test_early_stopping_mode_min_on_a_max_metric_stops_when_it_rises():
    es = cb.EarlyStopping(monitor="val_accuracy", mode="min")
    assert run_fit([es], FakeModel(), losses(0.5, 0.7, key="val_accuracy")) == 2


def test_early_stopping_restore_best_weights():
    model = FakeModel()
    es = cb.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    run_fit([es], model, losses(1.0, 0.5, 0.7, 0.8, 0.1))
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])  # from epoch 1
    assert es.best_epoch == 1


def test_early_stopping_without_restore_keeps_last_weights():
    model = FakeModel()
    run_fit([cb.EarlyStopping(patience=1)], model, losses(1.0, 0.5, 0.7, 0.8))
    np.testing.assert_array_equal(model.weights[0], [2.0, 2.0])


def test_early_stopping_baseline_not_reached_stops_after_patience():
    # Epochs that improve without beating the baseline do not reset the wait, so
    # the first flat epoch after them stops training.
    es = cb.EarlyStopping(patience=2, baseline=0.5)
    assert run_fit([es], FakeModel(), losses(1.0, 0.9, 0.95, 0.96)) == 3
    assert es.stopped_epoch == 2
    assert run_fit([cb.EarlyStopping(patience=2)], FakeModel(),
                   losses(1.0, 0.9, 0.95, 0.96)) == 4


def test_early_stopping_baseline_beaten_resets_the_wait():
    es = cb.EarlyStopping(patience=2, baseline=0.5)
    ran = run_fit([es], FakeModel(), losses(1.0, 0.4, 0.3, 0.35, 0.36, 0.2))
    assert ran == 5


def test_early_stopping_start_from_epoch_skips_warm_up():
    es = cb.EarlyStopping(patience=0, start_from_epoch=2)
    ran = run_fit([es], FakeModel(), losses(1.0, 2.0, 3.0, 2.5, 2.6))
    assert ran == 5 and es.stopped_epoch == 4 and es.best == 2.5


def test_early_stopping_instance_can_be_reused():
    es = cb.EarlyStopping(patience=0)
    assert run_fit([es], FakeModel(), losses(1.0, 2.0)) == 2
    assert run_fit([es], FakeModel(), losses(5.0, 4.0, 3.0)) == 3


def test_early_stopping_warns_on_missing_monitor():
    model = FakeModel()
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available "
                                         "metrics are: loss"):
        ran = run_fit([cb.EarlyStopping()], model, losses(1.0, 2.0, key="loss"))
    assert ran == 2


def test_early_stopping_unknown_mode_warns_and_unknown_direction_raises():
    with pytest.warns(UserWarning, match="mode 'biggest' is unknown"):
        es = cb.EarlyStopping(mode="biggest")
    assert es.mode == "auto"
    with pytest.raises(ValueError, match="monitor='val_thing'.*mode='max'"):
        run_fit([cb.EarlyStopping(monitor="val_thing")], FakeModel(),
                losses(1.0, key="val_thing"))


def test_auto_mode_uses_the_models_metric_direction():
    class Metric:
        name = "thing"
        _direction = "up"

    model = FakeModel()
    model.metrics = [Metric()]
    es = cb.EarlyStopping(monitor="val_thing")
    assert run_fit([es], model, losses(1.0, 2.0, 1.5, key="val_thing")) == 3
    assert es.best == 2.0


# ---- ModelCheckpoint ---------------------------------------------------------------


def test_model_checkpoint_formats_path_and_creates_directory(tmp_path):
    model = FakeModel()
    path = tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.weights.h5"
    run_fit([cb.ModelCheckpoint(path, save_weights_only=True)], model, losses(1.0, 0.25))
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["w.01-1.00.weights.h5",
                                                     "w.02-0.25.weights.h5"]
    assert [kind for kind, _ in model.saved] == ["weights", "weights"]


def test_model_checkpoint_save_best_only(tmp_path, capsys):
    model = FakeModel()
    mc = cb.ModelCheckpoint(str(tmp_path / "m.{epoch}.keras"), save_best_only=True, verbose=1)
    run_fit([mc], model, losses(1.0, 1.2, 0.5, 0.7))
    assert sorted(os.listdir(tmp_path)) == ["m.1.keras", "m.3.keras"]
    assert [kind for kind, _ in model.saved] == ["model", "model"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out
    assert "Epoch 3: val_loss improved from 1.00000 to 0.50000, saving model to" in out


def test_model_checkpoint_save_best_only_mode_max_and_threshold(tmp_path):
    model = FakeModel()
    mc = cb.ModelCheckpoint(tmp_path / "best.keras", monitor="val_accuracy", mode="max",
                            save_best_only=True, initial_value_threshold=0.6)
    run_fit([mc], model, losses(0.5, 0.7, 0.65, key="val_accuracy"))
    assert len(model.saved) == 1 and mc.best == 0.7


def test_model_checkpoint_save_freq_in_batches(tmp_path):
    model = FakeModel()
    mc = cb.ModelCheckpoint(tmp_path / "b{epoch}-{batch}.keras", save_freq=3)
    run_fit([mc], model, losses(1.0, 0.9), steps=4)
    assert sorted(os.listdir(tmp_path)) == ["b1-3.keras", "b2-2.keras"]


def test_model_checkpoint_argument_errors(tmp_path):
    with pytest.raises(ValueError,
                       match=r"must end in `\.weights\.h5`. Received: filepath=.*x\.keras"):
        cb.ModelCheckpoint(tmp_path / "x.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=r"ending in `\.keras`. Received: filepath=.*x\.txt"):
        cb.ModelCheckpoint(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="save_freq='epoch' or a positive integer; received "
                                         "save_freq='batch'"):
        cb.ModelCheckpoint(tmp_path / "x.keras", save_freq="batch")


def test_model_checkpoint_unknown_format_key(tmp_path):
    mc = cb.ModelCheckpoint(str(tmp_path / "{nope}.keras"))
    with pytest.raises(KeyError, match="Failed to format"):
        run_fit([mc], FakeModel(), losses(1.0))


# ---- learning rate callbacks -------------------------------------------------------


def test_reduce_lr_on_plateau_factor_and_patience():
    model = FakeModel(learning_rate=1.0)
    rl = cb.ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0)
    run_fit([rl], model, losses(1.0, 1.0, 1.0, 1.0, 1.0))
    # Reduced after epochs 2 and 4 (two epochs without improvement each); the logs
    # hold the rate each epoch ran with.
    assert model.optimizer.learning_rate == pytest.approx(0.25)
    assert model.history.history["learning_rate"] == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5])


def test_reduce_lr_on_plateau_cooldown():
    model = FakeModel(learning_rate=1.0)
    rl = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0.0)
    run_fit([rl], model, losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # Reduced after epoch 1; the cooldown counts down through epochs 2-3 (as in
    # Keras, the epoch that ends it may already count towards patience).
    assert model.history.history["learning_rate"] == pytest.approx(
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    assert model.optimizer.learning_rate == pytest.approx(0.125)


def test_reduce_lr_on_plateau_min_lr_and_improvement():
    model = FakeModel(learning_rate=0.1)
    rl = cb.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005, verbose=1)
    run_fit([rl], model, losses(1.0, 0.5, 0.6, 0.7, 0.8))
    assert model.optimizer.learning_rate == pytest.approx(0.005)
    assert rl.best == 0.5


def test_reduce_lr_on_plateau_errors():
    with pytest.raises(ValueError, match="factor >= 1.0. Received factor=2"):
        cb.ReduceLROnPlateau(factor=2)
    model = FakeModel()
    model.optimizer = None
    with pytest.raises(ValueError, match="`learning_rate` attribute; received optimizer=None"):
        run_fit([cb.ReduceLROnPlateau()], model, losses(1.0))
    with pytest.warns(UserWarning, match="conditioned on metric `val_loss`"):
        run_fit([cb.ReduceLROnPlateau()], FakeModel(), losses(1.0, key="loss"))


def test_learning_rate_scheduler():
    model = FakeModel(learning_rate=1.0)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch == 0 else lr / 2

    run_fit([cb.LearningRateScheduler(schedule)], model, losses(1.0, 1.0, 1.0))
    assert seen == [(0, 1.0), (1, 1.0), (2, 0.5)]
    assert model.optimizer.learning_rate == 0.25
    assert model.history.history["learning_rate"] == [1.0, 0.5, 0.25]


def test_learning_rate_scheduler_rejects_non_float_output():
    with pytest.raises(ValueError, match="should be a float. Got: 'fast'"):
        run_fit([cb.LearningRateScheduler(lambda e, lr: "fast")], FakeModel(), losses(1.0))
    with pytest.raises(TypeError, match="callable schedule"):
        cb.LearningRateScheduler(0.1)


# ---- CSVLogger, TerminateOnNaN, LambdaCallback -------------------------------------


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger_writes_header_and_rows(tmp_path):
    path = tmp_path / "logs" / "log.csv"
    run_fit([cb.CSVLogger(path)], FakeModel(),
            [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}])
    assert read_csv(path) == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"],
                              ["1", "0.5", "1.5"]]


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.tsv"
    logger = cb.CSVLogger(path, separator="\t", append=True)
    run_fit([logger], FakeModel(), losses(1.0, key="loss"))
    run_fit([logger], FakeModel(), losses(0.5, 0.25, key="loss"))
    assert path.read_text() == "epoch\tloss\n0\t1.0\n0\t0.5\n1\t0.25\n"
    run_fit([cb.CSVLogger(path, separator="\t")], FakeModel(), losses(9.0, key="loss"))
    assert path.read_text() == "epoch\tloss\n0\t9.0\n"


def test_csv_logger_missing_values_and_arrays(tmp_path):
    path = tmp_path / "log.csv"
    run_fit([cb.CSVLogger(path)], FakeModel(),
            [{"loss": 1.0, "val_loss": 1.0}, {"loss": 0.5}])
    assert read_csv(path)[-1] == ["1", "0.5", "NA"]


def test_terminate_on_nan(capsys):
    model = FakeModel()
    ran = run_fit([cb.TerminateOnNaN()], model, losses(1.0, math.nan, 1.0, key="loss"))
    assert ran == 2 and model.stop_training
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        run_fit([cb.TerminateOnNaN(raise_error=True)], FakeModel(),
                losses(math.inf, key="loss"))


def test_lambda_callback():
    events = []
    lam = cb.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                            on_epoch_end=lambda epoch, logs: events.append(epoch),
                            on_test_end=lambda logs: events.append("test"))
    run_fit([lam], FakeModel(), losses(1.0, 2.0))
    lam.on_test_end({})
    assert events == ["begin", 0, 1, "test"]
    with pytest.raises(TypeError, match="unknown hook 'on_banana'"):
        cb.LambdaCallback(on_banana=print)


# ---- ProgbarLogger -----------------------------------------------------------------


def test_progbar_logger_prints_epochs_and_final_lines(capsys):
    run_fit([], FakeModel(), [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}],
            steps=3, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("3/3 " + "━" * 20 + " 0s ")
    assert lines[1].endswith("/step - loss: 1.0000 - val_loss: 2.0000")
    assert lines[3].endswith("/step - loss: 0.5000 - val_loss: 1.5000")
    assert len(lines) == 4  # not a tty: no in-place redraws


def test_progbar_logger_verbose_2(capsys):
    run_fit([], FakeModel(), [{"accuracy": 0.5, "loss": 1.0}], steps=12, verbose=2)
    out = capsys.readouterr().out
    assert out.startswith("12/12 - 0s - ")
    assert out.endswith("/step - accuracy: 0.5000 - loss: 1.0000\n")
    assert "Epoch" not in out  # one epoch: no header


def test_progbar_logger_standalone_evaluate_and_silent_validation(capsys):
    model = FakeModel()
    logger = cb.ProgbarLogger()
    cbs = cb.CallbackList([logger], model=model, verbose=1, epochs=1, steps=2)
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_batch_end(1, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.75})
    assert capsys.readouterr().out.rstrip("\n").endswith("loss: 0.7500")
    cbs.on_train_begin()
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_end({"loss": 1.0})
    assert capsys.readouterr().out == ""


def test_progbar_logger_unknown_steps(capsys):
    cbs = cb.CallbackList([], add_progbar=True, model=FakeModel(), verbose=1, epochs=1,
                          steps=None)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    for step in range(5):
        cbs.on_train_batch_end(step, {"loss": 1.0})
    cbs.on_epoch_end(0, {"loss": 1.0})
    assert capsys.readouterr().out.startswith("5/5 " + "━" * 20)
