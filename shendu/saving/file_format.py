"""The shendu file: a zip archive, written atomically and read with bounds.

Members (all stored uncompressed)::

    shendu.json            {"format": "shendu", "format_version": 1, "kind": "model" | "weights",
                            "architecture", "compile", "training_state", ...}
    tensors.safetensors    weights and optimizer state (see ``safe_tensors.py``)

A file is recognised by its first bytes, never by its name. A ``.keras`` file also
holds Keras 3's members (``config.json``, ``metadata.json``, ``model.weights.h5``, see
``keras_files``), which this reader ignores; Keras's own files go to ``keras_files``.
"""
import io
import os
import zipfile

from .atomic_file import atomic_write
from .safe_tensors import UnsafeFileError, strict_json_loads

FORMAT_NAME = "shendu"
FORMAT_VERSION = 1
DOC_NAME = "shendu.json"
TENSORS_NAME = "tensors.safetensors"
MAX_DOC_BYTES = 64 * 2 ** 20
MAX_MEMBERS = 16

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def sniff(path):
    """What the file is, from its bytes: 'zip', or an UnsafeFileError naming the format."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(ZIP_MAGIC):
            return "zip"
        # HDF5's signature sits at byte 0 or, after a user block, at 512, 1024, 2048, ...
        offset = 0
        while True:
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                raise UnsafeFileError(
                    f"'{path}' is an HDF5 file (a Keras .h5 model or weights file), not a shendu "
                    "checkpoint: open it with load_model() or model.load_weights()")
            offset = 512 if offset == 0 else offset * 2
            if offset > 1 << 20:
                break
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        kind = "a Python pickle (e.g. a torch.save or joblib file)"
    elif head.startswith(b"\x93NUMPY"):
        kind = "a NumPy .npy file"
    elif not head:
        kind = "empty"
    else:
        kind = f"of an unknown format (first bytes {head!r})"
    raise UnsafeFileError(f"'{path}' is {kind}, not a shendu file; shendu never unpickles or "
                          "guesses formats from file names")


def _read_member(zf, info, limit, path):
    if info.file_size > limit:
        raise UnsafeFileError(f"'{path}': member '{info.filename}' declares {info.file_size} bytes, "
                              f"more than the limit of {limit}")
    out = io.BytesIO()
    with zf.open(info) as f:  # bounded: a member that lies about its size stops here
        while True:
            chunk = f.read(min(1 << 20, limit + 1 - out.tell()))
            if not chunk:
                break
            out.write(chunk)
            if out.tell() > limit:
                raise UnsafeFileError(f"'{path}': member '{info.filename}' expands beyond its "
                                      f"declared size (a zip bomb?)")
    return out.getvalue()


def read(path):
    """(document dict, tensor-block bytes or None) from a shendu file; nothing executed."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(_folder_message(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: '{path}'")
    sniff(path)
    length = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(infos) > MAX_MEMBERS:
                raise UnsafeFileError(f"'{path}': {len(infos)} zip members; a shendu file has "
                                      f"at most {MAX_MEMBERS}")
            if len(set(names)) != len(names):
                raise UnsafeFileError(f"'{path}': duplicate member names in the zip archive")
            if DOC_NAME not in names:
                raise UnsafeFileError(_foreign_zip_message(path, names))
            by_name = {i.filename: i for i in infos}
            doc_bytes = _read_member(zf, by_name[DOC_NAME], MAX_DOC_BYTES, path)
            tensors = None
            if TENSORS_NAME in by_name:
                info = by_name[TENSORS_NAME]
                if info.compress_type != zipfile.ZIP_STORED:
                    raise UnsafeFileError(f"'{path}': '{TENSORS_NAME}' must be stored uncompressed")
                tensors = _read_member(zf, info, length, path)
    except zipfile.BadZipFile as e:
        raise UnsafeFileError(f"'{path}' is a damaged or truncated zip archive ({e})") from None
    except (EOFError, zipfile.LargeZipFile, NotImplementedError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise UnsafeFileError(f"'{path}' could not be read as a zip archive ({e})") from None
    doc = strict_json_loads(doc_bytes, f"'{path}': {DOC_NAME}")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise UnsafeFileError(f"'{path}': {DOC_NAME} does not describe a shendu file")
    version = doc.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise UnsafeFileError(f"'{path}' has format_version {version!r}; this shendu reads versions "
                              f"1 to {FORMAT_VERSION} (a newer shendu may have written it)")
    return doc, tensors


def _folder_message(path):
    try:
        inside = sorted(n for n in os.listdir(path) if n.endswith((".keras", ".h5", ".shendu")))
    except OSError:
        inside = []
    hint = (f"; it holds {', '.join(inside[:5])}" + (", ..." if len(inside) > 5 else "")
            if inside else "")
    return (f"'{path}' is a folder, not a shendu file: give the path of the file itself "
            f"(a TensorFlow SavedModel folder cannot be read){hint}")


def _foreign_zip_message(path, names):
    if "config.json" in names and any(n.endswith(".weights.h5") or n.endswith(".h5") for n in names):
        what = "a Keras 3 native .keras archive; reading Keras files is planned but not supported yet"
    elif any(n.endswith(".pkl") or n.endswith("data.pkl") for n in names):
        what = "a zip holding pickles (e.g. a PyTorch checkpoint), which shendu never loads"
    elif names and all(n.endswith(".npy") for n in names):
        what = "a NumPy .npz archive, not a shendu file"
    else:
        what = f"a zip archive without '{DOC_NAME}' (members: {names[:8]})"
    return f"'{path}' is {what}"


def write(path, doc, tensor_bytes=None, extra_members=None):
    """Write the archive atomically (``atomic_file.atomic_write``): a crash at any moment
    leaves either the old file or the new one at ``path``, never a partial file; the file
    gets the umask's mode, or the mode of the file it replaces. ``extra_members``
    (``{name: bytes}``, e.g. a Keras 3 archive's) are stored first, uncompressed."""
    import json
    text = json.dumps(dict(doc, format=FORMAT_NAME, format_version=FORMAT_VERSION),
                      indent=1, allow_nan=False)
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in (extra_members or {}).items():
                zf.writestr(name, data)
            zf.writestr(DOC_NAME, text)
            if tensor_bytes is not None:
                zf.writestr(TENSORS_NAME, tensor_bytes)
