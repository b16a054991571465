"""``layers.serialize`` / ``layers.deserialize``: a layer to and from Keras's
{'module', 'class_name', 'config', 'registered_name'} dict (no weights)."""


def serialize(layer):
    """The layer's class and configuration as a JSON-friendly dict.

    Example:
        >>> import shendu
        >>> shendu.layers.serialize(shendu.layers.Dense(3))["class_name"]
        'Dense'
    """
    from .layer import Layer
    if not isinstance(layer, Layer):
        raise TypeError(f"layers.serialize expects a Layer. Received: {layer!r}")
    from ..saving.serialization_lib import serialize_keras_object
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A new layer from :func:`serialize`'s dict (or Keras's); class names resolve only
    through shendu's registry and ``custom_objects``, never through imports."""
    from ..saving.serialization_lib import deserialize_keras_object
    from .layer import Layer
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"layers.deserialize expects a dict with a 'class_name' and a "
                         f"'config'. Received: {config!r}")
    layer = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(f"layers.deserialize: {config['class_name']!r} is not a layer class.")
    return layer
