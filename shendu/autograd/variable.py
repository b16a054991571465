"""``Variable``: a named, trainable leaf tensor -- the weights of layers and the
state of optimizers and metrics (Keras's ``keras.Variable``)."""
import numpy as np

from ..scopes import current_path, join_path, note_variable_write
from .tensor import Tensor, _to_array


class Variable(Tensor):
    """A leaf Tensor with a name that training updates in place.

    Args:
        initializer: an array, or a callable ``(shape, dtype) -> array``.
        shape, dtype: used with a callable initializer.
        trainable: whether optimizers update it (it then requires grad).
        name: the weight's name (``kernel``, ``bias``, ...).

    Example:
        >>> import numpy as np, shendu
        >>> v = shendu.Variable(np.zeros(3, np.float32), name="bias")
        >>> _ = v.assign_add(np.ones(3, np.float32)); v.numpy()
        array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, layout=None):
        # autocast, aggregation, synchronization, layout: Keras's distribution options, accepted;
        # a shendu variable lives on one CPU and is read in its own dtype.
        if name is None:  # Keras's default names: variable, variable_1, ...
            from .. import backend
            uid = backend.get_uid("variable")
            name = "variable" if uid == 1 else f"variable_{uid - 1}"
        if not isinstance(name, str):  # (Keras also refuses a "/"; shendu code names some so)
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        if callable(initializer):
            if shape is None:
                raise ValueError("When creating a Variable from an initializer, the `shape` "
                                 "argument should be specified. Received: "
                                 f"initializer={initializer} and shape={shape}")
            from .. import config
            dtype = dtype or config.floatx()
            value = initializer(tuple(shape), dtype=dtype)
        else:
            value = initializer
        data = _to_array(value.data if isinstance(value, Tensor) else value, dtype)
        if data.dtype.kind != "f":
            trainable = False
        super().__init__(np.array(data, copy=True), requires_grad=bool(trainable), name=name)
        self.trainable = bool(trainable)
        self.path = join_path(current_path(), name)  # inside keras.name_scope("s"): "s/<name>"
        self.constraint = None
        self.regularizer = None

    @property
    def value(self):
        return self

    def numpy(self):
        """A copy of the current value (Keras's ``Variable.numpy()``), not a live view.

        Training updates a weight in place, so a shared array would change under the
        caller: ``before = layer.kernel.numpy(); model.fit(...)`` must still hold the
        old value. ``Tensor.numpy()`` shares memory (PyTorch's rule); ``v.data`` is the
        live array for code that means to share it.

        >>> import numpy as np, shendu
        >>> v = shendu.Variable(np.zeros(2, np.float32))
        >>> before = v.numpy(); _ = v.assign_add(np.ones(2, np.float32)); before
        array([0., 0.], dtype=float32)
        """
        return self.data.copy()

    def assign(self, value):
        """Overwrite the contents in place (shape must match)."""
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != self.data.shape:
            raise ValueError(f"Variable '{self.name}': cannot assign a value of shape "
                             f"{value.shape} to a variable of shape {self.data.shape}")
        note_variable_write(self)  # (inside a keras.StatelessScope the old value is kept)
        self.data[...] = value
        self._version += 1  # a graph that saved the old values must not backpropagate with these
        return self

    def assign_add(self, delta):
        note_variable_write(self)
        self.data += np.asarray(delta.data if isinstance(delta, Tensor) else delta, self.data.dtype)
        self._version += 1
        return self

    def assign_sub(self, delta):
        note_variable_write(self)
        self.data -= np.asarray(delta.data if isinstance(delta, Tensor) else delta, self.data.dtype)
        self._version += 1
        return self

    def __repr__(self):
        return (f"<Variable name={self.name} shape={self.shape} dtype={self.dtype} "
                f"trainable={self.trainable}>")
