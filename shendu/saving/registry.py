"""The class registry: the only place a saved file's class names are resolved.

A name in a file is looked up, in order, in the caller's ``custom_objects``, in the
classes registered with :func:`register_serializable`, and in shendu's own public
classes (layers, models). A file can never name a module to import: a name that is
in none of these tables is refused.
"""
import inspect
import threading

_REGISTERED = {}   # "package>Name" -> class
_NAMES = {}        # class -> "package>Name"
_GLOBAL_CUSTOM_OBJECTS = {}  # get_custom_objects(): name -> class or function
_SCOPES = threading.local()  # the custom_object_scope stack of this thread


def get_custom_objects():
    """The global dict of custom objects, name -> class or function: add to it to make a
    custom class loadable by name everywhere (``get_custom_objects()["MyLayer"] = MyLayer``).

    Prefer ``register_keras_serializable`` or ``custom_object_scope``.
    """
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes those names loadable by
    ``load_model``, ``model_from_json`` and ``deserialize_keras_object`` inside the block.

    Args:
        custom_objects: a dict of name -> class or function (None: nothing added).
    """

    def __init__(self, custom_objects):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError("custom_object_scope expects a dict of name -> class or function. "
                            f"Received: {custom_objects!r}")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        stack = getattr(_SCOPES, "stack", None)
        if stack is None:
            stack = _SCOPES.stack = []
        stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPES.stack.pop()


custom_object_scope = CustomObjectScope


def custom_objects_in_effect(custom_objects=None):
    """The objects a lookup sees: global ones, then the open scopes (inner wins), then the
    caller's ``custom_objects``."""
    merged = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in getattr(_SCOPES, "stack", None) or ():
        merged.update(scope)
    merged.update(custom_objects or {})
    return merged


def register_serializable(package="Custom", name=None):
    """Class decorator: make a custom layer or model loadable by name.

    Args:
        package: a namespace for the name (Keras's ``package`` argument).
        name: the name to register (default: the class name).

    Example:
        >>> import shendu
        >>> @shendu.utils.register_serializable(package="demo")
        ... class Twice(shendu.layers.Layer):
        ...     def call(self, x):
        ...         return x * 2
        >>> get_registered_name(Twice)
        'demo>Twice'
    """
    if inspect.isclass(package):
        raise TypeError("register_serializable is a decorator factory: write "
                        "@register_serializable() (with parentheses)")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if key in _REGISTERED and _REGISTERED[key] is not obj:
            raise ValueError(f"register_serializable: '{key}' is already registered to "
                             f"{_REGISTERED[key]!r}")
        _REGISTERED[key] = obj
        _NAMES[obj] = key
        return obj
    return decorator


register_keras_serializable = register_serializable


def get_registered_name(obj):
    """The registered name of a class (``package>Name``), else its class name."""
    return _NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered as ``name``: looked up in the open ``custom_object_scope``s, the
    global custom objects, ``custom_objects``, the registry and ``module_objects``, in that
    order; None when it is in none of them. Never imports anything."""
    scoped = custom_objects_in_effect()
    if name in scoped:
        return scoped[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def _builtin_classes():
    from .. import layers, models
    from ..layers.layer import Layer
    table = {}
    for module in (layers, models):
        for attr, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Layer) and not attr.startswith("_"):
                table[attr] = obj
    table["Functional"] = models.Functional
    return table


def lookup_class(class_name, registered_name=None, custom_objects=None):
    """The class a config names, or a ValueError saying it is unknown."""
    if not isinstance(class_name, str) or (registered_name is not None
                                           and not isinstance(registered_name, str)):
        raise ValueError(f"A class name in the file must be a string; received {class_name!r}")
    custom_objects = custom_objects_in_effect(custom_objects)
    for key in (registered_name, class_name):
        if key is not None and key in custom_objects:
            return custom_objects[key]
    if registered_name is not None and registered_name in _REGISTERED:
        return _REGISTERED[registered_name]
    builtins = _builtin_classes()
    if class_name in builtins:
        return builtins[class_name]
    matches = [cls for key, cls in _REGISTERED.items() if key.split(">", 1)[-1] == class_name]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f"Unknown class '{class_name}'"
        + (f" (registered name '{registered_name}')" if registered_name else "")
        + ". A file can only name shendu's own classes, classes registered with "
        "shendu.utils.register_serializable, or classes passed in custom_objects= "
        "(modules are never imported from a file).")
