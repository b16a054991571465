"""Differentiable ops with ``keras.ops`` names: each is a Function whose forward and
backward stand side by side, with the math in its docstring.

    import shendu.ops as ops
    y = ops.softmax(ops.matmul(x, w), axis=-1)
"""
from .activation import (bias_relu, elu, gelu, hard_sigmoid, leaky_relu, log_softmax, relu, relu6,  # noqa: F401
                         selu, sigmoid, silu, softmax, softplus, softsign, swish, tanh)
from .creation import (arange, convert_to_tensor, eye, full, full_like, ones, ones_like,  # noqa: F401
                       rand, randint, randn, zeros, zeros_like)
from .conv_pool import conv_bias_relu_max_pool  # noqa: F401
from .conv import (conv, conv1d, conv_bias, conv_bias_relu, conv1d_transpose, conv2d, conv2d_transpose, conv3d,  # noqa: F401
                   conv3d_transpose, conv_transpose, depthwise_conv, depthwise_conv1d,
                   depthwise_conv2d)
from .elementwise import (abs, absolute, add, cast, clip, divide, equal, exp, greater,  # noqa: F401
                          greater_equal, isfinite, isnan, less, less_equal, log, logical_and,
                          logical_not, logical_or, maximum, minimum, multiply, negative,
                          not_equal, power, sign, sqrt, square, subtract, true_divide, where)
from .embedding import embedding, take  # noqa: F401
from .products import linear, matmul  # noqa: F401
from .losses import (binary_cross_entropy, categorical_cross_entropy, huber,  # noqa: F401
                     mean_absolute_error, mean_squared_error, sigmoid_binary_cross_entropy,
                     softmax_cross_entropy)
from .normalization import batch_norm, batch_normalization, layer_norm  # noqa: F401
from .pooling import (average_pool, average_pool1d, average_pool2d, average_pool3d,  # noqa: F401
                      avg_pool, avg_pool1d, avg_pool2d, avg_pool3d, global_average_pool,
                      global_max_pool, max_pool, max_pool1d, max_pool2d, max_pool3d)
from .random import dropout  # noqa: F401
from .reduction import (amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum,  # noqa: F401
                        var)
from .shape import (broadcast_to, concat, concatenate, expand_dims, flatten, getitem,  # noqa: F401
                    moveaxis, pad, permute, repeat, reshape, split, squeeze, stack, swapaxes,
                    tile, transpose, unsqueeze)

from .core import (array, associative_scan, cond, convert_to_numpy, copy, custom_gradient,  # noqa: F401,E402
                   dtype, empty, empty_like, fori_loop, get_item, identity, is_tensor, map, ndim,
                   saturate_cast, scan, scatter, scatter_update, select, shape, size, slice,
                   slice_update, stop_gradient, switch, unravel_index, unstack, vectorize,
                   vectorized_map, while_loop)
from .creation import geomspace, linspace, logspace  # noqa: F401,E402
from .einsum import dot, einsum, inner, kron, outer, tensordot, vdot  # noqa: F401,E402
from .indexing import (argsort, diag, diagflat, diagonal, flip, fliplr, flipud,  # noqa: F401,E402
                       in_top_k, multi_hot, nonzero, one_hot, roll, rot90, sort, take_along_axis,
                       top_k, trace, tri, tril, triu)
from .math import (allclose, angle, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: F401,E402
                   arctanh, bitwise_and, bitwise_invert, bitwise_left_shift, bitwise_not,
                   bitwise_or, bitwise_right_shift, bitwise_xor, cbrt, ceil, conj, conjugate, cos,
                   cosh, deg2rad, divide_no_nan, erf, erfc, erfinv, exp2, expm1, fabs, floor,
                   floor_divide, fmax, fmin, fmod, gcd, heaviside, hypot, i0, imag, isclose, isin,
                   isinf, isneginf, isposinf, isreal, lcm, ldexp, left_shift, log10, log1p, log2,
                   log_sigmoid, logaddexp, logaddexp2, logical_xor, mod, nan_to_num, nextafter,
                   rad2deg, real, reciprocal, remainder, right_shift, round, rsqrt, signbit, sin,
                   sinc, sinh, tan, trunc)
from .reduction import cumprod, cumsum, prod  # noqa: F401,E402
from .creation import bartlett, blackman, hamming, hanning, kaiser  # noqa: F401,E402
from .core import view  # noqa: F401,E402
from .math import correlate, cross, diff, gammainc, trapezoid, vander  # noqa: F401,E402
from .shape import (append, array_split, column_stack, dsplit, dstack, hsplit, hstack,  # noqa: F401,E402
                    meshgrid, ravel, vsplit, vstack)
from .statistics import (all, any, argpartition, average, bincount, corrcoef,  # noqa: F401,E402
                         count_nonzero, digitize, histogram, median, nanargmax, nanargmin,
                         nancumprod, nancumsum, nanmax, nanmean, nanmedian, nanmin, nanpercentile,
                         nanprod, nanquantile, nanstd, nansum, nanvar, percentile, ptp, quantile,
                         searchsorted, unique)

import sys as _sys

# Tensor's operators (`a + b`, `x.sum()`) call into this module.
_sys.modules['shendu.autograd.tensor']._ops = _sys.modules[__name__]
from .activation import (celu, glu, hard_shrink, hard_silu, hard_swish, hard_tanh,  # noqa: F401,E402
                         soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
                         tanh_shrink, threshold)
from .neural import (adaptive_average_pool, adaptive_max_pool, binary_crossentropy,  # noqa: F401,E402
                     categorical_crossentropy, ctc_decode, ctc_loss, depth_to_space, fold,
                     layer_normalization, moments, normalize, polar, psnr, rms_normalization,
                     separable_conv, space_to_depth, sparse_categorical_crossentropy, unfold)

# The Keras sub-namespaces, bound last: they hold the functions defined above.
from .linalg import (cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, logdet,  # noqa: F401,E402
                     lstsq, lu_factor, matrix_power, matrix_rank, norm, pinv, qr, slogdet, solve,
                     solve_triangular, svd)
from .fft import extract_sequences, fft, fft2, ifft2, irfft, istft, rfft, stft  # noqa: F401,E402
from .core import view_as_complex, view_as_real  # noqa: F401,E402
from .shape import rearrange  # noqa: F401,E402
from .statistics import cdist, segment_max, segment_min, segment_prod, segment_sum  # noqa: F401,E402
from .attention import dot_product_attention  # noqa: F401,E402
from . import image, linalg, nn, numpy  # noqa: F401,E402
