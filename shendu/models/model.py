"""``Model``: a Layer that can be trained (``Trainer``) and summarised.

Three ways to make one, as in Keras:
    Sequential([...])                 -- a stack of layers (sequential.py)
    Model(inputs, outputs)            -- a graph of layers called on Inputs (functional.py)
    class MyModel(Model): call(...)   -- subclassing, layers assigned as attributes
"""
from .. import fusion
from ..layers.layer import Layer
from ..trainers.trainer import Trainer


class Model(Trainer, Layer):
    """Base class of models. ``Model(inputs, outputs)`` builds a Functional model."""

    def __new__(cls, *args, **kwargs):
        if len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs:
            from .functional import Functional
            if cls is Model:
                return super().__new__(Functional)
            if not issubclass(cls, Functional):
                # A subclass of Model made with (inputs, outputs), as in Keras's guides
                # (a custom train_step on a Functional graph): the same class with
                # Functional mixed in, so its own methods override Functional's.
                return super().__new__(_functional_subclass(cls))
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    # (whether fusion was on, {position: fusion.Fused}): the plan of this model's layers,
    # made by shendu/fusion.py on the first call after it was built or compiled, and made
    # again when the fusion switches change.
    _fusion_plan = None

    def _fused_steps(self):
        on = fusion.enabled(self)
        plan = self._fusion_plan
        if plan is None or plan[0] is not on:
            plan = self._fusion_plan = (on, self._plan_fusion() if on else {})
        return plan[1]

    def _plan_fusion(self):
        """{position: fused step} for this model's layers (Sequential, Functional)."""
        return {}

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in ``layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: '{name}'. Existing layers are: {[l.name for l in layers]}")

    @property
    def input(self):
        """The symbolic input(s) in the structure given to ``Model(inputs, outputs)``."""
        struct = getattr(self, "_input_struct", None)
        return Layer.input.fget(self) if struct is None else struct

    @property
    def output(self):
        """The symbolic output(s) in the structure given to ``Model(inputs, outputs)``."""
        struct = getattr(self, "_output_struct", None)
        return Layer.output.fget(self) if struct is None else struct

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a Keras-style table: layer (type), output shape, parameter count, totals
        (options as Keras's; see ``shendu.utils.summary``)."""
        from ..utils.summary import print_summary
        print_summary(self, print_fn=print_fn, line_length=line_length, positions=positions,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Functional config (with ``layers``, ``input_layers``, ``output_layers``) builds a
        Functional model, as Keras's ``Model.from_config``; else ``cls(**config)``."""
        if isinstance(config, dict) and {"layers", "input_layers", "output_layers"} <= set(config) \
                and (cls is Model or "__init__" not in vars(cls)):
            from .functional import Functional
            graph = Functional.from_config(config, custom_objects)
            if cls is Model:
                return graph
            # A Model subclass made from (inputs, outputs): the same graph, in that class.
            return cls(graph._input_struct, graph._output_struct, name=graph.name,
                       trainable=graph.trainable)
        return cls(**config)

    def get_compile_config(self):
        """The ``compile`` arguments as a JSON-ready dict (None before ``compile``)."""
        if not getattr(self, "compiled", False):
            return None
        from ..saving.serialization import serialize_compile
        return serialize_compile(self)

    def compile_from_config(self, config):
        """``compile`` with the arguments ``get_compile_config`` returned."""
        if not config:
            return
        from ..saving.serialization import deserialize_compile
        self.compile(**deserialize_compile(config))

    def to_json(self, **kwargs):
        """The architecture as Keras 3's JSON (``keras.models.model_from_json`` reads it
        back, in shendu or in Keras); ``kwargs`` go to ``json.dumps``."""
        from ..saving.json_config import to_json
        return to_json(self, **kwargs)

    # ---- saving (shendu/saving: one zip format, atomic writes, safe loading) ------------------
    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Save architecture, weights, compile arguments and training state to one file
        (shendu's zip format); a ``.keras`` name adds Keras 3's members, so real Keras
        can load the model too."""
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Save the weights only, atomically; ``"w.weights.h5"`` gets Keras 3's layout."""
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights (shendu's file, Keras 3's ``.weights.h5`` or a legacy Keras ``.h5``);
        shapes are checked first and mismatches raise unless ``skip_mismatch``."""
        from ..saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls):
    """``cls`` with ``Functional`` after it in the method order (made once per class)."""
    if cls not in _FUNCTIONAL_SUBCLASSES:
        from .functional import Functional
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]
