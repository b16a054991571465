"""Write a file atomically: a temporary file beside it, fsync, rename over it.

Every file shendu writes for the user (models, weights, checkpoints, downloads) goes
through :func:`atomic_write`, so that

* a crash at any moment leaves the old file or the new one, never a partial file;
* the new file has the mode an ordinary ``open(path, "w")`` would give it: the umask's
  for a new file, the old file's mode when it replaces one (``tempfile.mkstemp``
  would make every file 0600);
* an error names the path the user gave, never the temporary file, and says what is
  wrong with it (a folder, a missing folder, a regular file where a folder should be);
* the temporary files of a save that was killed (SIGKILL, power loss) do not stay
  for good: the next write into the same folder removes them. Only files with our
  naming are touched, ``.<name>.<host>-<pid>.<random>.tmp``, and only when the
  process that made them is gone (same host) or they are a day old (another host).

Example:
    >>> import os, tempfile
    >>> from shendu.saving.atomic_file import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path) as f:
    ...     _ = f.write(b"hello")
    >>> open(path, "rb").read()
    b'hello'
"""
import contextlib
import errno
import functools
import os
import re
import stat
import time
import zlib

SUFFIX = ".tmp"
# A temp file from another host (a shared folder) is removed only once it is this old.
FOREIGN_TEMP_AGE_S = 24 * 3600
_OURS = re.compile(r"^\..+\.([0-9a-f]{6})-(\d+)\.[0-9a-z]{8}\.tmp$")
# Names tempfile.mkstemp gave before this module existed: removed once a day old.
_LEGACY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


@functools.lru_cache(maxsize=None)
def _host():
    import socket  # (not at import: `import shendu` stays fast)
    return f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFF:06x}"


def temp_name(basename):
    """The name of a temporary file for ``basename`` made by this process."""
    return f".{basename}.{_host()}-{os.getpid()}.{os.urandom(4).hex()}{SUFFIX}"


def check_target(path, what="save"):
    """Raise a clear OSError if ``path`` cannot be written as a file; names ``path``."""
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"Cannot {what} to '{path}': it is a folder; "
                                f"give a file name inside it, e.g. '{os.path.join(path, 'model.keras')}'")
    folder = os.path.dirname(os.path.abspath(path))
    probe = folder
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise NotADirectoryError(errno.ENOTDIR, f"Cannot {what} to '{path}': '{probe}' is a file, "
                                 "not a folder")
    if probe != folder:
        raise FileNotFoundError(errno.ENOENT, f"Cannot {what} to '{path}': the folder '{folder}' "
                                "does not exist; create it first (os.makedirs)")


def _mode_for(path):
    """The old file's mode, else what the umask allows for a new file (0o666 & ~umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None  # the file is created with os.open(..., 0o666): the kernel applies the umask


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


def remove_stale_temps(folder):
    """Remove the temporary files that dead writes of ours left in ``folder``."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(SUFFIX)):
            continue
        m = _OURS.match(name)
        try:
            if m is not None:
                host, pid = m.group(1), int(m.group(2))
                stale = (not _alive(pid)) if host == _host() else \
                    now - entry.stat().st_mtime > FOREIGN_TEMP_AGE_S
            else:
                stale = _LEGACY.match(name) is not None and \
                    now - entry.stat().st_mtime > FOREIGN_TEMP_AGE_S
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass  # another writer removed it first, or it is not ours to remove


@contextlib.contextmanager
def atomic_write(path, what="save"):
    """Open a temporary file beside ``path`` for writing (binary; its ``.name`` is the
    temporary file's path); on success it replaces
    ``path`` atomically, with ``path``'s old mode or the umask's; on any error it is removed
    and ``path`` is untouched. ``what`` names the action in error messages."""
    path = os.fspath(path)
    check_target(path, what)
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temps(folder)
    mode = _mode_for(path)
    tmp = os.path.join(folder, temp_name(os.path.basename(path)))
    try:
        # "x": O_CREAT | O_EXCL with mode 0o666, which the kernel masks with the umask.
        f = open(tmp, "xb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise type(e)(e.errno, f"Cannot {what} to '{path}': cannot create a file in '{folder}' "
                      f"({e.strerror})") from None
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
