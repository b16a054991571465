"""Keras's top-level scopes: ``name_scope``, ``device``, ``StatelessScope``, ``remat`` and
``RematScope``.

- ``name_scope("block")``: variables and layer weights made inside get paths prefixed by
  the scope (``"block/dense/kernel"``), scopes nest (``"outer/inner/variable"``), and a
  variable's ``name`` stays its own short name, as in Keras.
- ``device("cpu:0")``: shendu computes on the CPU only, so a CPU device is accepted and
  changes nothing; any other device type is refused with a clear error.
- ``remat(f)`` / ``RematScope(...)``: Keras recomputes activations in the backward pass to
  save memory. shendu accepts both and validates their arguments, and keeps activations
  (it does not recompute them): results and gradients are the same, memory use is not
  reduced.

    >>> import shendu as keras
    >>> with keras.name_scope("block"):
    ...     v = keras.Variable([1.0], name="w")
    >>> v.path, v.name
    ('block/w', 'w')
"""
import contextvars
import re

_NAME_SCOPES = contextvars.ContextVar("shendu_name_scopes", default=())


def current_path():
    """The active name scopes joined by ``/`` (``""`` outside any)."""
    return "/".join(_NAME_SCOPES.get())


def join_path(*parts):
    """``"a/b/c"`` from the non-empty parts (a variable's or layer's path)."""
    return "/".join(p for p in parts if p)


class name_scope:
    """A context manager that prefixes the paths of variables (and layer weights) made
    inside it with ``name``.

    Args:
        name: the scope's name, a string without ``/``.
    """

    def __init__(self, name, **kwargs):
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name}")
        self.name = name
        self._token = None

    def __enter__(self):
        self._token = _NAME_SCOPES.set(_NAME_SCOPES.get() + (self.name,))
        return self

    def __exit__(self, *exc):
        _NAME_SCOPES.reset(self._token)
        self._token = None
        return False


_DEVICE = re.compile(r"^/?(?:device:)?([a-z]+)(?::(\d+))?$")  # cpu:0, /cpu:0, /device:CPU:0


class device:
    """``with keras.device("cpu:0"):`` place computation on a device. shendu computes on
    the CPU only: ``"cpu"``, ``"cpu:N"``, ``"/cpu:N"`` and ``"/device:CPU:N"`` (TensorFlow's
    spellings) are accepted (a no-op);
    ``"gpu"``, ``"cuda"``, ``"tpu"`` and unknown names raise ``ValueError``."""

    def __init__(self, device_name):
        if not isinstance(device_name, str):
            raise ValueError("keras.device: `device_name` must be a string such as 'cpu:0'. "
                             f"Received: device_name={device_name!r}")
        match = _DEVICE.match(device_name.strip().lower())
        kind = match.group(1) if match else None
        if kind in ("gpu", "cuda", "tpu", "mps"):
            raise ValueError(f"keras.device: shendu computes on the CPU only (it has no "
                             f"{kind.upper()} backend). Received: device_name={device_name!r}; "
                             "use 'cpu:0' or remove the device scope.")
        if kind != "cpu":
            raise ValueError("keras.device: unknown device. Expected 'cpu' or 'cpu:N'. "
                             f"Received: device_name={device_name!r}")
        self.device_name = f"cpu:{int(match.group(2) or 0)}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_STATELESS = contextvars.ContextVar("shendu_stateless_scope", default=None)


