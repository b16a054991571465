"""The tensor block of a shendu file: the safetensors layout, written and read here.

Layout (https://github.com/huggingface/safetensors, little-endian throughout)::

    8 bytes     N, the length of the header (unsigned 64-bit)
    N bytes     a JSON object {name: {"dtype": "F32", "shape": [2, 3],
                                      "data_offsets": [begin, end]}, "__metadata__": {...}}
    the rest    the raw bytes of every tensor, C order; offsets count from here

Reading trusts nothing: the header length, every shape, dtype and offset is checked
against the size of the buffer before any array is made, names must be unique,
tensors must tile the data block exactly (no overlap, no gap), and only plain
numeric dtypes exist (no object arrays, so nothing can be unpickled).
"""
import json
import struct

import numpy as np

MAX_HEADER_BYTES = 64 * 2 ** 20
MAX_TENSORS = 1_000_000
MAX_NDIM = 32

# safetensors dtype code <-> little-endian NumPy dtype. Nothing else is accepted.
DTYPES = {"BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
          "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
          "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
          "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8")}
_CODES = {dt.str.lstrip("<|="): code for code, dt in DTYPES.items()}


class UnsafeFileError(ValueError):
    """A file that is broken, malicious or of an unsupported format (a ValueError)."""


def _code_of(array, name):
    dt = np.dtype(array.dtype).newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    code = _CODES.get(dt.str.lstrip("<|="))
    if code is None:
        raise ValueError(f"Cannot save tensor '{name}' of dtype {array.dtype}: only bool, "
                         f"integer and float arrays can be saved")
    return code


def encode(tensors, metadata=None):
    """``{name: ndarray}`` (and string metadata) -> bytes in the safetensors layout."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors.items():
        array = np.asarray(array)
        code = _code_of(array, name)
        raw = np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
        header[name] = {"dtype": code, "shape": [int(s) for s in array.shape],
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # keep the data block 8-byte aligned, as safetensors does
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def strict_json_loads(data, what):
    """``json.loads`` that refuses NaN/Infinity and duplicate keys, with a clear error."""
    def no_constants(token):
        raise UnsafeFileError(f"{what}: the JSON holds {token}, which is not valid JSON")

    def no_duplicates(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise UnsafeFileError(f"{what}: duplicate key {k!r} in the JSON")
            out[k] = v
        return out
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates)
    except UnsafeFileError:
        raise
    except RecursionError:
        raise UnsafeFileError(f"{what}: the JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise UnsafeFileError(f"{what}: not valid JSON ({e})") from None


def _int(value, what):
    if type(value) is not int:  # bool, float (NaN), str, None are all refused
        raise UnsafeFileError(f"{what} must be an integer; received {value!r}")
    return value


def decode(buffer, source="tensor block"):
    """bytes in the safetensors layout -> (``{name: ndarray}``, metadata dict); checked."""
    size = len(buffer)
    if size < 8:
        raise UnsafeFileError(f"{source}: {size} bytes is too short to hold a header length")
    (n,) = struct.unpack("<Q", bytes(buffer[:8]))
    if n > size - 8 or n > MAX_HEADER_BYTES:
        raise UnsafeFileError(f"{source}: the header claims {n} bytes but only {size - 8} bytes "
                              f"follow (limit {MAX_HEADER_BYTES}); the file is truncated or forged")
    header = strict_json_loads(bytes(buffer[8:8 + n]), f"{source} header")
    if not isinstance(header, dict):
        raise UnsafeFileError(f"{source}: the header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise UnsafeFileError(f"{source}: __metadata__ must map strings to strings")
    if len(header) > MAX_TENSORS:
        raise UnsafeFileError(f"{source}: {len(header)} tensors exceed the limit of {MAX_TENSORS}")
    data_len = size - 8 - n
    spans = []
    for name, info in header.items():
        what = f"{source}: tensor '{name}'"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise UnsafeFileError(f"{what} must have exactly 'dtype', 'shape' and 'data_offsets'")
        if info["dtype"] not in DTYPES:
            raise UnsafeFileError(f"{what} has dtype {info['dtype']!r}; allowed: "
                                  f"{', '.join(DTYPES)} (object and string arrays never load)")
        shape = info["shape"]
        if not isinstance(shape, list) or len(shape) > MAX_NDIM:
            raise UnsafeFileError(f"{what}: shape must be a list of at most {MAX_NDIM} integers; "
                                  f"received {shape!r}")
        count = 1
        for d in shape:
            if _int(d, f"{what}: every dimension") < 0:
                raise UnsafeFileError(f"{what} has a negative dimension in shape {shape}")
            count *= d  # Python ints: no overflow, compared with the buffer below
        offsets = info["data_offsets"]
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise UnsafeFileError(f"{what}: data_offsets must be [begin, end]")
        begin, end = (_int(o, f"{what}: data_offsets") for o in offsets)
        if not 0 <= begin <= end <= data_len:
            raise UnsafeFileError(f"{what}: data_offsets [{begin}, {end}] lie outside the "
                                  f"{data_len}-byte data block")
        nbytes = count * DTYPES[info["dtype"]].itemsize
        if nbytes != end - begin:
            raise UnsafeFileError(f"{what}: shape {shape} of {info['dtype']} needs {nbytes} bytes "
                                  f"but data_offsets span {end - begin}")
        spans.append((begin, end, name))
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin < position:
            raise UnsafeFileError(f"{source}: tensor '{name}' overlaps the tensor before it "
                                  f"(starts at {begin}, previous ends at {position})")
        if begin > position:
            raise UnsafeFileError(f"{source}: {begin - position} unaccounted bytes before tensor "
                                  f"'{name}'")
        position = end
    if position != data_len:
        raise UnsafeFileError(f"{source}: {data_len - position} trailing bytes after the last tensor")
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        dt = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = (end - begin) // dt.itemsize
        arr = np.frombuffer(buffer, dtype=dt, count=count, offset=base + begin)
        tensors[name] = arr.reshape(info["shape"]).astype(dt.newbyteorder("="), copy=True)
    return tensors, metadata
