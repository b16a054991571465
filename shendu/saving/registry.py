"""The class registry: the only place a saved file's class names are resolved.

A name in a file is looked up, in order, in the caller's ``custom_objects``, in the
classes registered with :func:`register_serializable`, and in shendu's own public
classes (layers, models). A file can never name a module to import: a name that is
in none of these tables is refused.
"""
import inspect

_REGISTERED = {}   # "package>Name" -> class
_NAMES = {}        # class -> "package>Name"


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


def get_registered_object(name, custom_objects=None):
    """The registered class for ``name`` (or None); never imports anything."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return _REGISTERED.get(name)


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
    custom_objects = custom_objects or {}
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