class StatelessScope:
    """Keras's ``StatelessScope``: variables read given values and writes stay inside.

    Inside the scope each variable of ``state_mapping`` reads its mapped value, and
    ``assign``/``assign_add``/``assign_sub`` on any variable change it only for the
    scope's duration: on exit every variable is back to the value it had before, and
    ``get_current_value(v)`` returns what it held inside. (Optimizers write their
    variables' arrays directly, not through ``assign``; a ``fit`` step is not stateless.)

    Args:
        state_mapping: ``[(variable, value), ...]``, values of the variables' shapes.
        collect_losses: whether ``add_loss`` collects losses into ``scope.losses``.
        initialize_variables: accepted (shendu's variables are made with their values).

    Example:
        >>> import numpy as np, shendu as keras
        >>> v = keras.Variable(np.array([1.0, 2.0]))
        >>> with keras.StatelessScope([(v, np.array([10.0, 20.0]))]) as scope:
        ...     _ = v.assign_add(np.ones(2))
        >>> v.numpy(), scope.get_current_value(v)
        (array([1., 2.]), array([11., 21.]))
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        import numpy as np
        from .autograd.tensor import Tensor
        from .autograd.variable import Variable
        self._mapping = []
        for variable, value in state_mapping or []:
            if not isinstance(variable, Variable):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in "
                                 "argument `mapping` must be Variable instances. Received "
                                 f"instead: {variable}")
            value = np.asarray(value.data if isinstance(value, Tensor) else value,
                               variable.data.dtype)
            if value.shape != variable.data.shape:
                raise ValueError("Invalid variable value in StatelessScope: all values in "
                                 "argument `mapping` must be tensors with a shape that matches "
                                 f"the corresponding variable shape. For variable {variable}, "
                                 f"received invalid value {value} with shape {value.shape}.")
            self._mapping.append((variable, value))
        self.collect_losses = bool(collect_losses)
        self.initialize_variables = bool(initialize_variables)
        self.losses = []
        self._saved = {}      # id(variable) -> (variable, its value before the scope)
        self._current = {}    # id(variable) -> its value when the scope closed
        self._token = None

    def note_write(self, variable):
        """Called before ``variable`` changes inside the scope: keep its value to restore."""
        if id(variable) not in self._saved:
            self._saved[id(variable)] = (variable, variable.data.copy())

    def __enter__(self):
        self._token = _STATELESS.set(self)
        for variable, value in self._mapping:
            self.note_write(variable)
            variable.data[...] = value
            variable._version += 1
        return self

    def __exit__(self, *exc):
        _STATELESS.reset(self._token)
        self._token = None
        for key, (variable, before) in self._saved.items():
            self._current[key] = variable.data.copy()
            variable.data[...] = before
            variable._version += 1  # a graph that saw the scope's values must not reuse them
        self._saved = {}
        return False

    def get_current_value(self, variable):
        """The variable's value in the scope (None for a variable it neither mapped nor wrote)."""
        if self._token is not None:
            return variable.data.copy() if id(variable) in self._saved else None
        return self._current.get(id(variable))

    def add_loss(self, loss):
        if self.collect_losses:
            self.losses.append(loss)

    def add_update(self, update):
        variable, value = update
        variable.assign(value)


def note_variable_write(variable):
    """``Variable.assign*`` calls this first: a StatelessScope keeps the old value."""
    scope = _STATELESS.get()
    if scope is not None:
        scope.note_write(variable)


_REMAT_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


class RematScope:
    """Keras's rematerialization scope: ``with RematScope(mode="full"): ...``.

    Args:
        mode: ``"full"``, ``"activations"``, ``"larger_than"``, ``"list_of_layers"`` or None.
        output_size_threshold: the output size above which ``"larger_than"`` recomputes.
        layer_names: the layers ``"list_of_layers"`` recomputes.

    Accepted and validated; shendu keeps activations rather than recomputing them, so
    results are unchanged and memory use is not reduced (see the module docstring).
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _REMAT_MODES:
            raise ValueError(f"Invalid mode '{mode}'. Supported modes are: 'full', "
                             "'activations', 'larger_than', 'list_of_layers', or None.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def remat(f):
    """Keras's ``remat(f)``: ``f`` with its activations recomputed in the backward pass.
    shendu returns ``f`` itself (activations are kept; results and gradients are the same).
    """
    if not callable(f):
        raise TypeError(f"remat: expected a callable. Received: f={f!r}")
    return f
