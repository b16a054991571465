"""Operators on symbolic tensors: ``x + inputs``, ``x * 0.5``, ``x[:, 0]`` in a Functional model.

Keras programs write residual connections and small arithmetic directly on the tensors
of a Functional model (``res = x + inputs``). Each such operator on a ``KerasTensor``
becomes one ``SymbolicOp`` node: a layer with no weights that applies the op (from
``shendu.ops``) to the real tensors when the model runs. Its output shape is found by
running the op once on a zero batch of one.

Example:
    >>> import shendu as keras
    >>> inputs = keras.Input((4,))
    >>> x = keras.layers.Dense(4)(inputs)
    >>> model = keras.Model(inputs, x + inputs)
    >>> model.output_shape
    (None, 4)
"""
import numpy as np

from .layer import KerasTensor, Layer, _flatten

_SLOT = "__symbolic_input__"


class SymbolicOp(Layer):
    """One op applied to symbolic tensors, replayed on real ones (Keras 2's TFOpLambda).

    Args:
        function: the op, e.g. ``shendu.ops.add``.
        arguments: its positional arguments, each ``KerasTensor`` replaced by a slot
            ``{"__symbolic_input__": i}`` that ``call`` fills with the i-th input.
    """

    def __init__(self, function, arguments, **kwargs):
        super().__init__(**kwargs)
        self.function, self.arguments = function, arguments

    def call(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]

        def fill(a):
            if isinstance(a, dict) and set(a) == {_SLOT}:
                return inputs[a[_SLOT]]
            if isinstance(a, tuple):
                return tuple(fill(x) for x in a)
            return a
        return self.function(*[fill(a) for a in self.arguments])

    def compute_output_shape(self, input_shape):
        # Traced on zeros: an op such as 1 / x may divide by zero there, harmlessly.
        with np.errstate(all="ignore"):
            return super().compute_output_shape(input_shape)

    def get_config(self):
        raise NotImplementedError(
            f"The model applies '{self.function.__name__}' to symbolic tensors (layer "
            f"'{self.name}'), which a config cannot describe: use a layer for it (e.g. "
            "layers.Add()([x, y]) for x + y) to save the model's architecture")


def symbolic_apply(function, *arguments):
    """``function(*arguments)`` recorded as a ``SymbolicOp`` node; returns its KerasTensor."""
    tensors = []

    def slot(a):
        if isinstance(a, KerasTensor):
            tensors.append(a)
            return {_SLOT: len(tensors) - 1}
        if isinstance(a, tuple):  # an index such as x[:, 0] may hold no tensor: kept as is
            return tuple(slot(x) for x in a)
        return a
    template = [slot(a) for a in arguments]
    if not tensors or len(_flatten(tensors)) != len(tensors):
        raise TypeError(f"{function.__name__}: expected a symbolic tensor among the arguments")
    op = SymbolicOp(function, template, name=_op_name(function))
    return op(tensors)


def _op_name(function):
    from .layer import unique_name
    return unique_name(function.__name__)
