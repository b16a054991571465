"""Small helpers shared by the op modules."""
import numpy as np

from ..autograd.tensor import Tensor, as_tensor  # noqa: F401  (re-exported for ops)


def get_array_module(*arrays):
    """The array library of the inputs: numpy on the CPU (cupy on the GPU, later)."""
    return np


def normalize_axis(axis, ndim):
    """``axis`` (int, tuple or None) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a % max(ndim, 1))
    return tuple(sorted(set(out)))


def data_of(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def broadcast_shapes(op, *shapes):
    """The broadcast shape, or a ValueError that names the op and every shape."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op}: shapes {listed} cannot be broadcast together") from None


def restore_reduced(g, shape, axes, keepdims):
    """Re-insert reduced axes into ``g`` so it broadcasts against the input of ``shape``."""
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return g


def bind_namespace(namespace, names):
    """Bind each of ``names`` that ``shendu.ops`` defines into ``namespace`` (a module's
    globals): the Keras sub-namespaces (``ops.numpy``, ``ops.nn``) hold the same objects.
    Returns the names bound, for ``__all__``."""
    import sys
    ops = sys.modules["shendu.ops"]
    bound = [n for n in names if hasattr(ops, n)]
    namespace.update({n: getattr(ops, n) for n in bound})
    return bound
