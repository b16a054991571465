"""``Tensor``: an n-dimensional array that remembers how it was computed.

A Tensor wraps a NumPy array (``.data``). When it is the result of an op on
tensors that require gradients, it keeps a reference to that op's node
(``_ctx``); ``backward()`` follows those references to compute gradients.
Leaves (tensors made by the user, such as weights) collect them in ``.grad``.
"""
import numpy as np

from . import engine
from .grad_mode import is_grad_enabled

_ops = None  # the shendu.ops module, installed by shendu.ops at import (it imports us)


def _default_float():
    from .. import config
    return config.float_dtype()


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        # Python numbers and lists default to float32 (int stays int64, bool stays bool),
        # as in PyTorch; NumPy arrays keep their own dtype.
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(_default_float())
    if dtype is not None:
        dtype = np.dtype(dtype)
        if arr.dtype != dtype:
            arr = arr.astype(dtype)
    if arr.dtype == object:
        raise TypeError(f"cannot make a tensor of Python objects (got {type(data).__name__})")
    return arr


class Tensor:
    """A differentiable n-dimensional array.

    Args:
        data: array-like. NumPy arrays keep their dtype; Python floats and lists of
            floats become float32.
        dtype: optional dtype to convert to.
        requires_grad: record operations on this tensor so gradients can flow to it.

    Example:
        >>> import shendu
        >>> x = shendu.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad.numpy()
        array([2., 4., 6.], dtype=float32)
    """

    __array_priority__ = 100  # make `ndarray + Tensor` defer to Tensor.__radd__
    # Bumped by every in-place write the library makes (Variable.assign*, optimizer
    # updates); graph nodes compare it at backward (see autograd/function.py).
    _version = 0

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only float tensors can require gradients; got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._ctx = None
        self.name = name

    @classmethod
    def _from_op(cls, array, ctx):
        t = cls.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t.requires_grad = ctx is not None
        t.grad = None
        t._ctx = ctx
        t.name = None
        return t

    # ---- array facts -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        return _ops.transpose(self)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self):
        """The underlying array, shared, not copied (PyTorch's ``Tensor.numpy()``).

        Writing into it writes the tensor. A ``Variable`` (a weight) returns a copy
        instead, as Keras does: see ``Variable.numpy``.

        >>> import shendu
        >>> t = shendu.tensor([1.0, 2.0])
        >>> t.numpy()[0] = 5.0; t.numpy()
        array([5., 2.], dtype=float32)
        """
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def astype(self, dtype):
        return _ops.cast(self, dtype)

    def detach(self):
        """The same values, cut off from the graph (no gradient flows through)."""
        return Tensor._from_op(self.data, None)

    def requires_grad_(self, mode=True):
        if mode and self.data.dtype.kind not in "fc":
            raise TypeError(f"only float tensors can require gradients; got dtype {self.data.dtype}")
        self.requires_grad = bool(mode)
        return self

    @property
    def is_leaf(self):
        return self._ctx is None

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}, dtype={self.data.dtype}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __index__(self):
        return int(self.data)

    def __hash__(self):
        return id(self)

    # ---- autograd ----------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Compute gradients of this tensor with respect to every leaf that requires them.

        Args:
            grad: the seed gradient d(loss)/d(self); required unless self has one element.
            retain_graph: keep the graph so that backward can run through it again.
        """
        engine.backward(self, grad, retain_graph=retain_graph)

    def _accumulate(self, g):
        if self.grad is None:
            # Own the array: a later in-place update must not reach into another node's value.
            self.grad = Tensor._from_op(np.array(g, dtype=self.data.dtype, copy=True), None)
        else:
            self.grad = Tensor._from_op(self.grad.data + g, None)

    def zero_grad(self):
        self.grad = None

    # ---- operators ---------------------------------------------------------------
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.subtract(self, other)
    def __rsub__(self, other): return _ops.subtract(other, self)
    def __mul__(self, other): return _ops.multiply(self, other)
    def __rmul__(self, other): return _ops.multiply(other, self)
    def __truediv__(self, other): return _ops.divide(self, other)
    def __rtruediv__(self, other): return _ops.divide(other, self)
    def __pow__(self, other): return _ops.power(self, other)
    def __rpow__(self, other): return _ops.power(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons give non-differentiable boolean tensors (as in PyTorch).
    def __eq__(self, other): return _ops.equal(self, other)
    def __ne__(self, other): return _ops.not_equal(self, other)
    def __lt__(self, other): return _ops.less(self, other)
    def __le__(self, other): return _ops.less_equal(self, other)
    def __gt__(self, other): return _ops.greater(self, other)
    def __ge__(self, other): return _ops.greater_equal(self, other)

    # ---- methods mirroring shendu.ops ---------------------------------------------
    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops.min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False): return _ops.var(self, axis, keepdims)
    def std(self, axis=None, keepdims=False): return _ops.std(self, axis, keepdims)
    def logsumexp(self, axis=None, keepdims=False): return _ops.logsumexp(self, axis, keepdims)
    def argmax(self, axis=None): return _ops.argmax(self, axis)
    def argmin(self, axis=None): return _ops.argmin(self, axis)
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def abs(self): return _ops.abs(self)
    def relu(self): return _ops.relu(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def tanh(self): return _ops.tanh(self)
    def softmax(self, axis=-1): return _ops.softmax(self, axis)
    def log_softmax(self, axis=-1): return _ops.log_softmax(self, axis)
    def clip(self, x_min, x_max): return _ops.clip(self, x_min, x_max)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def permute(self, *axes):
        return self.transpose(*axes)

    def flatten(self, start_axis=0, end_axis=-1):
        return _ops.flatten(self, start_axis, end_axis)

    def squeeze(self, axis=None): return _ops.squeeze(self, axis)
    def unsqueeze(self, axis): return _ops.expand_dims(self, axis)
    def expand_dims(self, axis): return _ops.expand_dims(self, axis)
    def broadcast_to(self, shape): return _ops.broadcast_to(self, shape)


def as_tensor(x, dtype=None):
    """``x`` as a Tensor without copying when it already is one (of that dtype)."""
    if isinstance(x, Tensor) and (dtype is None or x.data.dtype == np.dtype(dtype)):
        return x
    if isinstance(x, Tensor):
        return _ops.cast(x, dtype)
    return Tensor(x, dtype=dtype)


def tensor(data, dtype=None, requires_grad=False):
    """Make a Tensor. NumPy arrays keep their dtype; Python floats become float32.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.tensor(np.zeros(2)).dtype
        dtype('float64')
        >>> shendu.tensor([1.5, 2.0]).dtype
        dtype('float32')
    """
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(np.array(data, copy=True) if isinstance(data, np.ndarray) else data,
                  dtype=dtype, requires_grad=requires_grad)


__all__ = ["Tensor", "tensor", "as_tensor", "is_grad_enabled"]
