"""Keras's ``keras.backend``: the global settings, name counters and dtype rules.

A thin public module over ``shendu.config``: ``epsilon``, ``floatx``, ``image_data_format``
(and their setters), ``clear_session``, ``get_uid``, ``is_keras_tensor``, and Keras's
dtype helpers ``standardize_dtype``, ``result_type``, ``is_float_dtype``, ``is_int_dtype``.
(The kernel registry that used to live under this name is ``shendu.kernels``.)

    >>> import shendu as keras
    >>> keras.backend.backend(), keras.backend.epsilon()
    ('shendu', 1e-07)
    >>> keras.backend.result_type("int32", "float16")
    'float16'
"""
import functools
from collections import defaultdict

import numpy as np

from .config import (backend, epsilon, floatx, image_data_format, set_epsilon,  # noqa: F401
                     set_floatx, set_image_data_format)

# ---- names -------------------------------------------------------------------------------
_UIDS = defaultdict(int)


def get_uid(prefix=""):
    """A counter per ``prefix``: 1 on the first call, then 2, 3, ... until ``clear_session``.

    Layers take their default names from it (``dense``, then ``dense_1``, ...).

    Example:
        >>> clear_session(); get_uid("demo"), get_uid("demo")
        (1, 2)
    """
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def clear_session(free_memory=True):
    """Start afresh: reset the name counters (the next ``Dense`` is ``dense`` again) and, with
    ``free_memory``, empty the pool of reusable buffers that ops keep between steps.

    Models already built keep working; only names and cached memory are reset.
    """
    _UIDS.clear()
    if free_memory:
        from .kernels import workspace
        workspace.clear()
        import gc
        gc.collect()


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor (made by ``Input`` or a layer called on one),
    not an array or an eager ``shendu.Tensor``."""
    import sys
    layer_module = sys.modules.get("shendu.layers.layer")
    # No layer module loaded means no symbolic tensor can exist yet.
    return layer_module is not None and isinstance(x, layer_module.KerasTensor)


# ---- dtypes --------------------------------------------------------------------------------
_INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
_FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
_ALLOWED_DTYPES = ("bool", "string", "complex64", "complex128") + _INT_TYPES + _FLOAT_TYPES
# Python scalar types and their names map as Keras maps them off TensorFlow.
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string",
                  complex: "complex64", "int": "int32"}


def standardize_dtype(dtype):
    """A dtype's Keras name (``'float32'``, ``'int64'``, ``'bool'``...) from a string, a NumPy
    dtype or type, or a Python type; None gives ``floatx()``.

    Raises:
        ValueError: for a type Keras has no name for.
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, (type, str)) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    if name.startswith("str") or name.startswith("<U") or name == "object":
        name = "string" if name != "object" else name
    if name not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype):
    """Whether ``dtype`` is a floating type (float16/32/64, bfloat16)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    """Whether ``dtype`` is a signed or unsigned integer type."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


# The promotion lattice (JAX's, which Keras follows): each type points to the types just above
# it. "int" and "float" are the weak types of Python scalars: they adopt the other operand's
# type (int32 + 3.0 -> float32, float16 + 2 -> float16).
_LATTICE = {
    "bool": ["int"], "int": ["uint8", "int8", "complex64"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"], "uint64": ["float"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
    "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}


def _upper_bounds():
    closed = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for up in _LATTICE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        closed[node] = seen
    return closed


_UPPER = _upper_bounds()


@functools.lru_cache(maxsize=512)
def _least_upper_bound(*nodes):
    common = set.intersection(*(_UPPER[n] for n in nodes))
    least = [c for c in common if common <= _UPPER[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {nodes} have no available implicit dtype promotion "
                         "path. Try explicitly casting inputs to the desired output type.")
    return least[0]


def _weak(dtype):
    if dtype == "bool":
        return dtype
    return "float" if "float" in dtype else "int" if "int" in dtype else "complex64"


def result_type(*dtypes):
    """The dtype of an operation on operands of ``dtypes``, by Keras's promotion rules.

    Python ``int``/``float`` (the types, as in ``result_type(x.dtype, float)``) are weak:
    they take the other operand's type. None stands for ``floatx()``. No operand gives
    ``floatx()``. Unlike Keras on JAX and PyTorch (which fold 64-bit types to 32-bit
    there), 64-bit types are kept, as on Keras's TensorFlow backend: shendu computes
    in float64 when asked to.

    Example:
        >>> result_type("int32", "float32"), result_type("float16", float), result_type("uint8", "int8")
        ('float32', 'float16', 'int16')
    """
    if not dtypes:
        return floatx()
    names, weak = [], []
    for d in dtypes:
        weak.append(d is int or d is float)
        names.append(standardize_dtype(floatx() if d is None else d))
    if "string" in names:
        if all(n == "string" for n in names):
            return "string"
        raise ValueError(f"Input dtypes {tuple(names)} have no available implicit dtype promotion "
                         "path. Try explicitly casting inputs to the desired output type.")
    if len(set(names)) == 1 and not all(weak):
        return names[0]
    if all(weak):
        out, out_weak = _least_upper_bound(*set(names)), True
    else:
        nodes = {(_weak(n) if w else n) for n, w in zip(names, weak)}
        out = _least_upper_bound(*nodes)
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        bits = floatx()[-2:]
        out = {"b": "bool", "i": f"int{bits}", "u": f"uint{bits}"}.get(out[0], f"float{bits}")
    return out
