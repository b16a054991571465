"""3-D convolutions over (batch, depth, height, width, channels): Conv3D, Conv3DTranspose.

The rank-generic machinery (shapes, padding, kernels, bias, activation) is that of
convolutional.py; these classes fix the rank at 3.
"""
from .convolutional import _Conv, _ConvTranspose


class Conv3D(_Conv):
    """3-D convolution: (batch, d, h, w, channels) -> (batch, d', h', w', filters).

    Args: as :class:`Conv2D`, with triples for kernel_size, strides and dilation_rate;
    padding 'valid' or 'same'. The kernel is (kd, kh, kw, in_channels // groups, filters).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Conv3D(4, 3)(np.zeros((1, 5, 6, 7, 2), "float32")).shape
        (1, 3, 4, 5, 4)
    """
    rank = 3


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution (the adjoint of Conv3D); the kernel is
    (kd, kh, kw, filters, in_channels). Arguments as :class:`Conv2DTranspose`, in triples.

    Example:
        >>> import numpy as np, shendu
        >>> layer = shendu.layers.Conv3DTranspose(2, 2, strides=2)
        >>> layer(np.zeros((1, 2, 3, 4, 1), "float32")).shape
        (1, 4, 6, 8, 2)
    """
    rank = 3


Convolution3D, Convolution3DTranspose = Conv3D, Conv3DTranspose
