"""Reading Keras's ``.npz`` dataset files without pickle.

NumPy stores arrays of Python objects (IMDB's and Reuters' variable-length word-index
lists) as pickle streams inside the ``.npy`` members. Unpickling runs whatever the stream
names, so shendu never calls ``pickle``: ``_PickleData`` below reads the opcodes a pickled
array of lists of numbers uses and builds the values itself. The only names a stream may
mention are NumPy's array and dtype constructors (and ``_codecs.encode`` for bytes in
protocol 2), which are never imported or called; any other name, or any other opcode, is
refused with ``DatasetFormatError``.
"""
import io
import struct

import numpy as np

from ._formats import DatasetFormatError

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",
}


class _Pending:
    """A value REDUCE announced and BUILD completes: an ndarray or a dtype."""

    def __init__(self, kind, args):
        self.kind, self.args, self.state = kind, args, None


class _Mark:
    pass


def _as_bytes(value):
    return value.encode("latin1") if isinstance(value, str) else bytes(value)


class _PickleData:
    """A reader of the pickle opcodes that a NumPy array of numbers, strings and lists uses."""

    def __init__(self, data, source):
        self.f, self.source = io.BytesIO(data), source
        self.stack, self.memo = [], {}

    def fail(self, why):
        raise DatasetFormatError(f"{self.source}: {why}; shendu reads only pickled NumPy arrays "
                                 "of numbers and lists, and never unpickles")

    def read(self, n):
        b = self.f.read(n)
        if len(b) != n:
            self.fail("truncated pickle stream")
        return b

    def line(self):
        return self.f.readline().rstrip(b"\n").decode("ascii")

    def pop_mark(self):
        for i in range(len(self.stack) - 1, -1, -1):
            if isinstance(self.stack[i], _Mark):
                items = self.stack[i + 1:]
                del self.stack[i:]
                return items
        self.fail("MARK missing")

    def tuple_of(self, n):
        if len(self.stack) < n:
            self.fail("stack underflow")
        items = tuple(self.stack[-n:])
        del self.stack[-n:]
        self.stack.append(items)

    def global_(self, module, name):
        kind = _ALLOWED_GLOBALS.get((module, name))
        if kind is None:
            self.fail(f"the stream names {module}.{name}")
        self.stack.append(("global", kind))

    def reduce(self):
        args, fn = self.stack.pop(), self.stack.pop()
        if not (isinstance(fn, tuple) and len(fn) == 2 and fn[0] == "global"):
            self.fail("REDUCE of something that is not an allowed name")
        if fn[1] == "reconstruct":
            self.stack.append(_Pending("ndarray", args))
        elif fn[1] == "dtype":
            self.stack.append(_Pending("dtype", args))
        elif fn[1] == "encode" and len(args) == 2 and args[1] in ("latin1", "latin-1"):
            self.stack.append(args[0].encode("latin1"))
        else:
            self.fail(f"unexpected call of {fn[1]}")

    def build(self):
        state, obj = self.stack.pop(), self.stack[-1]
        if not isinstance(obj, _Pending):
            self.fail("BUILD on a value that is not an array or dtype")
        obj.state = state

    def run(self):
        ops = {
            b"(": lambda: self.stack.append(_Mark()),
            b"N": lambda: self.stack.append(None),
            b"\x88": lambda: self.stack.append(True),
            b"\x89": lambda: self.stack.append(False),
            b")": lambda: self.stack.append(()),
            b"]": lambda: self.stack.append([]),
            b"}": lambda: self.stack.append({}),
            b"t": lambda: self.stack.append(tuple(self.pop_mark())),
            b"l": lambda: self.stack.append(list(self.pop_mark())),
            b"\x85": lambda: self.tuple_of(1),
            b"\x86": lambda: self.tuple_of(2),
            b"\x87": lambda: self.tuple_of(3),
            b"a": lambda: self.stack[-2].append(self.stack.pop()),
            b"e": lambda: (lambda items: self.stack[-1].extend(items))(self.pop_mark()),
            b"J": lambda: self.stack.append(struct.unpack("<i", self.read(4))[0]),
            b"K": lambda: self.stack.append(self.read(1)[0]),
            b"M": lambda: self.stack.append(struct.unpack("<H", self.read(2))[0]),
            b"\x8a": lambda: self.stack.append(
                int.from_bytes(self.read(self.read(1)[0]), "little", signed=True)),
            b"G": lambda: self.stack.append(struct.unpack(">d", self.read(8))[0]),
            b"U": lambda: self.stack.append(self.read(self.read(1)[0]).decode("latin1")),
            b"T": lambda: self.stack.append(
                self.read(struct.unpack("<I", self.read(4))[0]).decode("latin1")),
            b"C": lambda: self.stack.append(self.read(self.read(1)[0])),
            b"B": lambda: self.stack.append(self.read(struct.unpack("<I", self.read(4))[0])),
            b"\x8c": lambda: self.stack.append(self.read(self.read(1)[0]).decode("utf-8")),
            b"X": lambda: self.stack.append(
                self.read(struct.unpack("<I", self.read(4))[0]).decode("utf-8")),
            b"q": lambda: self.memo.__setitem__(self.read(1)[0], self.stack[-1]),
            b"r": lambda: self.memo.__setitem__(struct.unpack("<I", self.read(4))[0],
                                                self.stack[-1]),
            b"\x94": lambda: self.memo.__setitem__(len(self.memo), self.stack[-1]),
            b"h": lambda: self.stack.append(self.memo[self.read(1)[0]]),
            b"j": lambda: self.stack.append(self.memo[struct.unpack("<I", self.read(4))[0]]),
            b"c": lambda: self.global_(self.line(), self.line()),
            b"\x93": lambda: (lambda name, module: self.global_(module, name))(
                self.stack.pop(), self.stack.pop()),
            b"R": self.reduce,
            b"b": self.build,
            b"\x80": lambda: self.read(1),
            b"\x95": lambda: self.read(8),
        }
        while True:
            op = self.f.read(1)
            if op == b".":
                break
            if not op:
                self.fail("pickle stream ends without STOP")
            handler = ops.get(op)
            if handler is None:
                self.fail(f"unsupported pickle opcode {op!r}")
            try:
                handler()
            except (IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
                self.fail(f"malformed pickle stream at opcode {op!r}")
        if len(self.stack) != 1:
            self.fail("malformed pickle stream")
        return _finish(self.stack[0], self)


def _finish(value, reader):
    """The array a completed ``_Pending`` describes."""
    if not isinstance(value, _Pending) or value.kind != "ndarray" or value.state is None:
        reader.fail("the stream does not hold a NumPy array")
    state = value.state
    if not (isinstance(state, tuple) and len(state) == 5):
        reader.fail("unexpected array state")
    _, shape, dtype, fortran, raw = state
    if not isinstance(dtype, _Pending) or dtype.kind != "dtype" or not dtype.args:
        reader.fail("array without a dtype")
    descr = dtype.args[0]
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        reader.fail("bad array shape")
    if descr in ("O8", "O4", "O"):
        if not isinstance(raw, list) or len(raw) != int(np.prod(shape, dtype=np.int64)):
            reader.fail("object array data does not match its shape")
        out = np.empty(len(raw), dtype=object)
        out[:] = raw
        return out.reshape(shape, order="F" if fortran else "C")
    endian = dtype.state[1] if isinstance(dtype.state, tuple) and len(dtype.state) > 1 else "<"
    try:
        dt = np.dtype(descr).newbyteorder("<" if endian == "|" else endian)
    except TypeError:
        reader.fail(f"unsupported dtype {descr!r}")
    if dt.kind not in "biuf":
        reader.fail(f"unsupported dtype {descr!r}")
    arr = np.frombuffer(_as_bytes(raw), dtype=dt)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def read_npy(data, source):
    """One ``.npy`` file's array; object arrays are read by ``_PickleData``."""
    import ast
    if data[:6] != b"\x93NUMPY":
        raise DatasetFormatError(f"{source}: not a .npy array")
    major = data[6]
    size_len = 2 if major == 1 else 4
    header_len = int.from_bytes(data[8:8 + size_len], "little")
    start = 8 + size_len
    try:
        header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        raise DatasetFormatError(f"{source}: unreadable .npy header") from None
    body = data[start + header_len:]
    if descr == "|O":
        return _PickleData(body, source).run()
    try:
        dt = np.dtype(descr)
    except TypeError:
        raise DatasetFormatError(f"{source}: unsupported dtype {descr!r}") from None
    if dt.kind not in "biuf":
        raise DatasetFormatError(f"{source}: unsupported dtype {descr!r}")
    count = int(np.prod(shape, dtype=np.int64))
    if len(body) < count * dt.itemsize:
        raise DatasetFormatError(f"{source}: truncated array data")
    arr = np.frombuffer(body, dtype=dt, count=count)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def load_npz(path):
    """{name: array} of an ``.npz`` file, object arrays included, with no pickle."""
    import zipfile
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.endswith(".npy"):
                    out[member[:-4]] = read_npy(z.read(member), f"{path}:{member}")
    except zipfile.BadZipFile:
        raise DatasetFormatError(f"{path}: not an .npz (zip) file") from None
    return out
