"""Round trips (bitwise), weights by path, Keras file names, exact resume in a fresh
process, and crash safety of the atomic write."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import shendu as keras
from shendu.saving import UnsafeFileError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _data(n=32, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), rng.integers(0, 3, n)


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def test_sequential_round_trip_bitwise(tmp_path):
    keras.utils.set_random_seed(1)
    x, y = _data()
    layers = [keras.layers.Dense(8, activation="relu", input_shape=(6,)), keras.layers.Dropout(0.2)]
    try:
        from shendu.layers import BatchNormalization
        layers.append(BatchNormalization())
    except ImportError:  # pragma: no cover
        pytest.skip("shendu.layers.BatchNormalization is not importable yet")
    model = keras.Sequential(layers + [keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    bn = [l for l in model.layers if type(l).__name__ == "BatchNormalization"][0]
    assert any(not np.allclose(w, 0) and not np.allclose(w, 1) for w in bn.get_weights())
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is keras.Sequential
    _assert_same_weights(model, loaded)
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.saved_epoch == 2
    # get_config / from_config alone also round-trips (fresh weights, same structure)
    clone = keras.Sequential.from_config(model.get_config())
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]


def test_functional_multi_input_round_trip_bitwise(tmp_path):
    keras.utils.set_random_seed(2)
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    shared = keras.layers.Dense(5, activation="tanh", name="shared")
    h = keras.layers.Concatenate()([shared(keras.layers.Dense(5)(a)), keras.layers.Dense(5)(b)])
    h2 = shared(keras.layers.Dense(5)(h))  # the shared layer gets a second (and third) node
    out1 = keras.layers.Dense(2, name="out1")(keras.layers.Add()([h2, shared(keras.layers.Dense(5)(a))]))
    out2 = keras.layers.Dense(1, name="out2")(h)
    model = keras.Model([a, b], [out1, out2])
    model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    xa, xb = np.ones((6, 4), "float32"), np.linspace(0, 1, 18, dtype="float32").reshape(6, 3)
    model.fit([xa, xb], [np.zeros((6, 2), "float32"), np.ones((6, 1), "float32")], epochs=1,
              verbose=0)
    path = tmp_path / "functional.h5"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.models.Functional)
    assert len(loaded._nodes) == len(model._nodes)
    _assert_same_weights(model, loaded)
    for p, q in zip(model.predict([xa, xb], verbose=0), loaded.predict([xa, xb], verbose=0)):
        assert np.array_equal(p, q)
    cfg = model.get_config()
    shared_cfg = [l for l in cfg["layers"] if l["name"] == "shared"][0]
    assert len(shared_cfg["inbound_nodes"]) == 3
    assert keras.models.Functional.from_config(cfg).count_params() == model.count_params()


@keras.utils.register_serializable(package="tests")
class TwoTower(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.left = keras.layers.Dense(units, activation="relu")
        self.right = keras.layers.Dense(units)
        self.head = keras.layers.Dense(2)

    def call(self, inputs, training=None):
        return self.head(self.left(inputs) + self.right(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_registered_subclassed_model_round_trip_bitwise(tmp_path):
    keras.utils.set_random_seed(3)
    model = TwoTower(units=5)
    model.compile(optimizer="rmsprop", loss="mse")
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    model.fit(x, np.zeros((10, 2), "float32"), epochs=1, verbose=0)
    path = tmp_path / "sub.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is TwoTower and loaded.units == 5
    _assert_same_weights(model, loaded)
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_unregistered_class_needs_custom_objects(tmp_path):
    class Plain(keras.layers.Layer):
        def call(self, x):
            return x * 3

    model = keras.Sequential([keras.layers.Dense(2, input_shape=(2,)), Plain()])
    path = tmp_path / "p.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Unknown class 'Plain'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Plain": Plain})
    assert np.array_equal(model.predict(np.ones((1, 2)), verbose=0),
                          loaded.predict(np.ones((1, 2)), verbose=0))


def _mlp(units=4):
    return keras.Sequential([keras.layers.Dense(units, input_shape=(3,)), keras.layers.Dense(2)])


def test_save_weights_load_weights_by_path_and_mismatch(tmp_path):
    keras.utils.set_random_seed(4)
    src = _mlp()
    path = tmp_path / "w.weights.h5"
    src.save_weights(path)
    dst = _mlp()  # new layer names: matched by position, shapes checked
    dst.load_weights(path)
    _assert_same_weights(src, dst)
    wrong = _mlp(units=5)
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"(?s)mismatch.*expects shape \(3, 5\).*\(3, 4\)"):
        wrong.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, wrong.get_weights()))
    with pytest.warns(UserWarning, match="skipped"):
        wrong.load_weights(path, skip_mismatch=True)
    assert np.array_equal(wrong.layers[1].bias.numpy(), src.layers[1].bias.numpy())
    with pytest.raises(ValueError, match="not a model"):
        keras.models.load_model(path)


def test_keras_names_hold_shendu_format_and_hdf5_is_recognised(tmp_path):
    model = _mlp()
    for name in ("m.keras", "m.h5", "m.anything"):
        model.save(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:4] == b"PK\x03\x04"
        keras.models.load_model(tmp_path / name)
    h5 = tmp_path / "real.weights.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(UnsafeFileError, match="not a readable HDF5 file"):
        model.load_weights(h5)  # an HDF5 signature, then garbage
    # recognised by content: a shendu file under an HDF5 name, an HDF5 file under .keras
    os.replace(h5, tmp_path / "x.keras")
    with pytest.raises(UnsafeFileError, match="HDF5"):
        keras.models.load_model(tmp_path / "x.keras")


def test_model_checkpoint_writes_loadable_files(tmp_path):
    keras.utils.set_random_seed(5)
    x, y = _data(16, 3)
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    cbs = [keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss"),
           keras.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)]
    model.fit(x, y, epochs=2, verbose=0, callbacks=cbs)
    _assert_same_weights(model, keras.models.load_model(tmp_path / "best.keras"))
    other = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(3,))])
    other.load_weights(tmp_path / "w.weights.h5")
    _assert_same_weights(model, other)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


# ---- exact resume in a fresh process ------------------------------------------------------------
RESUME_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import shendu as keras
    mode, opt_kind, path, out = sys.argv[1:5]
    keras.config.enable_determinism()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, 40)

    def make():
        keras.utils.set_random_seed(42)
        model = keras.Sequential([
            keras.layers.Dense(16, activation="relu", input_shape=(6,)),
            keras.layers.Dropout(0.3),              # draws from the global generator
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.25, seed=7),     # its own generator
            keras.layers.Dense(3, activation="softmax")])
        if opt_kind == "sgd":
            opt = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
        else:
            opt = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(
                0.01, decay_steps=3, decay_rate=0.8))
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    if mode == "full":
        model = make()
        model.fit(x, y, epochs=4, batch_size=8, shuffle=True, verbose=0)
    elif mode == "first":
        model = make()
        model.fit(x, y, epochs=2, batch_size=8, shuffle=True, verbose=0)
        model.save(path)
    else:
        model = keras.models.load_model(path)
        assert model.saved_epoch == 2, model.saved_epoch
        model.fit(x, y, epochs=4, initial_epoch=model.saved_epoch, batch_size=8, shuffle=True,
                  verbose=0)
    model.save(out)
""")


