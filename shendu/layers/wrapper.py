"""Wrapper: the base of layers that wrap another layer (Keras's ``layers.Wrapper``)."""
from .layer import Layer


class Wrapper(Layer):
    """Holds ``layer`` (its weights become this layer's); subclasses define ``call``
    around ``self.layer``. The config stores the wrapped layer serialized.

    Example:
        >>> import numpy as np, shendu
        >>> class Twice(shendu.layers.Wrapper):
        ...     def call(self, x):
        ...         return 2 * self.layer(x)
        >>> w = Twice(shendu.layers.Dense(3))
        >>> w(np.ones((1, 2), "float32")).shape, len(w.weights)
        ((1, 3), 2)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Wrapper: `layer` must be a Layer instance. Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True

    def call(self, inputs, *args, **kwargs):
        return self.layer(inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object
        config = dict(config)
        layer = deserialize_keras_object(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)
