"""Finding, verifying and downloading dataset files: the one loader under every dataset.

Where a file is looked for, in order:

1. an explicit ``path=`` (a file, or a folder holding the dataset's standard files);
   when given it is the only place looked, so a wrong path never turns into a silent
   download somewhere else;
2. the cache folder ``$SHENDU_HOME/datasets/<name>/`` (default ``~/.shendu/datasets``);
3. known system locations (Debian's ``dataset-fashion-mnist`` package);
4. a download from the dataset's canonical public location into the cache folder,
   skipped when ``SHENDU_OFFLINE=1``.

Every file is checked against a SHA-256 written below before it is read, wherever it
was found. A download goes to a temporary file in the cache folder and is renamed to
its final name only after its digest matched, so an interrupted or corrupted download
never leaves a file that a later load would trust.
"""
import hashlib
import os
from pathlib import Path

CONNECT_TIMEOUT_S = 10
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A dataset file's SHA-256 is not the one recorded for it."""


class DatasetNotFoundError(FileNotFoundError):
    """No usable copy of a dataset's files was found, and none could be downloaded."""


class _Spec:
    """What a dataset is made of: its files, their accepted digests, where they live."""

    def __init__(self, files, urls, system_dirs=()):
        self.files = files              # file name -> tuple of accepted SHA-256 digests
        self.urls = urls                # base URLs tried in order; file name is appended
        self.system_dirs = system_dirs  # folders a system package installs the files in


_MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION_URLS = (
    "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)
_TORONTO = "https://www.cs.toronto.edu/~kriz/"
_KERAS_URLS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",)
# Keras's own cache: a file Keras downloaded is used (after its digest is checked).
_KERAS_CACHE = (os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME") or "~/.keras"),
                             "datasets"),)

