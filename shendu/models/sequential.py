"""``Sequential``: a plain stack of layers, each feeding the next."""
from .. import fusion
from ..layers.core import InputLayer
from ..layers.layer import KerasTensor, Layer
from .model import Model


class Sequential(Model):
    """A linear stack of layers.

    Example:
        >>> import shendu as keras
        >>> model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
        ...                           keras.layers.Dense(1)])
        >>> model.output_shape
        (None, 1)
    """

    _autocast = False  # each layer casts its inputs to its own dtype (a float64 layer keeps float64)

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._input_batch_shape = None
        # The symbolic graph of the stack once its input shape is known (Keras 3 keeps one
        # too): {"input_layer", "output", "nodes"}. A dict, so the InputLayer in it is not
        # tracked as a sublayer (Sequential.layers excludes it, as in Keras).
        self._graph = {}
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or an ``Input``); builds it at once when the input shape is known."""
        self._fusion_plan = None  # the stack changes: plan it again
        if isinstance(layer, KerasTensor) and hasattr(layer, "input_layer"):
            layer = layer.input_layer
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Sequential: an Input can only be the first thing added")
            self._input_batch_shape = layer.batch_shape
            self._graph = {"input_layer": layer}
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer; received {type(layer).__name__}: {layer!r}")
        if any(layer is l for l in self._layers):
            raise ValueError(f"Sequential: layer '{layer.name}' was already added")
        if not self._layers and self._input_batch_shape is None and layer._batch_input_shape is not None:
            self._input_batch_shape = layer._batch_input_shape
        self._layers.append(layer)
        if self._input_batch_shape is not None:
            self._build_through(self._input_batch_shape)

    def pop(self):
        if not self._layers:
            raise ValueError("Sequential.pop: there are no layers to remove")
        self._fusion_plan = None
        layer = self._layers.pop()
        if self._input_batch_shape is not None:
            self._build_through(self._input_batch_shape)
        return layer

    def _build_through(self, batch_shape):
        """Build each layer from the shape the previous one produces (errors name the layer)."""
        x = self._build_graph(tuple(batch_shape))
        self.built = True
        return x.shape

    def _build_graph(self, batch_shape):
        """Call each layer on a symbolic input, so that every layer has ``.input`` and
        ``.output`` and the model has ``inputs``/``outputs`` (``Model(model.inputs,
        model.layers[2].output)`` then cuts the stack there, sharing its weights). The nodes
        of a previous graph are dropped from the layers first: adding a layer rebuilds."""
        for node in self._graph.get("nodes", ()):
            node.layer._inbound_nodes = [n for n in node.layer._inbound_nodes if n is not node]
        input_layer = self._graph.get("input_layer")
        if input_layer is None or tuple(input_layer.batch_shape) != tuple(batch_shape):
            input_layer = InputLayer(batch_shape=batch_shape)
        x, nodes = input_layer.output, []
        for layer in self._layers:
            x = layer(x)
            if not isinstance(x, KerasTensor):
                raise ValueError(f"Sequential: layer '{layer.name}' returns several outputs; "
                                 "only single-output layers can be stacked")
            nodes.append(x.node)
        self._graph = {"input_layer": input_layer, "output": x, "nodes": nodes}
        return x

    def _graph_tensor(self, key, what):
        if "output" not in self._graph:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {what} yet: "
                                 "give it an Input or an input_shape, or call it on data")
        return self._graph["input_layer"].output if key == "input" else self._graph["output"]

    @property
    def inputs(self):
        """``[the symbolic input]`` once the model's input shape is known."""
        return [self._graph_tensor("input", "inputs")]

    @property
    def outputs(self):
        return [self._graph_tensor("output", "outputs")]

    @property
    def input(self):
        return self._graph_tensor("input", "input")

    @property
    def output(self):
        return self._graph_tensor("output", "output")

    def build(self, input_shape=None):
        shape = input_shape or self._input_batch_shape
        if shape is None:
            raise ValueError("Sequential.build needs an input shape: give `input_shape` to the "
                             "first layer, add a shendu.Input, or call build((None, ...))")
        if self._input_batch_shape is None:
            self._input_batch_shape = tuple(input_shape)
        self._build_through(shape)

    def _maybe_build(self, input_shape):
        if not self.built:
            if self._input_batch_shape is None:
                self._input_batch_shape = (None,) + tuple(input_shape[1:])
            self._build_through(self._input_batch_shape)

    def call(self, inputs, training=None):
        x, layers, i = inputs, self._layers, 0
        steps = self._fused_steps()
        while i < len(layers):
            step = steps.get(i)
            if step is not None:  # a run of layers planned as one op (shendu/fusion.py)
                done = step(x, training)
                if done is not None:
                    x, covered = done
                    i += covered
                    continue
            x = layers[i](x, training=training)
            i += 1
        return x

    def _plan_fusion(self):
        return fusion.plan_sequential(self._layers)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def input_shape(self):
        return self._input_batch_shape

    @property
    def output_shape(self):
        if self._input_batch_shape is None:
            raise AttributeError("Sequential model has no input shape yet, so no output shape")
        return self.compute_output_shape(self._input_batch_shape)

    def get_build_config(self):
        if self._input_batch_shape is None:
            return None
        return {"input_shape": list(self._input_batch_shape)}

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            self.build(tuple(config["input_shape"]))

    def get_config(self):
        """Keras 3's Sequential config: name, trainable, dtype, layers (InputLayer first)."""
        from ..saving.json_config import sequential_config
        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.json_config import from_keras_config
        return from_keras_config({"class_name": "Sequential", "config": config}, custom_objects)
