"""Keras layers: ``from shendu.layers import Dense, Conv2D, ...``."""
from .core import Activation, Dense, Identity, Input, InputLayer, Lambda  # noqa: F401
from .layer import KerasTensor, Layer  # noqa: F401
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract,  # noqa: F401
                      add, average, concatenate, maximum, minimum, multiply, subtract)
from .regularization import Dropout  # noqa: F401
from .reshaping import Flatten, Permute, RepeatVector, Reshape  # noqa: F401
