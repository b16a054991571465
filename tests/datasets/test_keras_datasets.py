"""imdb, reuters, boston_housing, california_housing: files made here in Keras's format,
read with no network, and compared with real Keras's loaders on the same files."""
import hashlib
import io
import json
import urllib.request
import zipfile

import numpy as np
import pytest

from shendu.datasets import (DatasetFormatError, _loader, boston_housing, california_housing,
                             imdb, reuters)
from shendu.datasets._npz import load_npz


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHENDU_HOME", str(tmp_path / "home"))

    def no_network(*args, **kwargs):
        pytest.fail(f"a test tried to use the network: {args!r}")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


def _install(monkeypatch, tmp_path, name, fname, data, md5=False):
    """Write ``data`` as ``fname`` in a folder standing for Keras's cache, with its digest."""
    cache = tmp_path / "keras_cache"
    cache.mkdir(exist_ok=True)
    (cache / fname).write_bytes(data)
    digest = "md5:" + hashlib.md5(data).hexdigest() if md5 else hashlib.sha256(data).hexdigest()
    monkeypatch.setitem(_loader.SPECS, name, _loader._Spec({fname: (digest,)},
                                                           ("https://example.invalid/",),
                                                           (str(cache),)))
    return cache / fname


def _ragged(rng, n, vocab, longest):
    out = np.empty(n, dtype=object)
    out[:] = [list(rng.integers(1, vocab, rng.integers(1, longest)).tolist()) for _ in range(n)]
    return out


def _npz_bytes(protocol=None, **arrays):
    """An .npz as NumPy writes it; object arrays pickled with ``protocol`` (NumPy's own
    default when None), to cover files written by older Pythons and NumPys. Only writing a
    fixture uses pickle here: shendu reads the files without it."""
    import pickle
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in arrays.items():
            member = io.BytesIO()
            if arr.dtype == object and protocol is not None:
                np.lib.format.write_array_header_1_0(
                    member, np.lib.format.header_data_from_array_1_0(arr))
                member.write(pickle.dumps(arr, protocol=protocol))
            else:
                np.lib.format.write_array(member, arr)
            z.writestr(name + ".npy", member.getvalue())
    return buf.getvalue()


@pytest.fixture
def imdb_file(env, monkeypatch):
    rng = np.random.default_rng(0)
    data = _npz_bytes(x_train=_ragged(rng, 40, 60, 30), y_train=rng.integers(0, 2, 40),
                      x_test=_ragged(rng, 30, 60, 30), y_test=rng.integers(0, 2, 30))
    return _install(monkeypatch, env, "imdb", "imdb.npz", data)


IMDB_ARGS = [{}, {"num_words": 20}, {"num_words": 20, "skip_top": 5, "oov_char": None},
             {"maxlen": 15, "start_char": None, "index_from": 0}, {"seed": 7, "oov_char": 9}]


@pytest.mark.parametrize("kwargs", IMDB_ARGS, ids=str)
def test_imdb_matches_keras(imdb_file, monkeypatch, kwargs):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    from keras.src.datasets import imdb as keras_imdb
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(imdb_file))
    (xa, ya), (xb, yb) = imdb.load_data(**kwargs)
    (ka, kya), (kb, kyb) = keras.datasets.imdb.load_data(**kwargs)
    assert xa.dtype == object and [list(s) for s in xa] == [list(s) for s in ka]
    assert [list(s) for s in xb] == [list(s) for s in kb]
    assert np.array_equal(ya, kya) and np.array_equal(yb, kyb)


def test_imdb_maxlen_too_small(imdb_file):
    with pytest.raises(ValueError, match="no sequence was kept"):
        imdb.load_data(maxlen=1)


def test_word_indices(env, monkeypatch):
    words = json.dumps({"the": 1, "and": 2, "film": 3}).encode()
    _install(monkeypatch, env, "imdb_word_index", "imdb_word_index.json", words, md5=True)
    assert imdb.get_word_index() == {"the": 1, "and": 2, "film": 3}
    path = _install(monkeypatch, env, "reuters_word_index", "reuters_word_index.json", words,
                    md5=True)
    assert reuters.get_word_index(str(path)) == {"the": 1, "and": 2, "film": 3}
    path.write_bytes(b'{"the": 2}')
    with pytest.raises(_loader.ChecksumError, match="mismatch"):
        reuters.get_word_index()


