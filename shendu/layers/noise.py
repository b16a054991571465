"""Noise and activity regularization layers (active only in training, like Dropout):
SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization."""
import math

import numpy as np

from .. import ops, regularizers
from ..autograd.tensor import Tensor
from .layer import Layer
from .regularization import Dropout


def _check_rate(layer, arg, value):
    if not 0 <= value <= 1:
        raise ValueError(f"{layer}: invalid value for argument `{arg}`; expected a float "
                         f"between 0 and 1. Received: {arg}={value}")


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one keep/drop draw per (sample, channel)."""
    rank = None

    def __init__(self, rate, seed=None, name=None, dtype=None, data_format=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        if self.rank > 1:
            from .convolutional import normalize_data_format
            self.data_format = normalize_data_format(data_format, type(self).__name__)

    def _check_input_shape(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expects a rank-"
                             f"{self.rank + 2} input. Received input shape {tuple(input_shape)}")

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = tuple(inputs.shape)
        channels_first = getattr(self, "data_format", "channels_last") == "channels_first"
        noise_shape = (shape[0], shape[1]) + (1,) * self.rank if channels_first else \
            (shape[0],) + (1,) * self.rank + (shape[-1],)
        return ops.dropout(inputs, self.rate, noise_shape=noise_shape, generator=self._generator)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature channels of (batch, steps, channels) with probability ``rate``,
    scaling the rest by 1 / (1 - rate). Args: rate, seed."""
    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of (batch, h, w, channels) (or channels-first)."""
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of (batch, d, h, w, channels) (or channels-first)."""
    rank = 3


class _Noise(Layer):
    supports_masking = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _gen(self):
        return self._generator if self._generator is not None else ops.random.as_generator(None)

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_Noise):
    """In training, adds N(0, stddev^2) noise: y = x + stddev * z (gradient 1 to x).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.GaussianNoise(0.1)(np.ones((2, 2), "float32")).numpy()
        array([[1., 1.],
               [1., 1.]], dtype=float32)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_rate("GaussianNoise", "stddev", stddev)
        self.stddev = stddev

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = self._gen().standard_normal(inputs.shape) * self.stddev
            return inputs + Tensor(noise.astype(inputs.dtype))
        return inputs

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """In training, multiplies by N(1, rate / (1 - rate)) noise (gradient: the noise)."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_rate("GaussianDropout", "rate", rate)
        self.rate = rate

    def call(self, inputs, training=False):
        if training and 0 < self.rate < 1:
            std = math.sqrt(self.rate / (1.0 - self.rate))
            noise = 1.0 + std * self._gen().standard_normal(inputs.shape)
            return inputs * Tensor(noise.astype(inputs.dtype))
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalization (Klambauer et al. 2017): in training,
    dropped units take SELU's saturation value alpha' = -alpha * scale, then
    y = a (x keep + alpha' (1 - keep)) + b with a = ((1 - rate)(1 + rate alpha'^2))^-1/2,
    b = -a alpha' rate, keeping the mean and variance of standardized inputs.

    Args: rate in [0, 1], noise_shape (None entries take the input's size), seed.
    """
    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_rate("AlphaDropout", "rate", rate)
        self.rate, self.noise_shape = rate, noise_shape

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = tuple(inputs.shape) if self.noise_shape is None else tuple(
            inputs.shape[i] if s is None else s for i, s in enumerate(self.noise_shape))
        keep = (self._gen().random(shape) >= self.rate).astype(inputs.dtype)
        ap = self._ALPHA_P
        a = ((1 - self.rate) * (1 + self.rate * ap ** 2)) ** -0.5
        b = -a * ap * self.rate
        return (inputs * Tensor(keep) + Tensor((ap * (1 - keep)).astype(inputs.dtype))) * a + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding l1 * sum|x| + l2 * sum x^2 (per sample, averaged over the
    batch as Keras's activity regularizers are) to the layer's losses."""

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1, self.l2 = l1, l2
        self._regularizer = regularizers.L1L2(l1=l1, l2=l2)

    def call(self, inputs):
        self.add_loss(self._regularizer(inputs) / max(inputs.shape[0], 1))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
