"""GroupNormalization and UnitNormalization (Keras 3 semantics)."""
import numpy as np

from .. import constraints, initializers, ops, regularizers
from .layer import Layer


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels (Wu & He 2018).

    The channels along ``axis`` are split into ``groups`` groups; for each sample and group,
    mu and var are the mean and biased variance over the group's channels and every other
    non-batch axis; y = gamma (x - mu) / sqrt(var + epsilon) + beta, gamma and beta per
    channel. ``groups=-1`` is one group per channel (instance normalization); ``groups=1``
    is layer normalization over all the features. Gradients come from the composed ops
    (moments, rsqrt, products).

    Args:
        groups: number of groups (32), dividing the channel count; -1: one per channel.
        axis: the channel axis (-1).
        epsilon: added to the variance (1e-3).
        center / scale: learn beta / gamma (shape (channels,)).
        beta_initializer ('zeros'), gamma_initializer ('ones'), regularizers, constraints.

    Example:
        >>> import numpy as np, shendu
        >>> gn = shendu.layers.GroupNormalization(groups=2, epsilon=0.0)
        >>> gn(np.array([[1., 3., 0., 4.]], "float32")).numpy()
        array([[-1.,  1., -1.,  1.]], dtype=float32)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, (int, np.integer)) or (groups <= 0 and groups != -1):
            raise ValueError(f"GroupNormalization: `groups` must be a positive integer or -1. "
                             f"Received: groups={groups!r}")
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"GroupNormalization: `axis` must be an integer. "
                             f"Received: axis={axis!r}")
        self.groups, self.axis, self.epsilon = int(groups), int(axis), epsilon
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _check_input_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or \
                self.axis % len(input_shape) == 0:
            raise ValueError(f"GroupNormalization: `axis` must be a non-batch axis of the input. "
                             f"Received: axis={self.axis} for input shape {tuple(input_shape)}")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"GroupNormalization: axis {self.axis} of the input must have a known "
                             f"size. Received: input shape {tuple(input_shape)}")
        groups = dim if self.groups == -1 else self.groups
        if dim < groups:
            raise ValueError(f"GroupNormalization: the number of groups ({groups}) cannot be more "
                             f"than the number of channels ({dim}). Received: groups={self.groups}")
        if dim % groups:
            raise ValueError(f"GroupNormalization: the number of channels ({dim}) must be a "
                             f"multiple of the number of groups ({groups}). "
                             f"Received: groups={self.groups}")

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if self.groups == -1:
            self.groups = dim
        self.gamma = self.add_weight((dim,), self.gamma_initializer, name="gamma",
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight((dim,), self.beta_initializer, name="beta",
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None

    def call(self, inputs):
        shape = tuple(inputs.shape)
        axis = self.axis % len(shape)
        dim = shape[axis]
        grouped = shape[:axis] + (self.groups, dim // self.groups) + shape[axis + 1:]
        x = ops.reshape(inputs, grouped)
        reduce = tuple(i for i in range(1, len(grouped)) if i != axis)
        mean, var = ops.moments(x, axes=reduce, keepdims=True)
        inv = ops.rsqrt(var + self.epsilon)
        param_shape = [1] * len(grouped)
        param_shape[axis], param_shape[axis + 1] = self.groups, dim // self.groups
        if self.scale:
            inv = inv * ops.reshape(self.gamma, param_shape)
        y = (x - mean) * inv
        if self.center:
            y = y + ops.reshape(self.beta, param_shape)
        return ops.reshape(y, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along ``axis``: y = x / sqrt(max(sum x^2, 1e-12)).

    Args:
        axis: an int or a list of ints (-1).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.UnitNormalization()(np.array([[3., 4.]], "float32")).numpy()
        array([[0.6, 0.8]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, (int, np.integer)):
            self.axis = int(axis)
        else:
            raise TypeError(f"UnitNormalization: `axis` must be an int or a list of ints. "
                            f"Received: axis={axis!r}")

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return ops.normalize(inputs, axis=axis, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich 2019):
    y = x / sqrt(mean(x^2 over ``axis``) + epsilon) * scale, no centring.

    Args:
        axis: an int or a list of ints (-1); ``scale`` has the shape of those axes.
        epsilon: 1e-6.

    Example:
        >>> import numpy as np, shendu
        >>> rms = shendu.layers.RMSNormalization(epsilon=0.0)
        >>> rms(np.array([[3., 4.]], "float32")).numpy().round(4)
        array([[0.8485, 1.1314]], dtype=float32)
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer, list, tuple)):
            raise TypeError(f"RMSNormalization: `axis` must be an int or a list of ints. "
                            f"Received: axis={axis!r}")
        self.axis, self.epsilon = axis, epsilon

    def _check_input_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        for a in axes:
            if not -len(input_shape) <= a < len(input_shape):
                raise ValueError(f"RMSNormalization: axis {a} is out of bounds for input shape "
                                 f"{tuple(input_shape)}. Received: axis={self.axis}")

    def build(self, input_shape):
        if isinstance(self.axis, (list, tuple)):
            self.axis = sorted(self.axis)
        else:
            self.axis = [self.axis]
        shape = tuple(input_shape[a] for a in self.axis)
        self.scale = self.add_weight(shape, "ones", name="scale")

    def call(self, inputs):
        return ops.rms_normalization(inputs, scale=self.scale, axis=tuple(self.axis),
                                     epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
