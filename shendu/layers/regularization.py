"""Regularization layers: Dropout and friends (active only in training)."""
from .. import ops
from .layer import Layer


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    1/(1 - rate) (inverted dropout), so inference needs no rescaling.

    Args:
        rate: fraction to drop, in [0, 1).
        noise_shape: shape of the keep-mask (broadcast over the input), e.g. (batch, 1, features).
        seed: seed of this layer's own generator (default: shendu's global generator).
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: `rate` must be in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        import numpy as np
        self._generator = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        noise_shape = None
        if self.noise_shape is not None:
            noise_shape = tuple(inputs.shape[i] if s is None else s for i, s in enumerate(self.noise_shape))
        return ops.dropout(inputs, self.rate, noise_shape=noise_shape, generator=self._generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}
