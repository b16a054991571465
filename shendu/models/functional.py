"""Functional models: a graph of layers recorded by calling them on ``Input``s."""
from .. import fusion
from ..layers.core import InputLayer
from ..layers.layer import KerasTensor, Layer, _flatten, _map_structure
from .model import Model


class Functional(Model):
    """``Model(inputs, outputs)``: inputs and outputs may be one KerasTensor, a list or a dict.

    The graph is walked once here to order its nodes; ``call`` replays them on real
    tensors. A layer called twice (a shared layer) has two nodes and one set of weights.
    """

    _autocast = False  # each Input and layer casts for itself (a float64 layer keeps float64)

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._input_struct, self._output_struct = inputs, outputs
        self.inputs = [t for t in _flatten(inputs)]
        self.outputs = [t for t in _flatten(outputs)]
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model(inputs, outputs) expects KerasTensors from shendu.Input and "
                                f"layer calls; received {type(t).__name__}")
        for t in self.inputs:
            if t.node is not None or not hasattr(t, "input_layer"):
                raise ValueError(f"Model inputs must come from shendu.Input(); {t} was produced by a layer")
        self._nodes = self._order_nodes()
        layers = [t.input_layer for t in self.inputs]
        for node in self._nodes:
            if not any(node.layer is l for l in layers):
                layers.append(node.layer)
        _check_unique_names(layers, name or self.name)
        self._layers = []
        for layer in layers:
            self._layers.append(layer)
        self.built = True

    def _order_nodes(self):
        order, done, on_path = [], set(), set()
        input_ids = {id(t) for t in self.inputs}

        def visit(tensor):
            if id(tensor) in input_ids:
                return
            node = tensor.node
            if node is None:
                raise ValueError(f"Graph disconnected: {tensor} is an Input that is not among the "
                                 f"model's inputs {[t.name for t in self.inputs]}")
            if id(node) in done:
                return
            stack = [(node, False)]
            while stack:
                n, expanded = stack.pop()
                if expanded:
                    on_path.discard(id(n))
                    if id(n) not in done:
                        done.add(id(n))
                        order.append(n)
                    continue
                if id(n) in done:
                    continue
                on_path.add(id(n))
                stack.append((n, True))
                for parent in n.parent_tensors:
                    if id(parent) in input_ids:
                        continue
                    if parent.node is None:
                        raise ValueError(f"Graph disconnected: cannot reach {parent} from the model's "
                                         f"inputs {[t.name for t in self.inputs]}")
                    if id(parent.node) not in done:
                        stack.append((parent.node, False))

        for out in self.outputs:
            visit(out)
        return order

    @property
    def input_names(self):
        return [t.input_layer.name for t in self.inputs]

    @property
    def output_names(self):
        return [t.node.layer.name if t.node is not None else t.name for t in self.outputs]

    def call(self, inputs, training=None):
        values = {}
        flat = self._flatten_inputs(inputs)
        for kt, value in zip(self.inputs, flat):
            values[id(kt)] = kt.input_layer._convert_input(value)
        steps, covered = self._fused_steps(), set()
        for k, node in enumerate(self._nodes):
            if k in covered:
                continue
            args = _map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.inputs)
            planned = steps.get(k)
            if planned is not None:  # a run of nodes planned as one op (shendu/fusion.py)
                step, positions, outputs = planned
                done = step(args, training)
                if done is not None:
                    y, n = done
                    values[id(outputs[n - 1])] = y
                    covered.update(positions[1:n])
                    continue
            kwargs = dict(node.kwargs)
            if training is not None:
                kwargs["training"] = training
            out = node.layer(args, **kwargs)
            for kt, v in zip(_flatten(node.outputs), _flatten(out)):
                values[id(kt)] = v
        return _map_structure(lambda t: values[id(t)], self._output_struct)

    def _plan_fusion(self):
        return fusion.plan_graph(self._nodes, self.outputs)

    def _flatten_inputs(self, inputs):
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': missing inputs {missing}; "
                                 f"received keys {sorted(inputs)}")
            return [inputs[n] for n in self.input_names]
        flat = _flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s) "
                             f"{self.input_names}, received {len(flat)}")
        return flat

    def compute_output_shape(self, input_shape):
        return _map_structure(lambda t: t.shape, self._output_struct)

    @property
    def input_shape(self):
        """The shape of the model's input (a list of shapes for several inputs), from its
        own Inputs, as Keras: the same however the model was later called."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The shape of the model's output (a list of shapes for several outputs)."""
        return self.compute_output_shape(None)

    def __call__(self, inputs, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            return self._call_graph_symbolically(inputs, **kwargs)
        return Layer.__call__(self, inputs, *args, **kwargs)

    def _call_graph_symbolically(self, inputs, **kwargs):
        # A model used as a layer inside another Functional model: one node for the whole model.
        return Layer._symbolic_call(self, inputs, **kwargs)

    def _maybe_build(self, input_shape):
        self.built = True

    def get_config(self):
        """Keras 3's Functional config: each layer's config and inbound nodes, where a
        tensor is a ``__keras_tensor__`` with its ``keras_history`` [layer, node, index]."""
        from ..saving.json_config import functional_config
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.json_config import from_keras_config
        return from_keras_config({"class_name": "Functional", "config": config}, custom_objects)


def _check_unique_names(layers, model_name):
    """Layer names are how weights are saved and how get_layer finds a layer: two distinct
    layers of one name fail when the model is made, not when it is saved or loaded."""
    counts = {}
    for layer in layers:
        counts[layer.name] = counts.get(layer.name, 0) + 1
    repeated = {n: c for n, c in counts.items() if c > 1}
    if repeated:
        detail = ", ".join(f"'{n}' is used {c} times" for n, c in repeated.items())
        raise ValueError(f"Model '{model_name}': layer names must be unique; {detail}. "
                         f"Give the layers distinct `name` arguments")
