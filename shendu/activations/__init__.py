"""Keras activations by name: ``Dense(64, activation='relu')``."""
from .. import ops
from ..autograd.tensor import Tensor
from .._registry import lookup


def linear(x):
    """The identity."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), with Keras's optional slope, cap and threshold."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    if max_value == 6.0 and negative_slope == 0.0 and threshold == 0.0:
        return ops.relu6(x)
    if threshold:
        y = ops.where(x.data > threshold, x, negative_slope * (x - threshold))
    else:  # leaky_relu with a 0 slope would give -0.0 for negative inputs
        y = ops.leaky_relu(x, negative_slope) if negative_slope else ops.relu(x)
    return ops.minimum(y, max_value) if max_value is not None else y


def _keep_logits(y, x, kind):
    """Under no_grad no graph links ``y`` to ``x``; a trainer computing a cross-entropy from
    the logits (as it does in training) finds them here, so evaluate computes the loss as
    fit does (Keras's TensorFlow backend keeps them the same way)."""
    if y._ctx is None and isinstance(x, Tensor):
        y._logits = (kind, x)
    return y


def softmax(x, axis=-1):
    y = ops.softmax(x, axis=axis)
    return _keep_logits(y, x, "softmax") if axis in (-1, y.ndim - 1) else y


def sigmoid(x):
    return _keep_logits(ops.sigmoid(x), x, "sigmoid")


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def gelu(x, approximate=False):
    """Keras's activation default is the exact (erf) form."""
    return ops.gelu(x, approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


tanh = ops.tanh
selu = ops.selu
softplus = ops.softplus
softsign = ops.softsign
silu = ops.silu
swish = ops.silu
hard_sigmoid = ops.hard_sigmoid
relu6 = ops.relu6
exponential = ops.exp


def celu(x, alpha=1.0):
    """max(x, 0) + min(0, alpha (exp(x / alpha) - 1))."""
    return ops.celu(x, alpha)


def glu(x, axis=-1):
    """a * sigmoid(b), a and b the two halves of ``x`` along ``axis``."""
    return ops.glu(x, axis=axis)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return ops.hard_shrink(x, threshold)


def soft_shrink(x, threshold=0.5):
    """sign(x) max(|x| - threshold, 0)."""
    return ops.soft_shrink(x, threshold)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu."""
    return ops.squareplus(x, b)


def sparsemax(x, axis=-1):
    return ops.sparsemax(x, axis=axis)


def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    return ops.threshold(x, threshold, default_value)


def mish(x):
    """x tanh(softplus(x)) (Misra 2019); the gradient follows from the composed ops.

    Example:
        >>> import numpy as np, shendu
        >>> round(float(shendu.activations.mish(shendu.tensor(np.array(1.0))).numpy()), 4)
        0.8651
    """
    return x * ops.tanh(ops.softplus(x))


hard_silu = ops.hard_silu
hard_swish = ops.hard_silu
hard_tanh = ops.hard_tanh
log_sigmoid = ops.log_sigmoid
sparse_plus = ops.sparse_plus
sparse_sigmoid = ops.sparse_sigmoid
tanh_shrink = ops.tanh_shrink

_TABLE = {
    "linear": linear, "relu": relu, "relu6": relu6, "softmax": softmax, "log_softmax": log_softmax,
    "sigmoid": sigmoid, "tanh": tanh, "gelu": gelu, "elu": elu, "selu": selu, "softplus": softplus,
    "softsign": softsign, "silu": silu, "swish": swish, "hard_sigmoid": hard_sigmoid,
    "leaky_relu": leaky_relu, "exponential": exponential, "celu": celu, "glu": glu,
    "hard_shrink": hard_shrink, "hard_silu": hard_silu, "hard_swish": hard_swish,
    "hard_tanh": hard_tanh, "log_sigmoid": log_sigmoid, "mish": mish, "soft_shrink": soft_shrink,
    "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid, "sparsemax": sparsemax,
    "squareplus": squareplus, "tanh_shrink": tanh_shrink, "threshold": threshold,
}


def get(identifier):
    """An activation function from a name, a callable, or None (the identity)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        return lookup("activation", _TABLE, identifier)
    raise ValueError(f"Could not interpret activation identifier: {identifier!r}")


def serialize(fn):
    """The registered name of an activation function (custom functions by __name__)."""
    for name, f in _TABLE.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", str(fn))


def deserialize(name):
    return get(name)
