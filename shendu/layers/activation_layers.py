"""Activation layers with their own arguments: ReLU, LeakyReLU, PReLU, ELU, Softmax.

(``Activation('relu')`` lives in core.py; these are Keras's parametrized forms.)
"""
import warnings

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .layer import Layer


def _check_non_negative(layer, **values):
    for arg, value in values.items():
        if value is None or value < 0:
            raise ValueError(f"{layer}: `{arg}` cannot be None or negative. Expected a float >= 0. "
                             f"Received: {arg}={value!r}")


class _Elementwise(Layer):
    """An activation layer keeps its input's shape and passes its mask on."""

    supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """Rectified linear unit with Keras's cap, slope and threshold:

        f(x) = max_value                          if x >= max_value
               x                                  if threshold <= x < max_value
               negative_slope * (x - threshold)   otherwise

    Args:
        max_value: the cap (None: no cap), >= 0.
        negative_slope: slope below the threshold (0.0), >= 0.
        threshold: where the function turns (0.0), >= 0.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.ReLU(max_value=1.0)(np.array([-1., .5, 2.], "float32")).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: `max_value` cannot be negative. "
                             f"Received: max_value={max_value!r}")
        _check_non_negative("ReLU", negative_slope=negative_slope, threshold=threshold)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """f(x) = x for x >= 0, negative_slope * x otherwise.

    Args:
        negative_slope: >= 0 (Keras's layer default 0.3; the old name ``alpha`` is accepted
            with a deprecation warning, as Keras does).
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. "
                          "Use `negative_slope` instead.")
        super().__init__(**kwargs)
        _check_non_negative("LeakyReLU", negative_slope=negative_slope)
        self.negative_slope = negative_slope

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """f(x) = x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_Elementwise):
    """Leaky ReLU whose slope is learned: f(x) = max(x, 0) - alpha * max(-x, 0).

    ``alpha`` has the shape of one sample (``input_shape[1:]``), with size 1 along
    ``shared_axes`` (e.g. ``shared_axes=[1, 2]`` for one slope per channel of an image).
    Gradients: gx = gy (x > 0 ? 1 : alpha); galpha = -gy max(-x, 0), summed over the batch
    and the shared axes (the engine's broadcast reduction).

    Args:
        alpha_initializer ('Zeros'), alpha_regularizer, alpha_constraint: for ``alpha``.
        shared_axes: an axis or a list of axes (1-based, batch excluded) sharing one slope.
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def _check_input_shape(self, input_shape):
        for a in self.shared_axes or ():
            if not isinstance(a, (int, np.integer)) or not 1 <= a < len(input_shape):
                raise ValueError(f"PReLU: each of `shared_axes` must be an axis of the input "
                                 f"other than the batch axis (1 to {len(input_shape) - 1}). "
                                 f"Received: shared_axes={self.shared_axes} for input shape "
                                 f"{tuple(input_shape)}")
        if any(d is None for i, d in enumerate(input_shape[1:], 1)
               if i not in (self.shared_axes or ())):
            raise ValueError(f"PReLU: the non-shared axes of the input need known sizes. "
                             f"Received: input shape {tuple(input_shape)}")

    def build(self, input_shape):
        shape = [1 if i in (self.shared_axes or ()) else d
                 for i, d in enumerate(input_shape[1:], 1)]
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


def _large_negative(dtype):
    # What masked logits become: far below any real logit, still finite in the dtype.
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


class Softmax(_Elementwise):
    """softmax(x) along ``axis`` (an int or a tuple of axes), with an optional mask.

    Masked positions (``mask`` False, or <= 0.5 for a numeric mask) get a large negative
    logit before the softmax and an output of exactly 0 after it, so a fully masked row
    gives zeros rather than a uniform distribution (as Keras 3).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Softmax()(np.zeros((1, 2), "float32"), mask=np.array([[1, 0]])).numpy()
        array([[1., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is None:
            mask = getattr(inputs, "_keras_mask", None)
        if mask is not None:
            mask = np.asarray(mask.data if hasattr(mask, "data") else mask)
            try:
                np.broadcast_shapes(mask.shape, inputs.shape)
                ok = mask.ndim <= inputs.ndim
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"Softmax: the `mask` must be broadcastable to `inputs` and have "
                                 f"no more dimensions. Received: inputs.shape={inputs.shape}, "
                                 f"mask.shape={mask.shape}")
            if mask.dtype != bool:
                mask = mask > 0.5
            inputs = ops.where(mask, inputs, _large_negative(inputs.dtype))
        axis = self.axis
        if isinstance(axis, (tuple, list)) and len(axis) > 1:
            out = ops.exp(inputs - ops.logsumexp(inputs, axis=tuple(axis), keepdims=True))
        else:
            out = activations.softmax(inputs, axis=axis[0] if isinstance(axis, (tuple, list))
                                      else axis)
        if mask is not None:
            out = ops.where(mask, out, 0.0)
        return out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