def _run(tmp_path, *args):
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("opt_kind", ["sgd", "adam_schedule"])
def test_resume_in_fresh_process_is_bitwise_identical(tmp_path, opt_kind):
    ckpt, full, resumed, first = (tmp_path / n for n in ("ckpt.keras", "full.keras",
                                                         "resumed.keras", "first.keras"))
    _run(tmp_path, "full", opt_kind, "-", full)
    _run(tmp_path, "first", opt_kind, ckpt, first)
    _run(tmp_path, "second", opt_kind, ckpt, resumed)
    a, b = keras.models.load_model(full), keras.models.load_model(resumed)
    _assert_same_weights(a, b)
    sa, sb = a.optimizer.get_state(), b.optimizer.get_state()
    assert sa.keys() == sb.keys() and int(sa["iterations"]) == 20
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    # and the run really moved on after the checkpoint
    c = keras.models.load_model(ckpt)
    assert not all(np.array_equal(p, q) for p, q in zip(a.get_weights(), c.get_weights()))


# ---- crash safety ---------------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import shendu as keras
    path = sys.argv[1]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(64, input_shape=(64,)), keras.layers.Dense(4)])
    model.save(path)                        # the good checkpoint
    np.save(path + ".expected.npy", model.layers[0].kernel.numpy(), allow_pickle=False)
    for w in model.weights:
        w.assign(w.numpy() + 1)
    real_fsync = os.fsync

    def stalled_fsync(fd):                  # the new file is written but not yet renamed
        sys.stdout.write("in-save\\n"); sys.stdout.flush()
        time.sleep(60)
        real_fsync(fd)
    os.fsync = stalled_fsync
    model.save(path)
""")


def test_sigkill_while_saving_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.keras"
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "in-save", proc.stderr.read()
        assert any(f.endswith(".tmp") for f in os.listdir(tmp_path))  # the half-done write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    model = keras.models.load_model(path)
    expected = np.load(str(path) + ".expected.npy", allow_pickle=False)
    assert np.array_equal(model.layers[0].kernel.numpy(), expected)
    time.sleep(0)