def test_reuters_matches_keras(env, monkeypatch):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    from keras.src.datasets import reuters as keras_reuters
    rng = np.random.default_rng(1)
    path = _install(monkeypatch, env, "reuters", "reuters.npz",
                    _npz_bytes(protocol=3, x=_ragged(rng, 50, 80, 20), y=rng.integers(0, 46, 50)))
    monkeypatch.setattr(keras_reuters, "get_file", lambda *a, **k: str(path))
    for kwargs in ({}, {"num_words": 30, "test_split": 0.3, "maxlen": 12}):
        (xa, ya), (xb, yb) = reuters.load_data(**kwargs)
        (ka, kya), (kb, kyb) = keras.datasets.reuters.load_data(**kwargs)
        assert [list(s) for s in xa] == [list(s) for s in ka] and np.array_equal(ya, kya)
        assert [list(s) for s in xb] == [list(s) for s in kb] and np.array_equal(yb, kyb)
    assert list(reuters.get_label_names()) == list(keras.datasets.reuters.get_label_names())


@pytest.mark.parametrize("module,name,features", [(boston_housing, "boston_housing", 13),
                                                  (california_housing, "california_housing", 8)])
def test_housing_matches_keras(env, monkeypatch, module, name, features):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    import importlib
    keras_module = importlib.import_module(f"keras.src.datasets.{name}")
    rng = np.random.default_rng(2)
    data = _npz_bytes(x=rng.normal(size=(700, features)), y=rng.normal(size=700))
    path = _install(monkeypatch, env, name, f"{name}.npz", data)
    monkeypatch.setattr(keras_module, "get_file", lambda *a, **k: str(path))
    (xa, ya), (xb, yb) = module.load_data(test_split=0.25)
    (ka, kya), (kb, kyb) = getattr(keras.datasets, name).load_data(test_split=0.25)
    for ours, theirs in ((xa, ka), (ya, kya), (xb, kb), (yb, kyb)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    assert len(xa) == 525
    if module is california_housing:
        (xs, _), (xt, _) = module.load_data(version="small")
        assert len(xs) + len(xt) == 600
        with pytest.raises(ValueError, match="'small', 'large'"):
            module.load_data(version="medium")


def test_wrong_file_is_refused_and_missing_file_explained(env, monkeypatch):
    path = _install(monkeypatch, env, "boston_housing", "boston_housing.npz", _npz_bytes(x=np.zeros(3)))
    path.write_bytes(b"tampered")
    with pytest.raises(_loader.ChecksumError, match="SHA-256 mismatch"):
        boston_housing.load_data()
    monkeypatch.setenv("SHENDU_OFFLINE", "1")
    monkeypatch.setitem(_loader.SPECS, "imdb", _loader._Spec({"imdb.npz": ("0" * 64,)},
                                                             ("https://example.invalid/",)))
    with pytest.raises(_loader.DatasetNotFoundError, match="imdb.npz"):
        imdb.load_data()


def test_npz_reader_never_runs_code(tmp_path):
    # A pickle stream naming os.system, in an object array's place.
    evil = (b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - len(header)) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + evil
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.npy", npy)
    (tmp_path / "evil.npz").write_bytes(buf.getvalue())
    with pytest.raises(DatasetFormatError, match="names os.system"):
        load_npz(tmp_path / "evil.npz")
    for protocol in (2, 3, 4, 5):
        arrays = {"o": np.array([[1, 2], [3]], dtype=object), "f": np.arange(4.0),
                  "s": np.array(["ab", "c"], dtype=object)}
        (tmp_path / "ok.npz").write_bytes(_npz_bytes(protocol=protocol, **arrays))
        back = load_npz(tmp_path / "ok.npz")
        assert [list(x) for x in back["o"]] == [[1, 2], [3]] and back["s"].tolist() == ["ab", "c"]
        assert np.array_equal(back["f"], np.arange(4.0))
