"""TensorBoard: the event files are read back with the tensorboard package's own reader."""
import builtins

import numpy as np
import pytest

import shendu
from shendu.callbacks import TensorBoard

pytest.importorskip("tensorboard", reason="the TensorBoard callback writes with the tensorboard package")


def _read(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _fit(tmp_path, **kwargs):
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([shendu.Input((3,)), shendu.layers.Dense(4, name="hidden"),
                               shendu.layers.Dense(1, name="out")])
    model.compile(optimizer=shendu.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, batch_size=8, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[TensorBoard(tmp_path / "logs", **kwargs)])
    return model, history, x, y


def test_epoch_scalars_match_the_history(tmp_path):
    _, history, _, _ = _fit(tmp_path, histogram_freq=1)
    train, val = _read(tmp_path / "logs" / "train"), _read(tmp_path / "logs" / "validation")
    tags = set(train.Tags()["scalars"])
    assert {"epoch_loss", "epoch_mae", "epoch_learning_rate"} <= tags
    loss = train.Scalars("epoch_loss")
    assert [e.step for e in loss] == [0, 1, 2]
    assert np.allclose([e.value for e in loss], history.history["loss"], rtol=1e-6)
    assert np.allclose([e.value for e in val.Scalars("epoch_loss")], history.history["val_loss"],
                       rtol=1e-6)
    assert np.allclose([e.value for e in train.Scalars("epoch_learning_rate")], 0.05)
    assert not any(t.startswith("batch_") for t in tags)
    histos = train.Tags()["histograms"]
    assert "hidden/kernel/histogram" in histos and "out/bias/histogram" in histos
    h = train.Histograms("hidden/kernel/histogram")
    assert [e.step for e in h] == [0, 1, 2] and h[-1].histogram_value.num == 12


def test_batch_scalars_every_update_freq(tmp_path):
    _fit(tmp_path, update_freq=2, write_steps_per_second=True)
    train = _read(tmp_path / "logs" / "train")
    steps = [e.step for e in train.Scalars("batch_loss")]
    assert steps == list(range(2, 13, 2))  # 4 batches an epoch, 3 epochs: steps 1..12
    assert "batch_steps_per_second" in train.Tags()["scalars"]
    assert len(train.Scalars("epoch_steps_per_second")) == 3


def test_evaluate_writes_vs_iterations(tmp_path):
    model, _, x, y = _fit(tmp_path)
    model.evaluate(x, y, verbose=0, callbacks=[TensorBoard(tmp_path / "eval")])
    val = _read(tmp_path / "eval" / "validation")
    events = val.Scalars("evaluation_loss_vs_iterations")
    assert len(events) == 1 and events[0].step == int(model.optimizer.iterations.numpy())


def test_arguments_and_missing_package(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="no profiler"):
        TensorBoard(profile_batch=(2, 5))
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        _fit(tmp_path)


def test_validation_during_fit_is_logged_vs_iterations(tmp_path):
    model, _, _, _ = _fit(tmp_path)
    val = _read(tmp_path / "logs" / "validation")
    events = val.Scalars("evaluation_loss_vs_iterations")
    assert [e.step for e in events] == [4, 8, 12]  # 4 steps an epoch
