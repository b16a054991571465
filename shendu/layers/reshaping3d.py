"""3-D padding, cropping and upsampling of (batch, depth, height, width, channels):
ZeroPadding3D, Cropping3D, UpSampling3D (rank-generic bases in reshaping.py)."""

from .. import ops
from .channels_first import computes_channels_last
from .convolutional import normalize_data_format, normalize_tuple
from .layer import Layer
from .reshaping import _Cropping, _spatial_check, _ZeroPadding


class ZeroPadding3D(_ZeroPadding):
    """Zeros around each volume.

    Args:
        padding: int, (d, h, w) (symmetric), or three (before, after) pairs; default 1 each.
        data_format: None, 'channels_last' or 'channels_first'.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.ZeroPadding3D((1, 0, 2))(np.ones((1, 2, 2, 2, 1), "float32")).shape
        (1, 4, 2, 6, 1)
    """
    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes slices at the borders of each volume.

    Args:
        cropping: int, (d, h, w) (symmetric), or three (before, after) pairs; default 1 each.
        data_format: None, 'channels_last' or 'channels_first'.
    """
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


@computes_channels_last
class UpSampling3D(Layer):
    """Repeats each voxel (size_d, size_h, size_w) times (nearest neighbour); the gradient
    sums the copies.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.UpSampling3D()(np.ones((1, 1, 2, 3, 1), "float32")).shape
        (1, 2, 4, 6, 1)
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 3, "size", "UpSampling3D")
        self.data_format = normalize_data_format(data_format, "UpSampling3D")

    def _check_input_shape(self, input_shape):
        _spatial_check(self, 3, input_shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        for axis, s in zip((1, 2, 3), self.size):
            if s > 1:
                inputs = ops.repeat(inputs, s, axis=axis)
        return inputs

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(None if n is None else n * s for n, s in
                                         zip(input_shape[1:4], self.size)) + (input_shape[4],)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}


