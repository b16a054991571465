"""Readers for the standard dataset file formats: IDX (MNIST family) and CIFAR binary.

Both read bytes and build NumPy arrays with ``np.frombuffer``; nothing here unpickles,
evaluates or extracts files to disk. Every structural problem raises a
``DatasetFormatError`` naming the file, what was expected and what was found.
"""
import gzip
import os
import tarfile
import zlib

import numpy as np

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type codes (third header byte) and the big-endian element types they stand for.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

CIFAR_IMAGE_BYTES = 3 * 32 * 32


class DatasetFormatError(ValueError):
    """A dataset file does not have the structure its format requires."""


def _read_maybe_gzip(path):
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        # gzip raises EOFError for a cut-off stream and BadGzipFile/zlib.error for garbage.
        raise DatasetFormatError(
            f"{path}: expected a complete gzip stream, found a damaged or truncated one "
            f"({type(e).__name__}: {e})") from e


def read_idx(path):
    """Read an IDX file (gzip-compressed or plain) into a NumPy array.

    The IDX header is two zero bytes, a type code (0x08 = uint8, ...), the number of
    dimensions, then one big-endian uint32 size per dimension; the data follows in C
    order. The data length must match the header exactly.

    Args:
        path: the file to read.

    Returns:
        An array of the header's shape in native byte order (uint8 for MNIST).
    """
    path = os.fspath(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise DatasetFormatError(
            f"{path}: expected an IDX header of at least 4 bytes, found a file of {len(data)} bytes")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES:
        raise DatasetFormatError(
            f"{path}: expected an IDX magic number 0x0000TTNN with a type code TT in "
            f"{{{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)}}}, found 0x{data[:4].hex().upper()}")
    if ndim == 0:
        raise DatasetFormatError(f"{path}: expected at least 1 dimension in the IDX header, found 0")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetFormatError(
            f"{path}: expected a {header_len}-byte IDX header for {ndim} dimensions, "
            f"found only {len(data)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise DatasetFormatError(
            f"{path}: IDX file is {what}: header shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    # astype copies: the result is writable and in native byte order.
    return array.astype(dtype.newbyteorder("="))


def read_cifar_records(raw, label_bytes, source):
    """Split CIFAR binary records into images and labels.

    Each record is ``label_bytes`` label bytes followed by 3072 pixel bytes: the 1024
    red, then green, then blue values of a 32 x 32 image, row by row.

    Args:
        raw: the bytes of one batch file.
        label_bytes: 1 for CIFAR-10; 2 for CIFAR-100 (coarse label, then fine label).
        source: a name for the bytes, used in error messages.

    Returns:
        ``(images, labels)``: uint8 arrays of shape (n, 32, 32, 3), channels last, and
        (n, label_bytes).
    """
    record = label_bytes + CIFAR_IMAGE_BYTES
    if len(raw) == 0 or len(raw) % record:
        raise DatasetFormatError(
            f"{source}: expected a whole number of {record}-byte CIFAR records, "
            f"found {len(raw)} bytes ({len(raw) / record:.3f} records)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = records[:, :label_bytes].copy()
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_tar_members(path, names):
    """Read the named regular-file members of a (gzip) tar archive into memory.

    Members are looked up by their exact names and read with ``extractfile``, so no
    path from the archive ever reaches the file system.

    Returns:
        A dict from member name to its bytes.
    """
    path = os.fspath(path)
    wanted = set(names)
    found = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    found[member.name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DatasetFormatError(
            f"{path}: expected a readable tar archive, found a damaged one "
            f"({type(e).__name__}: {e})") from e
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetFormatError(
            f"{path}: expected the archive members {list(names)}, "
            f"found no regular file named {missing}")
    return found
