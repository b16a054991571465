"""Core layers: Input, Dense, Activation, Lambda, Identity."""
import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .layer import KerasTensor, Layer, shape_error


def _check_dims(shape, arg):
    """A shape is a tuple of sizes, each None (unknown) or a non-negative int."""
    ok = isinstance(shape, (tuple, list)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0)
        for d in shape)
    if not ok:
        raise ValueError(f"InputLayer: `{arg}` must be a tuple of sizes, each a non-negative "
                         f"integer or None, e.g. {arg}=(28, 28, 1). Received: {arg}={shape!r}")


class InputLayer(Layer):
    """The entry point of a Functional or Sequential model: holds the input's shape."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 name=None, input_tensor=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs a `shape` (one sample's shape, e.g. shape=(28, 28, 1))")
            _check_dims(shape, "shape")
            batch_shape = (batch_size,) + tuple(shape)
        _check_dims(batch_shape, "batch_shape")
        self.batch_shape = tuple(batch_shape)
        self._output_tensor = KerasTensor(self.batch_shape, dtype=self.dtype, name=self.name)
        self._output_tensor.node = None
        self._output_tensor.input_layer = self
        self.built = True

    @property
    def output(self):
        """The symbolic tensor this input stands for (what ``shendu.Input`` returns)."""
        return self._output_tensor

    @property
    def input(self):
        return []  # an input layer has no inputs of its own (Keras answers [] too)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A symbolic input for the Functional API: ``x = shendu.Input(shape=(784,))``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, **kwargs)
    return layer.output


class Dense(Layer):
    """Densely connected layer: y = activation(x W + b).

    Args:
        units: output features (> 0).
        activation: name or callable (default: none).
        use_bias: add a bias vector.
        kernel_initializer / bias_initializer: default 'glorot_uniform' / 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint: as in Keras.

    The kernel has shape (input_dim, units); inputs of rank > 2 are multiplied along
    their last axis. Gradients: gx = gy W^T, gW = x^T gy, gb = sum gy (see ops.linear).
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: `units` must be a positive integer. Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 2 or input_shape[-1] is None:
            raise shape_error(self, "a tensor of rank >= 2 with a known last dimension", input_shape)

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self.add_weight((self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") if self.use_bias else None

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise shape_error(self, f"last dimension {self.kernel.shape[0]}", inputs.shape)
        y = ops.linear(inputs, self.kernel, self.bias)
        y = self.activation(y)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(y) / max(inputs.shape[0], 1))
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Lambda(Layer):
    """Wraps a Python function as a layer (in-process only: it cannot be saved safely).

    Args:
        function: callable on Tensors.
        output_shape: optional shape (without batch) or callable; else traced.
    """

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda: `function` must be callable. Received: {function!r}")
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        if self._output_shape is not None:
            return (input_shape[0],) + tuple(self._output_shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        # The function itself is Python code: saving it is refused by the saving module
        # unless the caller opts out of safe mode.
        return {**super().get_config(), "function": getattr(self.function, "__name__", "<lambda>"),
                "output_shape": self._output_shape, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config):
        raise ValueError("Lambda layers hold Python code and cannot be rebuilt from a config; "
                         "rebuild them in code (or register a custom layer class)")
