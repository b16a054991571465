"""Callbacks driven by a real fit loop."""
import csv

import numpy as np

import shendu
import shendu as keras
from shendu import callbacks, layers


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _model():
    m = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2, activation="softmax")])
    m.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_early_stopping_stops_and_restores_best_weights():
    shendu.utils.set_random_seed(0)
    x, y = _data()
    m = _model()
    rng = np.random.default_rng(1)
    y_noise = rng.integers(0, 2, len(y))  # validation labels unrelated to x: val_loss soon rises
    seen = {}

    class Snap(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = (logs["val_loss"], self.model.get_weights())
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=50, verbose=0, validation_data=(x, y_noise), callbacks=[Snap(), es])
    assert len(h.history["loss"]) < 50
    best_epoch = min(seen, key=lambda e: seen[e][0])
    for a, b in zip(m.get_weights(), seen[best_epoch][1]):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_lr_schedule_and_csv_logger(tmp_path):
    shendu.utils.set_random_seed(0)
    x, y = _data()
    m = _model()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.weights.h5"), save_weights_only=True)
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * (epoch + 1))
    log = callbacks.CSVLogger(str(tmp_path / "log.csv"))
    m.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[ckpt, sched, log])
    assert sorted(p.name for p in tmp_path.glob("w.*")) == ["w.01.weights.h5", "w.02.weights.h5", "w.03.weights.h5"]
    assert abs(float(m.optimizer.learning_rate) - 0.03) < 1e-12
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and "val_accuracy" in rows[0]
    m2 = _model()
    m2.load_weights(str(tmp_path / "w.03.weights.h5"))
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))


def test_reduce_lr_on_plateau_and_terminate_on_nan():
    shendu.utils.set_random_seed(0)
    x, y = _data()
    m = _model()
    rl = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    m.fit(x, y, epochs=3, verbose=0, callbacks=[rl])
    assert float(m.optimizer.learning_rate) < 0.05
    bad = x.copy()
    m2 = _model()
    m2.compile(keras.optimizers.SGD(1e30), "mse")
    with np.errstate(all="ignore"):  # the point of this run is to overflow
        h = m2.fit(bad, np.eye(2)[y] * 1e20, epochs=5, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(h.history["loss"]) == 1 and not np.isfinite(h.history["loss"][-1])
