"""Tests of shendu.datasets on small synthetic IDX and CIFAR files; no test uses the network."""
import gzip
import hashlib
import io
import os
import shutil
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from shendu.datasets import (ChecksumError, DatasetFormatError, DatasetNotFoundError, cifar10,
                             cifar100, fashion_mnist, mnist)
from shendu.datasets import _formats, _loader

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


# --- builders ----------------------------------------------------------------------

def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def snapshot(folder):
    """Every file under ``folder`` with its bytes and mtime, to show nothing changed."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_idx_files(rng, n_train=6, n_test=4):
    """Synthetic MNIST-style files: {name: gzip bytes} and the arrays they hold."""
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    files = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    return files, arrays


def cifar_record_bytes(images_chw, labels):
    """Records as the CIFAR binary files lay them out: labels, then R, G, B planes."""
    n = len(images_chw)
    return np.concatenate([np.asarray(labels, np.uint8).reshape(n, -1),
                           images_chw.reshape(n, -1)], axis=1).tobytes()


def make_tar(members, extra=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buf.getvalue()


def make_cifar10_archive(rng, per_batch=3):
    images = rng.integers(0, 256, (6 * per_batch, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, 6 * per_batch, dtype=np.uint8)
    members = {}
    for k, name in enumerate([*cifar10.TRAIN_MEMBERS, *cifar10.TEST_MEMBERS]):
        sl = slice(k * per_batch, (k + 1) * per_batch)
        members[name] = cifar_record_bytes(images[sl], labels[sl])
    return make_tar(members), images, labels


@pytest.fixture
def env(tmp_path, monkeypatch):
    """SHENDU_HOME in tmp_path, online, and any real network use fails the test."""
    home = tmp_path / "home"
    monkeypatch.setenv("SHENDU_HOME", str(home))
    monkeypatch.delenv("SHENDU_OFFLINE", raising=False)

    def no_network(*args, **kwargs):
        pytest.fail(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    return home


def patch_spec(monkeypatch, name, files, urls=("https://example.invalid/a/",), system_dirs=()):
    spec = _loader._Spec({n: (sha(d),) for n, d in files.items()}, urls, system_dirs)
    monkeypatch.setitem(_loader.SPECS, name, spec)
    return spec


# --- IDX parser --------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_uint8_images(tmp_path, rng, compress):
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    data = idx_bytes(images)
    p = tmp_path / "x.idx"
    p.write_bytes(gzip.compress(data) if compress else data)
    out = _formats.read_idx(p)
    assert out.dtype == np.uint8 and out.shape == (5, 28, 28)
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 1  # writable, not a view of read-only bytes


def test_read_idx_big_endian_types(tmp_path):
    values = np.array([[1, -2, 70000], [3, 4, -5]], dtype=np.int32)
    p = tmp_path / "ints.idx"
    p.write_bytes(idx_bytes(values, code=0x0C))
    out = _formats.read_idx(p)
    assert out.dtype == np.dtype("int32") and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"ab", "magic"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 2) + b"ab", "type code"),
    (b"\x00\x00\x08\x00", "at least 1 dimension"),
    (b"\x00\x00", "header of at least 4 bytes"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"abc", "truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"abc", "longer than its header"),
])
def test_read_idx_rejects_bad_files(tmp_path, data, message):
    p = tmp_path / "bad.gz"
    p.write_bytes(gzip.compress(data))
    with pytest.raises(DatasetFormatError, match=message) as info:
        _formats.read_idx(p)
    assert str(p) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_read_idx_rejects_truncated_gzip(tmp_path, rng):
    data = gzip.compress(idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    p = tmp_path / "cut.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetFormatError, match="truncated") as info:
        _formats.read_idx(p)
    assert str(p) in str(info.value)


# --- CIFAR parser ------------------------------------------------------------------

def test_cifar_records_channels_last():
    chw = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    chw[:, 0] = 10   # red plane
    chw[:, 1] = 20   # green plane
    chw[:, 2] = 30   # blue plane
    chw[1, 0, 5, 7] = 99  # one red pixel at row 5, column 7 of the second image
    images, labels = _formats.read_cifar_records(cifar_record_bytes(chw, [3, 8]), 1, "test")
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert images.flags.c_contiguous
    np.testing.assert_array_equal(images[0, 0, 0], [10, 20, 30])
    assert images[1, 5, 7, 0] == 99 and images[1, 7, 5, 0] == 10
    np.testing.assert_array_equal(labels, [[3], [8]])


def test_cifar_records_reject_partial_record():
    with pytest.raises(DatasetFormatError, match="3073-byte CIFAR records") as info:
        _formats.read_cifar_records(b"\x00" * 3000, 1, "archive.tar.gz:data_batch_1.bin")
    assert "archive.tar.gz:data_batch_1.bin" in str(info.value)


def test_cifar10_load_from_archive_file_and_folder(env, tmp_path, monkeypatch, rng):
    archive, images, labels = make_cifar10_archive(rng)
    patch_spec(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": archive})
    folder = tmp_path / "given"
    folder.mkdir()
    (folder / "cifar-10-binary.tar.gz").write_bytes(archive)
    for path in (folder / "cifar-10-binary.tar.gz", folder):
        (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=path)
        assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
        assert y_train.shape == (15, 1) and y_test.shape == (3, 1)
        assert x_train.dtype == y_train.dtype == np.uint8
        np.testing.assert_array_equal(x_train, images[:15].transpose(0, 2, 3, 1))
        np.testing.assert_array_equal(x_test, images[15:].transpose(0, 2, 3, 1))
        np.testing.assert_array_equal(y_train[:, 0], labels[:15])


def test_cifar100_label_modes(env, tmp_path, monkeypatch, rng):
    chw = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    coarse, fine = np.array([1, 2, 3, 4, 5]), np.array([50, 60, 70, 80, 90])
    labels = np.stack([coarse, fine], axis=1)
    archive = make_tar({cifar100.TRAIN_MEMBERS[0]: cifar_record_bytes(chw[:3], labels[:3]),
                        cifar100.TEST_MEMBERS[0]: cifar_record_bytes(chw[3:], labels[3:])})
    patch_spec(monkeypatch, "cifar100", {"cifar-100-binary.tar.gz": archive})
    p = tmp_path / "cifar-100-binary.tar.gz"
    p.write_bytes(archive)
    (x, y), (xt, yt) = cifar100.load_data(path=p)
    np.testing.assert_array_equal(y[:, 0], fine[:3])
    np.testing.assert_array_equal(yt[:, 0], fine[3:])
    assert y.shape == (3, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(x, chw[:3].transpose(0, 2, 3, 1))
    (_, y), (_, yt) = cifar100.load_data(label_mode="coarse", path=p)
    np.testing.assert_array_equal(np.concatenate([y, yt])[:, 0], coarse)
    with pytest.raises(ValueError, match="label_mode='medium'"):
        cifar100.load_data(label_mode="medium", path=p)


def test_cifar_archive_is_never_extracted(env, tmp_path, monkeypatch, rng):
    archive, _, _ = make_cifar10_archive(rng)
    # Rebuild it with a hostile member beside the real ones, and a symlink in place of one.
    evil = tarfile.TarInfo("../escaped.bin")
    link = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    members = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for m in tar:
            if m.name != "cifar-10-batches-bin/test_batch.bin":
                members[m.name] = tar.extractfile(m).read()
    hostile = make_tar(members, extra=[evil, link])
    patch_spec(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": hostile})
    work = tmp_path / "w"
    work.mkdir()
    (work / "cifar-10-binary.tar.gz").write_bytes(hostile)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with pytest.raises(DatasetFormatError, match="no regular file named"):
            cifar10.load_data(path=work)
    finally:
        os.chdir(cwd)
    assert not list(tmp_path.rglob("escaped.bin"))
    assert [p.name for p in work.iterdir()] == ["cifar-10-binary.tar.gz"]


# --- MNIST family through the loader -----------------------------------------------

def test_mnist_load_from_folder(env, tmp_path, monkeypatch, rng):
    files, arrays = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=tmp_path)
    assert x_train.shape == (6, 28, 28) and y_train.shape == (6,)
    assert x_test.shape == (4, 28, 28) and y_test.shape == (4,)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])


def test_mnist_path_file_is_refused_with_advice(env, tmp_path, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(files[p.name])
    with pytest.raises(ValueError, match="expected path to be the folder"):
        mnist.load_data(path=p)


def test_explicit_path_missing_files_is_the_only_place_looked(env, tmp_path, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)
    monkeypatch.setattr(_loader, "_fetch_url", lambda *a, **k: pytest.fail("download attempted"))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(files["train-images-idx3-ubyte.gz"])
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data(path=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "path= argument" in message
    assert "t10k-labels-idx1-ubyte.gz" in message


def test_cache_then_system_location(env, tmp_path, monkeypatch, rng):
    files, arrays = make_idx_files(rng)
    system = tmp_path / "usr-share"
    system.mkdir()
    patch_spec(monkeypatch, "fashion_mnist", files, system_dirs=(str(system),))
    for name, data in files.items():
        (system / name).write_bytes(data)
    (x_train, _), _ = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    # A cached copy wins over the system one: a corrupt one there proves it was read.
    cache = _loader.cache_dir("fashion_mnist")
    cache.mkdir(parents=True)
    (cache / "train-images-idx3-ubyte.gz").write_bytes(b"not the file")
    with pytest.raises(ChecksumError, match=str(cache)):
        fashion_mnist.load_data()


# --- checksums and the cache -------------------------------------------------------

def test_corrupt_cached_file_is_refused_and_left_alone(env, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)
    monkeypatch.setattr(_loader, "_fetch_url", lambda *a, **k: pytest.fail("download attempted"))
    cache = _loader.cache_dir("mnist")
    cache.mkdir(parents=True)
    for name, data in files.items():
        (cache / name).write_bytes(data)
    bad = bytearray(files["t10k-images-idx3-ubyte.gz"])
    bad[-20] ^= 0xFF
    (cache / "t10k-images-idx3-ubyte.gz").write_bytes(bytes(bad))
    before = snapshot(cache)
    for _ in range(2):  # refused again on the next load: nothing was repaired or deleted
        with pytest.raises(ChecksumError) as info:
            mnist.load_data()
        message = str(info.value)
        assert str(cache / "t10k-images-idx3-ubyte.gz") in message
        assert sha(files["t10k-images-idx3-ubyte.gz"]) in message  # expected
        assert sha(bytes(bad)) in message                           # found
        assert isinstance(info.value, ValueError)
        assert snapshot(cache) == before


def test_interrupted_download_leaves_nothing(env, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)

    def half_then_fail(url, out, timeout=None):
        data = files[url.rsplit("/", 1)[1]]
        out.write(data[: len(data) // 2])
        out.flush()
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(_loader, "_fetch_url", half_then_fail)
    with pytest.raises(DatasetNotFoundError, match="connection reset") as info:
        mnist.load_data()
    assert "download failed" in str(info.value)
    assert snapshot(env) == {}


def test_keyboard_interrupt_during_download_leaves_nothing(env, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)

    def interrupted(url, out, timeout=None):
        out.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_loader, "_fetch_url", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mnist.load_data()
    assert snapshot(env) == {}


def test_corrupt_download_is_refused_and_not_cached(env, monkeypatch, rng):
    files, _ = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files)
    monkeypatch.setattr(_loader, "_fetch_url", lambda url, out, timeout=None: out.write(b"evil"))
    with pytest.raises(ChecksumError) as info:
        mnist.load_data()
    assert sha(b"evil") in str(info.value) and "nothing was saved" in str(info.value)
    assert snapshot(env) == {}


def test_good_download_lands_only_after_its_check(env, monkeypatch, rng):
    files, arrays = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files,
               urls=("https://down.invalid/", "https://mirror.invalid/m/"))
    cache = _loader.cache_dir("mnist")
    calls, checked = [], []
    real_sha = _loader.sha256_of

    def fetch(url, out, timeout=None):
        calls.append(url)
        if url.startswith("https://down.invalid/"):
            raise urllib.error.URLError("no route to host")
        name = url.rsplit("/", 1)[1]
        # Bytes go to a temporary file in the cache folder, not to the final name.
        partial = [p.name for p in cache.iterdir() if p.name not in IDX_NAMES]
        assert len(partial) == 1 and partial[0].endswith(".tmp")
        assert not (cache / name).exists()
        out.write(files[name])

    def sha_spy(path):
        # While a download's digest is computed, its final name must not exist yet.
        final = next(n for n in IDX_NAMES if Path(path).name.startswith(f".{n}."))
        checked.append((final, (cache / final).exists()))
        return real_sha(path)

    monkeypatch.setattr(_loader, "_fetch_url", fetch)
    monkeypatch.setattr(_loader, "sha256_of", sha_spy)
    (x_train, y_train), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(IDX_NAMES)
    assert sorted(name for name, _ in checked) == sorted(IDX_NAMES)
    assert not any(exists for _, exists in checked)
    assert len(calls) == 8  # each file: the dead host first, then the mirror
    # The second load reads the cache and downloads nothing.
    monkeypatch.setattr(_loader, "_fetch_url", lambda *a, **k: pytest.fail("downloaded twice"))
    monkeypatch.setattr(_loader, "sha256_of", real_sha)
    (x_again, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_again, x_train)


# --- offline -----------------------------------------------------------------------

@pytest.mark.parametrize("module, name, file", [
    (mnist, "mnist", "train-images-idx3-ubyte.gz"),
    (fashion_mnist, "fashion_mnist", "t10k-labels-idx1-ubyte.gz"),
    (cifar10, "cifar10", "cifar-10-binary.tar.gz"),
    (cifar100, "cifar100", "cifar-100-binary.tar.gz"),
])
def test_offline_error_lists_places_at_once(env, tmp_path, monkeypatch, module, name, file):
    monkeypatch.setenv("SHENDU_OFFLINE", "1")
    monkeypatch.setattr(_loader, "_fetch_url", lambda *a, **k: pytest.fail("download attempted"))
    spec = _loader.SPECS[name]
    if spec.system_dirs:  # the real digests, but not the system folder of this machine
        monkeypatch.setitem(_loader.SPECS, name, _loader._Spec(
            spec.files, spec.urls, system_dirs=(str(tmp_path / "no-such-dir"),)))
    with pytest.raises(DatasetNotFoundError) as info:
        module.load_data()
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(env / "datasets" / name) in message
    assert "SHENDU_OFFLINE" in message and "path=" in message and file in message
    if spec.system_dirs:
        assert str(tmp_path / "no-such-dir") in message
    assert not env.exists()  # looking created nothing


# --- the bundled sample ------------------------------------------------------------

def test_load_sample_is_real_mnist():
    (x_train, y_train), (x_test, y_test) = mnist.load_sample()
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert y_train.shape == (8000,) and y_test.shape == (2000,)
    assert x_train.dtype == x_test.dtype == y_train.dtype == np.uint8
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert counts.tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    # The first two MNIST training digits are a 5 and a 0; digits have ink and background.
    assert y_train[:2].tolist() == [5, 0]
    assert x_train.max() == 255 and x_train.min() == 0
    assert 0.1 < (x_train > 127).mean() < 0.2


def test_load_sample_refuses_a_damaged_copy(tmp_path, monkeypatch):
    for name in mnist._SAMPLE_FILES:
        shutil.copy(mnist._SAMPLE_DIR / name, tmp_path / name)
    with open(tmp_path / "train-10k-labels-idx1-ubyte.gz", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    monkeypatch.setattr(mnist, "_SAMPLE_DIR", tmp_path)
    with pytest.raises(ChecksumError, match="094027e5c85b2d25"):
        mnist.load_sample()


# --- Debian's Fashion-MNIST --------------------------------------------------------

@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason=f"{DEBIAN_FASHION} is absent (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian_package(env, monkeypatch):
    monkeypatch.setattr(_loader, "_fetch_url", lambda *a, **k: pytest.fail("download attempted"))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_real_fetch_code_path_with_a_file_url(tmp_path, monkeypatch, rng):
    # urllib's own file:// handler drives the real download code without any network.
    monkeypatch.setenv("SHENDU_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SHENDU_OFFLINE", raising=False)
    files, arrays = make_idx_files(rng)
    served = tmp_path / "served"
    served.mkdir()
    for name, data in files.items():
        (served / name).write_bytes(data)
    patch_spec(monkeypatch, "mnist", files, urls=(served.as_uri() + "/",))
    _, (x_test, _) = mnist.load_data()
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    cache = _loader.cache_dir("mnist")
    assert sorted(p.name for p in cache.iterdir()) == sorted(IDX_NAMES)


def test_corrupt_mirror_then_good_mirror(env, monkeypatch, rng):
    files, arrays = make_idx_files(rng)
    patch_spec(monkeypatch, "mnist", files, urls=("https://bad.invalid/", "https://good.invalid/"))

    def fetch(url, out, timeout=None):
        name = url.rsplit("/", 1)[1]
        out.write(b"tampered" if url.startswith("https://bad.invalid/") else files[name])

    monkeypatch.setattr(_loader, "_fetch_url", fetch)
    (_, y_train), _ = mnist.load_data()
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in _loader.cache_dir("mnist").iterdir()) == sorted(IDX_NAMES)
