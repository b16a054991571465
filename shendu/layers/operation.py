"""Keras's ``Operation``: the base of layers, a named callable with ``call``.

A subclass that defines ``call`` runs eagerly on tensors and, on a ``KerasTensor`` of a
Functional model, becomes one node of the graph (replayed on real tensors when the model
runs). ``Layer`` derives from it, so ``isinstance(layer, keras.Operation)`` holds as in
Keras.

    >>> import numpy as np, shendu as keras
    >>> class Double(keras.Operation):
    ...     def call(self, x):
    ...         return x * 2
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, Double()(inputs))
    >>> model.predict(np.ones((1, 3), np.float32), verbose=0)
    array([[2., 2., 2.]], dtype=float32)
"""


class Operation:
    """Base class of operations: subclasses define ``call(*args, **kwargs)``.

    Args:
        name: the operation's name (default: the class name in snake_case, numbered).
    """

    def __init__(self, name=None):
        from .layer import unique_name
        from .._registry import snake_case
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name} (of type {type(name)})")
        self.name = name or unique_name(snake_case(type(self).__name__))

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define call()")

    def __call__(self, *args, **kwargs):
        from .layer import KerasTensor, _flatten
        if any(isinstance(a, KerasTensor) for a in _flatten(list(args))):
            from .symbolic_ops import symbolic_apply
            bound = self.call if not kwargs else (lambda *a: self.call(*a, **kwargs))
            return symbolic_apply(_Named(bound, self.name), *args)
        return self.call(*args, **kwargs)

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Named:
    """A callable with a ``__name__`` (a bound method's cannot be set)."""

    def __init__(self, function, name):
        self.function, self.__name__ = function, name

    def __call__(self, *args):
        return self.function(*args)
