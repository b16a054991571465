"""Pooling layers (channels-last): MaxPooling1D/2D, AveragePooling1D/2D and the
global poolings, with Keras's aliases (MaxPool2D, AvgPool2D, GlobalAvgPool2D, ...).

Output length per spatial axis (p the pool size, s the stride, default s = p):
'valid' floor((n - p) / s) + 1, 'same' ceil(n / s); in 'same' mode padding never
wins a max and is left out of an average (TensorFlow/Keras semantics).
"""
from .. import ops
from .convolutional import conv_output_length, normalize_data_format, normalize_padding, \
    normalize_tuple
from .channels_first import computes_channels_last
from .layer import Layer, shape_error


def _rank_error(layer, rank, shape):
    spatial = {1: "steps", 2: "height, width", 3: "depth, height, width"}[rank]
    return shape_error(layer, f"a rank-{rank + 2} input (batch, {spatial}, channels)", shape)


@computes_channels_last
class _Pooling(Layer):
    rank = None
    _op = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = self.pool_size if strides is None else \
            normalize_tuple(strides, self.rank, "strides", cls)
        self.padding = normalize_padding(padding, cls)
        self.data_format = normalize_data_format(data_format, cls)

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) != self.rank + 2 or any(isinstance(s, (tuple, list)) for s in shape):
            raise _rank_error(self, self.rank, shape)
        if self.padding == "valid" and any(n is not None and n < p
                                           for n, p in zip(shape[1:-1], self.pool_size)):
            raise shape_error(self, f"spatial sizes of at least pool_size={self.pool_size} "
                                    f"with padding='valid'", shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        return type(self)._op(inputs, self.pool_size, strides=self.strides, padding=self.padding)

    def compute_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, p, s, self.padding)
                        for n, p, s in zip(input_shape[1:-1], self.pool_size, self.strides))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps: (batch, steps, channels) -> (batch, steps', channels).

    Args:
        pool_size: int (default 2). strides: int or None (= pool_size).
        padding: 'valid' or 'same'. data_format: None, 'channels_last' or 'channels_first'.
    """
    rank = 1
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over pool_size windows of (batch, height, width, channels).

    Args:
        pool_size: int or pair (default (2, 2)). strides: int, pair or None (= pool_size).
        padding: 'valid' or 'same'. data_format: None, 'channels_last' or 'channels_first'.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.MaxPooling2D()(np.zeros((1, 5, 5, 3), "float32")).shape
        (1, 2, 2, 3)
    """
    rank = 2
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps (arguments as MaxPooling1D)."""
    rank = 1
    _op = staticmethod(ops.average_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over pool_size windows (arguments as MaxPooling2D; 'same' averages real values only)."""
    rank = 2
    _op = staticmethod(ops.average_pool)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@computes_channels_last
class _GlobalPooling(Layer):
    rank = None
    _op = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) != self.rank + 2 or any(isinstance(s, (tuple, list)) for s in shape):
            raise _rank_error(self, self.rank, shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        return type(self)._op(inputs, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (batch, steps, channels) -> (batch, channels) (keepdims: (batch, 1, channels))."""
    rank = 1
    _op = staticmethod(ops.global_average_pool)


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, h, w, channels) -> (batch, channels)."""
    rank = 2
    _op = staticmethod(ops.global_average_pool)


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (batch, steps, channels) -> (batch, channels)."""
    rank = 1
    _op = staticmethod(ops.global_max_pool)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, h, w, channels) -> (batch, channels)."""
    rank = 2
    _op = staticmethod(ops.global_max_pool)


# Keras aliases
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
