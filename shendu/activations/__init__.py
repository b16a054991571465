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
    y = ops.where(x.data > threshold, x, negative_slope * (x - threshold)) if threshold else \
        ops.leaky_relu(x, negative_slope)
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

_TABLE = {
    "linear": linear, "relu": relu, "relu6": relu6, "softmax": softmax, "log_softmax": log_softmax,
    "sigmoid": sigmoid, "tanh": tanh, "gelu": gelu, "elu": elu, "selu": selu, "softplus": softplus,
    "softsign": softsign, "silu": silu, "swish": swish, "hard_sigmoid": hard_sigmoid,
    "leaky_relu": leaky_relu, "exponential": exponential,
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
