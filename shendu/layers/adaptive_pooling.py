"""Adaptive pooling: pool to a fixed ``output_size`` whatever the input's spatial size
(AdaptiveAveragePooling1D/2D/3D, AdaptiveMaxPooling1D/2D/3D).

Output cell i along an axis of length n covers the inputs floor(i n / m) to
ceil((i + 1) n / m) - 1 for m output cells (PyTorch's and Keras's windows).
"""
import numpy as np

from .. import ops
from .convolutional import normalize_data_format
from .layer import Layer, shape_error


class _AdaptivePooling(Layer):
    rank = None
    _op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        size = (output_size,) * self.rank if isinstance(output_size, (int, np.integer)) \
            else tuple(output_size)
        if len(size) != self.rank or not all(isinstance(s, (int, np.integer)) and s > 0
                                             for s in size):
            raise ValueError(f"{cls}: `output_size` must be a positive int or a tuple of "
                             f"{self.rank} positive ints. Received: output_size={output_size!r}")
        self.output_size = tuple(int(s) for s in size)
        self.data_format = normalize_data_format(data_format, cls)

    def _check_input_shape(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise shape_error(self, f"a rank-{self.rank + 2} input", input_shape)

    def call(self, inputs):
        return type(self)._op(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_first":
            return tuple(input_shape[:2]) + self.output_size
        return (input_shape[0],) + self.output_size + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over adaptive windows: (batch, steps, channels) -> (batch, output_size, channels).

    Example:
        >>> import numpy as np, shendu
        >>> pool = shendu.layers.AdaptiveAveragePooling1D(2)
        >>> pool(np.arange(4.).reshape(1, 4, 1)).numpy()[0, :, 0]
        array([0.5, 2.5], dtype=float32)
    """
    rank = 1
    _op = staticmethod(ops.adaptive_average_pool)


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive windows to (batch, *output_size, channels)."""
    rank = 2
    _op = staticmethod(ops.adaptive_average_pool)


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over adaptive windows to (batch, *output_size, channels)."""
    rank = 3
    _op = staticmethod(ops.adaptive_average_pool)


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max over adaptive windows: (batch, steps, channels) -> (batch, output_size, channels)."""
    rank = 1
    _op = staticmethod(ops.adaptive_max_pool)


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max over adaptive windows to (batch, *output_size, channels)."""
    rank = 2
    _op = staticmethod(ops.adaptive_max_pool)


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max over adaptive windows to (batch, *output_size, channels)."""
    rank = 3
    _op = staticmethod(ops.adaptive_max_pool)
