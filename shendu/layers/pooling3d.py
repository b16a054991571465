"""3-D pooling over (batch, depth, height, width, channels): MaxPooling3D, AveragePooling3D,
GlobalMaxPooling3D, GlobalAveragePooling3D and Keras's aliases (rank-generic bases in
pooling.py)."""
from .. import ops
from .pooling import _GlobalPooling, _Pooling


class MaxPooling3D(_Pooling):
    """Max over pool_size windows.

    Args:
        pool_size: int or triple (default (2, 2, 2)). strides: int, triple or None (= pool_size).
        padding: 'valid' or 'same'. data_format: None, 'channels_last' or 'channels_first'.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.MaxPooling3D()(np.zeros((1, 4, 5, 6, 3), "float32")).shape
        (1, 2, 2, 3, 3)
    """
    rank = 3
    _op = staticmethod(ops.max_pool)

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over pool_size windows (arguments as MaxPooling3D, but ``pool_size`` is required,
    as in Keras; 'same' averages real values only)."""
    rank = 3
    _op = staticmethod(ops.average_pool)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""
    rank = 3
    _op = staticmethod(ops.global_average_pool)


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""
    rank = 3
    _op = staticmethod(ops.global_max_pool)


MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
