"""Reliability of saving and loading: clear errors naming the user's own path, files that
honour the umask, no temp files left behind for good, and no file saved that cannot load.

The table holds (builder of the failing call, exception type, words the message must
contain, words it must not contain); the silent bugs have their own tests below.
"""
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.saving import UnsafeFileError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def small_model():
    return shendu.Sequential([shendu.Input((3,)), layers.Dense(2, name="d")])


def saved(tmp, name="m.keras"):
    path = tmp / name
    small_model().save(path)
    return path


def write(tmp, name, data):
    path = tmp / name
    path.write_bytes(data)
    return path


def truncated(tmp):
    data = saved(tmp).read_bytes()
    return write(tmp, "cut.keras", data[: len(data) // 2])


def zip_with(tmp, doc_text, name="forged.keras"):
    path = tmp / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("shendu.json", doc_text)
    return path


def nested_sequentials(n):
    model = shendu.Sequential([shendu.Input((2,)), layers.Dense(2)])
    for _ in range(n):
        model = shendu.Sequential([shendu.Input((2,)), model])
    return model


def regular_file(tmp):
    (tmp / "plain").write_text("x")
    return tmp / "plain"


CASES = [
    # (id, call taking tmp_path, exception, words in message, words not in message)
    ("load_model on a folder",
     lambda t: shendu.models.load_model(t), IsADirectoryError, ["folder", "{tmp}"], ["No such"]),
    ("load_model on a folder lists the model files in it",
     lambda t: (saved(t, "inside.keras"), shendu.models.load_model(t)), IsADirectoryError,
     ["inside.keras"], []),
    ("load_weights on a folder",
     lambda t: small_model().load_weights(t), IsADirectoryError, ["folder"], []),
    ("load_model of a missing file",
     lambda t: shendu.models.load_model(t / "nope.keras"), FileNotFoundError,
     ["nope.keras"], []),
    ("save under a regular file",
     lambda t: small_model().save(regular_file(t) / "m.keras"), NotADirectoryError,
     ["plain", "not a folder", "m.keras"], [".tmp"]),
    ("save_weights under a regular file",
     lambda t: small_model().save_weights(regular_file(t) / "w.weights.h5"), NotADirectoryError,
     ["w.weights.h5", "not a folder"], [".tmp"]),
    ("save into a missing folder",
     lambda t: small_model().save(t / "no" / "such" / "m.keras"), FileNotFoundError,
     ["does not exist", "m.keras"], [".tmp"]),
    ("save onto a folder",
     lambda t: small_model().save(t), IsADirectoryError, ["folder", "{tmp}"], [".tmp"]),
    ("save into a folder where files cannot be created",
     lambda t: small_model().save("/proc/m.keras"), OSError, ["/proc/m.keras"], [".tmp"]),
    ("save with overwrite=False onto an existing file",
     lambda t: small_model().save(saved(t), overwrite=False), FileExistsError,
     ["overwrite=False"], []),
    ("save a model nested deeper than load_model reads",
     lambda t: nested_sequentials(70).save(t / "deep.keras"), ValueError,
     ["nested", "load_model", "deep.keras"], []),
    ("load a truncated file",
     lambda t: shendu.models.load_model(truncated(t)), UnsafeFileError,
     ["cut.keras", "truncated"], []),
    ("load a text file",
     lambda t: shendu.models.load_model(write(t, "x.keras", b"hello world")), UnsafeFileError,
     ["x.keras", "unknown format"], []),
    ("load an empty file",
     lambda t: shendu.models.load_model(write(t, "e.keras", b"")), UnsafeFileError,
     ["e.keras", "empty"], []),
    ("load a .npy file",
     lambda t: (np.save(t / "a.npy", np.zeros(3)), shendu.models.load_model(t / "a.npy")),
     UnsafeFileError, ["NumPy"], []),
    ("load a zip whose document is not JSON",
     lambda t: shendu.models.load_model(zip_with(t, "{not json")), UnsafeFileError,
     ["not valid JSON"], []),
    ("load a zip whose document is not a shendu document",
     lambda t: shendu.models.load_model(zip_with(t, json.dumps({"a": 1}))), UnsafeFileError,
     ["does not describe a shendu file"], []),
    ("load a file from a newer format version",
     lambda t: shendu.models.load_model(zip_with(t, json.dumps(
         {"format": "shendu", "format_version": 99}))), UnsafeFileError,
     ["format_version 99"], []),
    ("load_model of a weights file",
     lambda t: (small_model().save_weights(t / "w.weights.h5"),
                shendu.models.load_model(t / "w.weights.h5")), UnsafeFileError,
     ["load_weights"], []),
    ("load_weights into a model of another shape",
     lambda t: shendu.Sequential([shendu.Input((4,)), layers.Dense(2, name="d")]).load_weights(
         saved(t)), ValueError, ["mismatch", "d/kernel", "(4, 2)", "(3, 2)"], []),
    ("load a model of an unknown class",
     lambda t: shendu.models.load_model(zip_with(t, json.dumps(
         {"format": "shendu", "format_version": 1, "kind": "model", "weights": [],
          "architecture": {"class_name": "NoSuchLayer", "config": {}}}))), ValueError,
     ["NoSuchLayer"], []),
]


@pytest.mark.parametrize("build, exc, words, absent", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_saving_fault_gives_a_clear_error(tmp_path, build, exc, words, absent):
    with pytest.raises(exc) as info:
        build(tmp_path)
    message = str(info.value)
    for word in words:
        assert word.replace("{tmp}", str(tmp_path)) in message, message
    for word in absent:
        assert word not in message, message
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


# ---- bug 10: save refuses what load would refuse; what saves, loads ---------------------------
def test_a_model_too_deep_to_load_is_not_written(tmp_path):
    with pytest.raises(ValueError):
        nested_sequentials(70).save(tmp_path / "deep.keras")
    assert os.listdir(tmp_path) == []


def test_the_deepest_model_that_saves_also_loads(tmp_path):
    from shendu.saving.serialization import MAX_CONFIG_DEPTH, config_depth, serialize_layer
    n = 50
    while config_depth(serialize_layer(nested_sequentials(n + 1))) <= MAX_CONFIG_DEPTH:
        n += 1
    with pytest.raises(ValueError, match="nested more than"):
        nested_sequentials(n + 1).save(tmp_path / "too_deep.keras")
    model = nested_sequentials(n)
    model.save(tmp_path / "deep.keras")
    loaded = shendu.models.load_model(tmp_path / "deep.keras")
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ---- bug 7: file modes ---------------------------------------------------------------------------
SAVERS = {
    "save": lambda m, p: m.save(p),
    "save_weights": lambda m, p: m.save_weights(p),
    "ModelCheckpoint": lambda m, p: _fit_with(m, shendu.callbacks.ModelCheckpoint(str(p))),
}


def _fit_with(model, callback):
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), epochs=1, verbose=0,
              callbacks=[callback])


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("saver", sorted(SAVERS))
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_saved_files_honour_the_umask(tmp_path, umask, saver, mask):
    umask(mask)
    path = tmp_path / ("w.weights.h5" if saver == "save_weights" else "m.keras")
    SAVERS[saver](small_model(), path)
    assert _mode(path) == 0o666 & ~mask


@pytest.mark.parametrize("saver", sorted(SAVERS))
def test_an_overwrite_keeps_the_old_files_mode(tmp_path, umask, saver):
    path = tmp_path / ("w.weights.h5" if saver == "save_weights" else "m.keras")
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    SAVERS[saver](small_model(), path)
    assert _mode(path) == 0o640
    os.chmod(path, 0o604)
    SAVERS[saver](small_model(), path)
    assert _mode(path) == 0o604


# ---- temp files of a killed save are cleaned up by the next save --------------------------------
KILL_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import shendu as keras
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    real_fsync = os.fsync

    def stalled_fsync(fd):                  # the temp file is written but not yet renamed
        sys.stdout.write("in-save\\n"); sys.stdout.flush()
        time.sleep(60)
        real_fsync(fd)
    os.fsync = stalled_fsync
    model.save(sys.argv[1])
""")


def _hidden_temps(folder):
    return sorted(f for f in os.listdir(folder) if f.startswith(".") and f.endswith(".tmp"))


def test_temp_files_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(out / "a.keras")],
                            env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "in-save", proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert len(_hidden_temps(out)) == 1  # what the killed save left
    # Files that are not ours stay: a user's own hidden file, and a temp file of a live save.
    (out / ".notes.tmp").write_text("mine")
    (out / "x.tmp").write_text("mine")
    (out / "c.keras").write_text("")
    small_model().save(out / "c.keras")
    assert _hidden_temps(out) == [".notes.tmp"]
    assert sorted(os.listdir(out)) == [".notes.tmp", "c.keras", "x.tmp"]


def test_a_temp_file_of_a_running_save_is_kept(tmp_path):
    from shendu.saving import atomic_file
    live = tmp_path / atomic_file.temp_name("other.keras")  # this process is alive
    live.write_bytes(b"in progress")
    small_model().save(tmp_path / "m.keras")
    assert live.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders, so there is no error to check")
def test_save_into_a_read_only_folder_names_the_users_path(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError) as info:
            small_model().save(folder / "m.keras")
    finally:
        os.chmod(folder, 0o700)
    assert str(folder / "m.keras") in str(info.value) and ".tmp" not in str(info.value)
    assert os.listdir(folder) == []
