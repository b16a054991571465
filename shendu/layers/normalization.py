"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3 semantics)."""
import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..autograd.tensor import Tensor
from .layer import Layer, shape_error


def _axes_of(axis, ndim):
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return sorted(a + ndim if a < 0 else a for a in axes)


class BatchNormalization(Layer):
    """Normalizes each feature with batch statistics in training, moving ones in inference.

    Training (``training=True`` and ``layer.trainable``):
        mu, var = mean and biased variance of the batch over every axis but ``axis``;
        y = gamma (x - mu) / sqrt(var + epsilon) + beta      (one fused op, ops.batch_norm);
        moving_mean     <- moving_mean * momentum + mu * (1 - momentum)
        moving_variance <- moving_variance * momentum + var * (1 - momentum)
    (the *biased* batch variance, as Keras 3; PyTorch uses the unbiased one here).
    Inference (or a layer with ``trainable=False``, as Keras 3):
        y = gamma (x - moving_mean) / sqrt(moving_variance + epsilon) + beta.

    Args:
        axis: the feature axis (default -1, channels-last).
        momentum: of the moving averages (0.99). epsilon: added to the variance (1e-3).
        center / scale: learn beta / gamma.
        beta_initializer ('zeros'), gamma_initializer ('ones'), moving_mean_initializer
        ('zeros'), moving_variance_initializer ('ones'), beta/gamma regularizers and constraints.

    Weights: gamma, beta (trainable), moving_mean, moving_variance (non-trainable), each (C,).

    Example:
        >>> import numpy as np, shendu
        >>> bn = shendu.layers.BatchNormalization(epsilon=0.0)
        >>> bn(np.array([[1.], [3.]], "float32"), training=True).numpy()[:, 0]
        array([-1.,  1.], dtype=float32)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization: `axis` must be an integer. Received: axis={axis!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: `momentum` must be in [0, 1]. "
                             f"Received: momentum={momentum!r}")
        if epsilon < 0:
            raise ValueError(f"BatchNormalization: `epsilon` must be >= 0. Received: epsilon={epsilon!r}")
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = bool(synchronized)  # a single process: nothing to synchronize
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._features = None

    def _expected(self):
        n = "a known size" if self._features is None else f"size {self._features}"
        return f"an input of rank >= 2 whose axis {self.axis} has {n}"

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) < 2 or any(isinstance(s, (tuple, list)) for s in shape) or \
                not -len(shape) <= self.axis < len(shape) or shape[self.axis] is None or \
                (self._features is not None and shape[self.axis] != self._features):
            raise shape_error(self, self._expected(), shape)

    def build(self, input_shape):
        self._features = c = int(input_shape[self.axis])
        self.gamma = self.add_weight((c,), self.gamma_initializer, regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, name="gamma") if self.scale else None
        self.beta = self.add_weight((c,), self.beta_initializer, regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, name="beta") if self.center else None
        self.moving_mean = self.add_weight((c,), self.moving_mean_initializer, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight((c,), self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")

    def call(self, inputs, training=None):
        self._check_input_shape(tuple(inputs.shape))
        if training and self.trainable:
            y, mean, var = ops.batch_norm(inputs, self.gamma, self.beta, axis=self.axis,
                                          epsilon=self.epsilon, training=True)
            m = self.momentum
            # The statistics are constants (no gradient): update the moving averages in place.
            self.moving_mean.assign(self.moving_mean.data * m + mean.data * (1 - m))
            self.moving_variance.assign(self.moving_variance.data * m + var.data * (1 - m))
            return y
        y, _, _ = ops.batch_norm(inputs, self.gamma, self.beta, axis=self.axis, epsilon=self.epsilon,
                                 training=False, moving_mean=Tensor(self.moving_mean.data),
                                 moving_var=Tensor(self.moving_variance.data))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
                "synchronized": self.synchronized}


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis``: y = gamma (x - mu) / sqrt(var + epsilon) + beta.

    mu and var (biased) are taken over ``axis`` for each sample separately, so training
    and inference compute the same thing. With ``rms_scaling=True`` the input is only
    divided by its root mean square: y = gamma x / sqrt(mean(x^2) + epsilon) (no beta).

    Args:
        axis: int or list of ints (default -1); gamma and beta have the input's shape there.
        epsilon: 1e-3. center / scale: learn beta / gamma.
        rms_scaling: RMS normalization as above.
        beta_initializer ('zeros'), gamma_initializer ('ones'), their regularizers, constraints.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.LayerNormalization(epsilon=0.0)(np.array([[1., 3.]], "float32")).numpy()
        array([[-1.,  1.]], dtype=float32)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)):
            self.axis = int(axis)
        else:
            raise TypeError(f"LayerNormalization: `axis` must be an int or a list of ints. "
                            f"Received: axis={axis!r}")
        if epsilon < 0:
            raise ValueError(f"LayerNormalization: `epsilon` must be >= 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._param_shape = None

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        ok = len(shape) >= 1 and not any(isinstance(s, (tuple, list)) for s in shape) and \
            all(-len(shape) <= a < len(shape) for a in axes)
        if ok:
            param = tuple(shape[a] for a in _axes_of(self.axis, len(shape)))
            ok = None not in param and (self._param_shape is None or param == self._param_shape)
        if not ok:
            want = "known sizes" if self._param_shape is None else f"sizes {self._param_shape}"
            raise shape_error(self, f"an input whose axis {self.axis} has {want}", shape)

    def build(self, input_shape):
        self._param_shape = shape = tuple(int(input_shape[a]) for a in _axes_of(self.axis, len(input_shape)))
        self.gamma = self.add_weight(shape, self.gamma_initializer, regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint, name="gamma") if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint, name="beta") \
            if self.center and not self.rms_scaling else None

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        axes = tuple(_axes_of(self.axis, inputs.ndim))
        if not self.rms_scaling:
            return ops.layer_norm(inputs, self.gamma, self.beta, axis=axes, epsilon=self.epsilon)
        # y = x / sqrt(mean(x^2) + eps) * gamma, composed from ops (gradients via the engine).
        ms = ops.mean(ops.square(inputs), axis=axes, keepdims=True)
        y = ops.multiply(inputs, ops.divide(1.0, ops.sqrt(ops.add(ms, self.epsilon))))
        if self.gamma is not None:
            bshape = tuple(n if i in axes else 1 for i, n in enumerate(inputs.shape))
            y = ops.multiply(y, ops.reshape(self.gamma, bshape))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}
