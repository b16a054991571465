"""Differentiable ops with ``keras.ops`` names: each is a Function whose forward and
backward stand side by side, with the math in its docstring.

    import shendu.ops as ops
    y = ops.softmax(ops.matmul(x, w), axis=-1)
"""
from .activation import (elu, gelu, hard_sigmoid, leaky_relu, log_softmax, relu, relu6,  # noqa: F401
                         selu, sigmoid, silu, softmax, softplus, softsign, swish, tanh)
from .creation import (arange, convert_to_tensor, eye, full, full_like, ones, ones_like,  # noqa: F401
                       rand, randint, randn, zeros, zeros_like)
from .elementwise import (abs, absolute, add, cast, clip, divide, equal, exp, greater,  # noqa: F401
                          greater_equal, isfinite, isnan, less, less_equal, log, logical_and,
                          logical_not, logical_or, maximum, minimum, multiply, negative,
                          not_equal, power, sign, sqrt, square, subtract, true_divide, where)
from .linalg import dot, linear, matmul  # noqa: F401
from .reduction import (amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum,  # noqa: F401
                        var)
from .shape import (broadcast_to, concat, concatenate, expand_dims, flatten, getitem,  # noqa: F401
                    moveaxis, pad, permute, repeat, reshape, split, squeeze, stack, swapaxes,
                    tile, transpose, unsqueeze)

import sys as _sys

# Tensor's operators (`a + b`, `x.sum()`) call into this module.
_sys.modules['shendu.autograd.tensor']._ops = _sys.modules[__name__]
