"""``EinsumDense``: a dense layer whose product is any einsum of the input with a kernel."""
import re

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .layer import Layer

_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT = re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$")
_RIGHT = re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]{2,})\.\.\.$")


def analyze_einsum(layer, equation, bias_axes, input_shape, output_shape):
    """(kernel shape, bias shape or None, full output shape) of an EinsumDense equation.

    The equation has the form ``'ab,bc->ac'``, optionally with ``...`` leading (``'...b,bc->...c'``)
    or trailing both the input and the output (``'ab...,bc->ac...'``). ``output_shape`` gives
    the output's sizes past the batch axis (past the elided axes for a leading ``...``); a
    None there takes the input's size. A kernel axis takes its size from the output when the
    output names it, else from the input.
    """
    eq = equation.replace(" ", "")
    for pattern, left in ((_PLAIN, False), (_LEFT, True), (_RIGHT, False)):
        match = pattern.match(eq)
        if match:
            break
    else:
        raise ValueError(f"{layer}: invalid einsum equation {equation!r}: expected the form "
                         "'ab,bc->ac', '...ab,bc->...ac' or 'ab...,bc->ac...'")
    in_spec, w_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left:
        out[1:1] = input_shape[1:elided]
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    in_map = {d: (i + elided - len(input_shape)) if left else i for i, d in enumerate(in_spec)}
    out_map = {d: (i + elided) if left else i for i, d in enumerate(out_spec)}
    if len(out) != (elided + len(out_spec) if elided > 0 else len(out_spec)):
        raise ValueError(f"{layer}: output_shape={output_shape!r} does not fit the output "
                         f"{out_spec!r} of {equation!r} for an input of shape {input_shape}")
    for d in in_spec:
        if d in out_map:
            size = out[out_map[d]]
            if size is None:
                out[out_map[d]] = input_shape[in_map[d]]
            elif size != input_shape[in_map[d]]:
                raise ValueError(f"{layer}: input and output shapes disagree at the shared axis "
                                 f"{d!r} of {equation!r}: the input has {input_shape[in_map[d]]}, "
                                 f"output_shape gives {size}")
    for d in out_spec:
        if d not in in_spec and d not in w_spec:
            raise ValueError(f"{layer}: output axis {d!r} of {equation!r} is in neither the "
                             "input nor the kernel")
    kernel = []
    for d in w_spec:
        if d in out_map:
            kernel.append(out[out_map[d]])
        elif d in in_map:
            kernel.append(input_shape[in_map[d]])
        else:
            raise ValueError(f"{layer}: kernel axis {d!r} of {equation!r} is in neither the "
                             "input nor the output")
    bias = None
    if bias_axes is not None:
        bad = [c for c in bias_axes if c not in out_spec]
        if bad:
            raise ValueError(f"{layer}: bias axes {bad} are not in the output {out_spec!r} of "
                             f"{equation!r}. Received: bias_axes={bias_axes!r}")
        shift = elided if left and elided > 0 else 0
        first = min(out_spec.find(c) for c in bias_axes)
        bias = [out[i + shift] if c in bias_axes else 1
                for i, c in enumerate(out_spec) if i >= first]
        if not left and elided > 0:
            bias += [1] * elided
    if any(s is None for s in kernel) or (bias and any(s is None for s in bias)):
        raise ValueError(f"{layer}: the kernel {tuple(kernel)} of {equation!r} needs every size; "
                         f"give it in output_shape. Received: output_shape={output_shape!r}, "
                         f"input shape {input_shape}")
    return tuple(kernel), None if bias is None else tuple(bias), tuple(out)


class EinsumDense(Layer):
    """A dense layer computed as ``einsum(equation, inputs, kernel) + bias``.

    Args:
        equation: ``'<input>,<kernel>-><output>'`` axis labels, e.g. ``'abc,cde->abde'``.
        output_shape: the output's sizes without the batch axis (an int for one axis);
            None for an axis the input gives.
        activation: applied last (default none).
        bias_axes: output labels the bias spans (others broadcast), or None for no bias.
        kernel_initializer / bias_initializer, *_regularizer, *_constraint: as ``Dense``.

    Math: y = activation(einsum(eq, x, W) + b); gx and gW are einsums of gy (``ops.einsum``).

    Example:
        >>> import numpy as np
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(4, 8), bias_axes="de")
        >>> layer(np.ones((2, 3, 16), "float32")).shape
        (2, 3, 4, 8)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        kwargs.pop("quantization_config", None)  # Keras writes it (None) into configs
        kwargs.pop("gptq_unpacked_column_size", None)
        super().__init__(**kwargs)
        if lora_rank:
            raise ValueError(f"EinsumDense: LoRA is not supported by shendu yet. "
                             f"Received: lora_rank={lora_rank!r}")
        if not isinstance(equation, str):
            raise ValueError(f"EinsumDense: equation must be a string. Received: {equation!r}")
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) \
            else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _analyze(self, input_shape):
        return analyze_einsum(f"EinsumDense '{self.name}'", self.equation, self.bias_axes,
                              input_shape, self.partial_output_shape)

    def build(self, input_shape):
        kernel_shape, bias_shape, _ = self._analyze(input_shape)
        self.kernel = self.add_weight(kernel_shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None if bias_shape is None else self.add_weight(
            bias_shape, self.bias_initializer, regularizer=self.bias_regularizer,
            constraint=self.bias_constraint, name="bias")

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        y = self.activation(y)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(y) / max(np.shape(y)[0], 1))
        return y

    def compute_output_shape(self, input_shape):
        return self._analyze(input_shape)[2]

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape),
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}
