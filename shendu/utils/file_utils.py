"""``get_file``: download a file once into a cache folder, check it, and unpack it safely."""
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from .. import config as _config

_CHUNK = 1 << 16
TIMEOUT_S = 60


def keras_home():
    """The folder ``get_file`` caches into by default: ``$KERAS_HOME``, else ``~/.keras``
    (Keras's own cache, so files Keras downloaded are found and not fetched again)."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _hasher(algorithm, file_hash=None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"get_file: `hash_algorithm` must be 'auto', 'sha256' or 'md5'. "
                     f"Received: hash_algorithm={algorithm!r}")


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """The hex digest of a file: ``algorithm`` is 'sha256', 'md5' or a hashlib object."""
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file's digest is ``file_hash`` ('auto': sha256 for 64 hex digits, else md5)."""
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def _download(origin, target):
    """Stream ``origin`` to ``target`` (atomically)."""
    from .progbar import Progbar
    if _offline() and urllib.parse.urlsplit(origin).scheme not in ("file", ""):
        raise OSError(f"get_file: {target} is not in the cache and SHENDU_OFFLINE is set, so "
                      f"{origin} was not downloaded. Put the file there, or unset SHENDU_OFFLINE.")
    _config.print_msg(f"Downloading data from {origin}")
    from ..saving.atomic_file import atomic_write
    # Written to a temporary file renamed into place at the end: an interrupted download
    # never leaves a partial file under the final name.
    with atomic_write(target, "download") as out:
        try:
            with urllib.request.urlopen(origin, timeout=TIMEOUT_S) as response:
                total = response.headers.get("Content-Length") if response.headers else None
                bar = Progbar(int(total) if total and total.isdigit() else None)
                done = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(done)
                bar.update(done, finalize=True)
        except urllib.error.HTTPError as e:
            raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise OSError(f"URL fetch failure on {origin}: {reason}. If this machine is "
                          f"offline, put the file at {target}.") from None


def _offline():
    return os.environ.get("SHENDU_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _inside(base, name):
    """Whether the archive member ``name`` lands inside ``base`` (no '..', no absolute path)."""
    base = os.path.realpath(base)
    target = os.path.realpath(os.path.join(base, name))
    return os.path.commonpath([base, target]) == base


def _safe_members(archive, base):
    """The members of a tar or zip archive that stay inside ``base``; the others are skipped
    with a warning (path traversal such as '../x' or '/etc/x', links pointing outside,
    device files)."""
    if isinstance(archive, zipfile.ZipFile):
        for info in archive.infolist():
            if _inside(base, info.filename):
                yield info
            else:
                warnings.warn(f"Skipping invalid path during archive extraction: "
                              f"'{info.filename}'.", stacklevel=3)
        return
    for info in archive.getmembers():
        ok = info.isfile() or info.isdir()
        if info.issym() or info.islnk():
            link_base = os.path.dirname(info.name) if info.issym() else ""
            ok = _inside(base, os.path.join(link_base, info.linkname))
        if ok and _inside(base, info.name):
            yield info
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{info.name}'.",
                          stacklevel=3)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Unpack a tar (.tar, .tar.gz, .tar.bz2, .tar.xz) or zip archive into ``path``.

    Members that would land outside ``path`` are skipped with a warning. The archive is
    unpacked into a temporary folder beside ``path`` and moved into place when complete.

    Returns:
        True if the file was an archive of an allowed format and was unpacked, else False.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else \
        [archive_format] if isinstance(archive_format, str) else list(archive_format)
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(f"extract_archive: archive_format must be 'auto', 'tar', 'zip' or "
                             f"None. Received: archive_format={archive_format!r}")
        is_match = tarfile.is_tarfile if fmt == "tar" else zipfile.is_zipfile
        if not is_match(file_path):
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
        try:
            opener = tarfile.open if fmt == "tar" else zipfile.ZipFile
            with opener(file_path) as archive:
                members = list(_safe_members(archive, tmp))
                if fmt == "tar" and hasattr(tarfile, "data_filter"):
                    archive.extractall(tmp, members=members, filter="data")
                else:
                    archive.extractall(tmp, members=members)
            if os.path.isdir(path):
                shutil.rmtree(path)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Download ``origin`` into ``cache_dir/cache_subdir`` unless it is already there.

    Args:
        fname: the file's name in the cache (default: the last part of the URL's path).
        origin: the URL (``http(s)://`` or ``file://``).
        untar: deprecated Keras spelling of ``extract=True`` for tar archives.
        md5_hash: deprecated; ``file_hash`` with ``hash_algorithm='md5'``.
        file_hash: the expected sha256 or md5 hex digest: a cached file that does not match
            is downloaded again, and a download that does not match raises ValueError.
        cache_subdir: the sub-folder of ``cache_dir`` (default ``'datasets'``).
        hash_algorithm: ``'auto'`` (sha256 for a 64-digit hash, else md5), ``'sha256'``,
            ``'md5'``.
        extract: unpack a tar or zip archive; the folder it was unpacked into is returned.
        archive_format: ``'auto'``, ``'tar'``, ``'zip'`` or None.
        cache_dir: default ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when that is not
            writable).
        force_download: download even when the file is cached.

    Returns:
        The path of the file (or of the folder it was extracted into).

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a.txt").write_text("hi")
        2
        >>> p = get_file(origin=(d / "a.txt").as_uri(), cache_dir=str(d / "cache"))
        >>> open(p).read()
        'hi'
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(str(cache_dir)) if cache_dir is not None else keras_home()
    if not _can_create(base) or not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    provided = fname is not None and str(fname) != ""
    fname = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                         "Please specify the `fname` argument.")
    if os.sep in fname or (os.altsep and os.altsep in fname) or fname in (".", ".."):
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the "
                         f"file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and \
            not validate_file(target, file_hash, hash_algorithm):
        _config.print_msg(f"A local file was found, but it seems to be incomplete or outdated "
                          f"because the {hash_algorithm} file hash does not match the original "
                          f"value of {file_hash} so we will re-download the data.")
        download = True
    if download:
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.unlink(target)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file "
                             f"hash does not match the provided value of {file_hash}.")
    if extract or untar:
        if download or not os.path.isdir(extraction_dir):
            if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
                warnings.warn(f"get_file: could not extract {target}: not a tar or zip archive",
                              stacklevel=2)
        return extraction_dir
    return target


def _can_create(path):
    try:
        os.makedirs(path, exist_ok=True)
        return True
    except OSError:
        return False
