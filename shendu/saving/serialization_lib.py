"""``serialize_keras_object`` / ``deserialize_keras_object``: any shendu object as Keras's
JSON-able dict and back.

An object with ``get_config`` becomes
``{"module": "keras.layers", "class_name": "Dense", "config": {...}, "registered_name": None}``
(Keras's layout, so the dicts mean the same thing to Keras); a built-in function
(an activation, a loss) becomes ``{"module": "keras.activations", "class_name": "function",
"config": "relu", "registered_name": "function"}``; NumPy arrays become
``{"class_name": "__numpy__", "config": {"value": [...], "dtype": ...}}``; lists, tuples,
dicts and plain values are kept as they are, their items serialized.

Deserializing resolves a class only through a fixed table of shendu's public namespaces
(the ``module`` names above), the registry of ``register_keras_serializable``, the open
``custom_object_scope``s and ``custom_objects``: a config never makes shendu import a module.
"""
import inspect

import numpy as np

from .. import config as _config
from .registry import _NAMES, custom_objects_in_effect, lookup_class

# Keras module name -> the shendu namespace (attribute path from `shendu`) holding its names.
_NAMESPACES = {
    "keras.layers": "layers", "keras.losses": "losses", "keras.metrics": "metrics",
    "keras.optimizers": "optimizers", "keras.optimizers.schedules": "optimizers.schedules",
    "keras.initializers": "initializers", "keras.regularizers": "regularizers",
    "keras.constraints": "constraints", "keras.activations": "activations",
    "keras.models": "models", "keras": "", "keras.src.models.functional": "models",
}
# shendu package -> the Keras module name a serialized object of it carries.
_KERAS_MODULE = {
    "shendu.layers": "keras.layers", "shendu.losses": "keras.losses",
    "shendu.metrics": "keras.metrics", "shendu.optimizers.schedules": "keras.optimizers.schedules",
    "shendu.optimizers": "keras.optimizers", "shendu.initializers": "keras.initializers",
    "shendu.regularizers": "keras.regularizers", "shendu.constraints": "keras.constraints",
    "shendu.activations": "keras.activations", "shendu.models": "keras",
}


def _namespace(path):
    import shendu
    obj = shendu
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part)
    return obj


def _keras_module(obj_or_cls):
    module = getattr(obj_or_cls, "__module__", "") or ""
    for prefix in sorted(_KERAS_MODULE, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return _KERAS_MODULE[prefix]
    return module


def _builtin_function_name(fn):
    """(keras module, name) of a built-in activation or loss function, else None."""
    from .. import activations, losses
    for module, table in (("keras.activations", vars(activations)),
                          ("keras.losses", vars(losses))):
        for name, value in table.items():
            if value is fn and not name.startswith("_"):
                return module, name
    return None


def serialize_keras_object(obj):
    """A JSON-able description of ``obj`` in Keras's format (see the module docstring).

    Example:
        >>> import shendu
        >>> serialize_keras_object(shendu.regularizers.L2(0.5))["class_name"]
        'L2'
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (np.ndarray,)) or type(obj).__name__ == "Tensor" and hasattr(obj, "numpy"):
        arr = np.asarray(obj.numpy() if hasattr(obj, "numpy") else obj)
        return {"class_name": "__numpy__", "config": {"value": arr.tolist(), "dtype": arr.dtype.name}}
    if isinstance(obj, (list, tuple)):
        return type(obj)(serialize_keras_object(x) for x in obj)
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.dtype):
        return obj.name
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        builtin = _builtin_function_name(obj)
        if builtin is not None:
            return {"module": builtin[0], "class_name": "function", "config": builtin[1],
                    "registered_name": "function"}
        name = _NAMES.get(obj, obj.__name__)
        return {"module": obj.__module__, "class_name": "function", "config": name,
                "registered_name": name}
    if inspect.isclass(obj):
        raise ValueError(f"serialize_keras_object: cannot serialize a class ({obj.__name__}); "
                         "pass an instance")
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize_keras_object: cannot serialize {obj!r} of type "
                        f"{type(obj).__name__}: it has no get_config()")
    from ..layers.layer import Layer
    if isinstance(obj, Layer):
        from .serialization import serialize_layer
        out = serialize_layer(obj)
        config = out["config"]
        extra = {k: v for k, v in out.items() if k not in ("class_name", "registered_name", "config")}
    else:
        config, extra = obj.get_config(), {}
    cls = type(obj)
    return {"module": _keras_module(cls), "class_name": cls.__name__,
            "config": serialize_keras_object(config), "registered_name": _NAMES.get(cls), **extra}


def _lookup(class_name, module, registered_name, custom_objects):
    objects = custom_objects_in_effect(custom_objects)
    for key in (registered_name, class_name):
        if key is not None and key in objects:
            return objects[key]
    if module in _NAMESPACES:
        namespace = _namespace(_NAMESPACES[module])
        found = getattr(namespace, class_name, None)
        if found is not None and not class_name.startswith("_"):
            return found
    return lookup_class(class_name, registered_name, custom_objects)


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a ``serialize_keras_object`` dict describes.

    Args:
        config: the dict (or a list/plain value, returned with its items deserialized).
        custom_objects: name -> class or function, for custom classes not registered.
        safe_mode: refuse configs that would run code from the config (``Lambda`` layers
            holding functions); ``keras.config.enable_unsafe_deserialization()`` lifts it.

    Raises:
        ValueError: a class or function that is in no table.
    """
    safe_mode = _config.in_safe_mode(safe_mode)
    if config is None or isinstance(config, (bool, int, float, str)):
        if isinstance(config, str) and custom_objects and config in custom_objects:
            return custom_objects[config]
        return config
    if isinstance(config, (list, tuple)):
        return type(config)(deserialize_keras_object(x, custom_objects, safe_mode) for x in config)
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode) for k, v in config.items()}
    class_name, inner = config["class_name"], config["config"]
    module, registered_name = config.get("module"), config.get("registered_name")
    if class_name == "__numpy__":
        from .serialization import _ALLOWED_DTYPES
        if inner.get("dtype") not in _ALLOWED_DTYPES:
            raise ValueError(f"deserialize_keras_object: array dtype {inner.get('dtype')!r} "
                             "is not allowed (numeric dtypes only)")
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "function":
        name = registered_name if registered_name not in (None, "function") else inner
        fn = _lookup(inner, module, name, custom_objects) if isinstance(inner, str) else None
        if fn is None or not callable(fn):
            raise ValueError(f"Could not locate function '{inner}'. Register it with "
                             "@shendu.saving.register_keras_serializable() or pass it in "
                             "custom_objects.")
        return fn
    cls = _lookup(class_name, module, registered_name, custom_objects)
    if not inspect.isclass(cls):
        return cls
    from ..layers.layer import Layer
    if issubclass(cls, Layer):
        from .serialization import deserialize_layer
        entry = dict(config, class_name=class_name)
        merged = custom_objects_in_effect(custom_objects)
        if cls is not lookup_class(class_name, registered_name, merged):
            merged[class_name] = cls
        return deserialize_layer(entry, merged, safe_mode)
    inner = deserialize_keras_object(inner, custom_objects, safe_mode) if \
        _has_nested_objects(inner) else inner
    return cls.from_config(inner)


def _has_nested_objects(inner):
    return isinstance(inner, dict) and any(isinstance(v, dict) and "class_name" in v
                                           for v in inner.values())
