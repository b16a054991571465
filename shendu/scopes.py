"""Keras's top-level scopes: ``name_scope``, ``device``, ``remat`` and ``RematScope``.

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
