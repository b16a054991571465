"""Merge layers: combine a list of same-shaped inputs (Concatenate: along an axis)."""
import functools

import numpy as np

from .. import ops
from .layer import Layer, shape_error


class _Merge(Layer):
    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) must be called on a list "
                             f"of at least 2 inputs. Received: {input_shape}")
        self._check_shapes(input_shape)

    def _check_shapes(self, shapes):
        try:
            np.broadcast_shapes(*[tuple(1 if s is None else s for s in sh) for sh in shapes])
        except ValueError:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): inputs must have "
                             f"compatible shapes. Received: {shapes}") from None

    def compute_output_shape(self, input_shape):
        shapes = [tuple(1 if s is None else s for s in sh) for sh in input_shape]
        out = np.broadcast_shapes(*shapes)
        return (input_shape[0][0],) + tuple(out[1:])

    def call(self, inputs):
        return functools.reduce(self._merge, inputs)


class Add(_Merge):
    """Sum of the inputs."""
    _merge = staticmethod(ops.add)


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    def _check_input_shape(self, input_shape):
        super()._check_input_shape(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Layer '{self.name}' (Subtract) needs exactly 2 inputs. Received {len(input_shape)}")

    _merge = staticmethod(ops.subtract)


class Multiply(_Merge):
    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    _merge = staticmethod(ops.minimum)


class Average(_Merge):
    def call(self, inputs):
        return functools.reduce(ops.add, inputs) / len(inputs)


class Concatenate(_Merge):
    """Joins the inputs along ``axis`` (default -1); other axes must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _check_shapes(self, shapes):
        rank = len(shapes[0])
        ax = self.axis % rank
        for sh in shapes:
            if len(sh) != rank or any(a != b and a is not None and b is not None
                                      for i, (a, b) in enumerate(zip(sh, shapes[0])) if i != ax):
                raise ValueError(f"Layer '{self.name}' (Concatenate): inputs must match except along "
                                 f"axis {self.axis}. Received shapes: {shapes}")

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        ax = self.axis % rank
        out = list(input_shape[0])
        sizes = [sh[ax] for sh in input_shape]
        out[ax] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(out)

    def call(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)