# The canonical digests are those recorded in TensorFlow Datasets' url_checksums
# (mnist.txt, fashion_mnist.txt, cifar10.txt, cifar100.txt) for the files the URLs above
# serve. Debian's dataset-fashion-mnist ships the same compressed data with the gzip
# header rewritten for reproducible builds (file name dropped, mtime set), so its files
# have digests of their own; both are accepted.
SPECS = {
    "mnist": _Spec(
        files={
            "train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
            "train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
            "t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
            "t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
        },
        urls=_MNIST_URLS,
    ),
    "fashion_mnist": _Spec(
        files={
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",   # Zalando
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),  # Debian
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
        },
        urls=_FASHION_URLS,
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    "cifar10": _Spec(
        files={"cifar-10-binary.tar.gz": (
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",)},
        urls=(_TORONTO,),
    ),
    "cifar100": _Spec(
        files={"cifar-100-binary.tar.gz": (
            "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",)},
        urls=(_TORONTO,),
    ),
    # Keras's own files, with the digests keras/src/datasets/*.py records for them.
    "imdb": _Spec(
        files={"imdb.npz": ("69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
    "imdb_word_index": _Spec(
        files={"imdb_word_index.json": ("md5:bfafd718b763782e994055a2d397834f",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
    "reuters": _Spec(
        files={"reuters.npz": ("d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
    "reuters_word_index": _Spec(
        files={"reuters_word_index.json": ("md5:4d44cc38712099c9e383dc6e5f11a921",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
    "boston_housing": _Spec(
        files={"boston_housing.npz": (
            "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
    "california_housing": _Spec(
        files={"california_housing.npz": (
            "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",)},
        urls=_KERAS_URLS, system_dirs=_KERAS_CACHE),
}


def shendu_home():
    """The folder shendu keeps its data in: ``$SHENDU_HOME``, else ``~/.shendu``."""
    return Path(os.environ.get("SHENDU_HOME") or Path.home() / ".shendu")


def cache_dir(name):
    """The cache folder of one dataset: ``<shendu_home>/datasets/<name>``."""
    return shendu_home() / "datasets" / name


def is_offline():
    """Whether ``SHENDU_OFFLINE`` asks to skip downloads."""
    return os.environ.get("SHENDU_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _matches(path, digests):
    """(whether the file has one of ``digests``, its SHA-256)."""
    md5s = [d[4:] for d in digests if d.startswith("md5:")]
    if md5s:
        h = hashlib.md5()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        if h.hexdigest() in md5s:
            return True, None
    found = sha256_of(path)
    return found in digests, found


def verify(path, digests):
    """Raise ``ChecksumError`` unless the file's SHA-256 is one of ``digests`` (a digest
    written ``md5:<hex>`` is an MD5, for the files Keras records only that for)."""
    ok, found = _matches(path, digests)
    if not ok:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch: expected {' or '.join(digests)}, found {found}. "
            f"The file is damaged or not the official one; delete it and load again, "
            f"or put an intact copy in its place.")


def _fetch_url(url, out, timeout=CONNECT_TIMEOUT_S):
    """Stream ``url`` into the open binary file ``out`` (tests replace this)."""
    import urllib.request  # only a download needs the HTTP stack
    with urllib.request.urlopen(url, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)


def download(url, dest, digests):
    """Download ``url`` to ``dest``, atomically and only if its SHA-256 is in ``digests``.

    The bytes go to a temporary file beside ``dest``; it is renamed to ``dest`` only
    after the digest matched, and removed on any failure, interruption included.
    """
    from ..saving.atomic_file import atomic_write
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(dest, what="download") as out:
        _fetch_url(url, out)
        out.flush()
        ok, found = _matches(out.name, digests)
        if not ok:
            raise ChecksumError(
                f"{url}: SHA-256 mismatch in the download: expected {' or '.join(digests)}, "
                f"found {found}; nothing was saved to {dest}")
    return dest


def fetch(name, path=None):
    """Locate, verify (and if need be download) every file of dataset ``name``.

    Args:
        name: a key of ``SPECS``.
        path: optional file or folder given by the user; when set, the only place looked.

    Returns:
        A dict from standard file name to a verified ``Path``.
    """
    spec = SPECS[name]
    names = list(spec.files)
    if path is not None:
        path = Path(os.path.expanduser(os.fspath(path)))
        if path.is_file():
            if len(names) != 1:
                raise ValueError(
                    f"{name}.load_data(path={str(path)!r}): {name} is made of {len(names)} files "
                    f"({', '.join(names)}); expected path to be the folder holding them, "
                    f"found a single file")
            found = {names[0]: path}
            places = [str(path)]
        else:
            found = _find(names, [path])
            places = [f"{path} (the path= argument)"]
        download_note = "download not tried: an explicit path= is the only place looked"
    else:
        cache = cache_dir(name)
        found = _find(names, [cache, *map(Path, spec.system_dirs)])
        places = [f"{cache} (cache: $SHENDU_HOME/datasets/{name})"]
        places += [f"{d} (system package)" for d in spec.system_dirs]
        download_note = None

    # Verify what exists before any download, so a corrupted cache is reported at once.
    for fname, fpath in found.items():
        verify(fpath, spec.files[fname])

    missing = [n for n in names if n not in found]
    if not missing:
        return found
    if download_note is None and is_offline():
        download_note = "download skipped: SHENDU_OFFLINE is set"
    if download_note is None:
        failures = []
        for fname in missing:
            got, errors = _download_any(spec, fname, cache_dir(name) / fname)
            if got is None:
                # The other files come from the same hosts: trying them would only
                # multiply the wait when the network is down.
                failures = errors
                break
            found[fname] = got
        checksum_errors = [e for e in failures if isinstance(e, ChecksumError)]
        if checksum_errors:
            raise checksum_errors[0]
        download_note = "download failed:\n" + "\n".join(f"    {e}" for e in failures)
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetNotFoundError(_not_found_message(name, spec, missing, places, download_note))
    return found


def _find(names, folders):
    found = {}
    for fname in names:
        for folder in folders:
            candidate = Path(folder) / fname
            if candidate.is_file():
                found[fname] = candidate
                break
    return found


def _download_any(spec, fname, dest):
    errors = []
    for base in spec.urls:
        url = base + fname
        try:
            return download(url, dest, spec.files[fname]), errors
        except ChecksumError as e:
            errors.append(e)
        except OSError as e:  # URLError, timeouts and refused connections are all OSErrors
            errors.append(OSError(f"{url}: {e}"))
    return None, errors


def _not_found_message(name, spec, missing, places, download_note):
    lines = [f"{name}: could not find {', '.join(missing)}.", "Looked in:"]
    lines += [f"  - {p}" for p in places]
    lines.append(f"  - {download_note}")
    lines += [
        "To provide the files, either",
        f"  - pass load_data(path=FOLDER) with a folder holding {', '.join(spec.files)}, or",
        f"  - copy them into {cache_dir(name)}/ under exactly those names.",
        f"They can be downloaded from {spec.urls[0]} (file name appended); "
        f"their SHA-256 digests are checked.",
    ]
    return "\n".join(lines)
