"""``Layer``: the building block of models (Keras's lifecycle, PyTorch-friendly).

Lifecycle:
    __init__(config)  -> stores and validates the constructor arguments only;
    build(input_shape) -> creates the weights with ``add_weight`` once the input
                          shape is known (called automatically on first use);
    call(inputs, training=None) -> the computation, written with ``shendu.ops``.

A layer called on Tensors (or arrays) computes right away, so it works in a
PyTorch-style loop with ``loss.backward()``; called on symbolic ``KerasTensor``s
(from ``shendu.Input``) it records a node of a Functional model instead.
"""
import contextvars
import threading

import numpy as np

from .. import backend as _backend
from .. import config as _config
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from .._registry import snake_case
from ..autograd.tensor import Tensor
from ..autograd.variable import Variable
from ..scopes import current_path, join_path
from .operation import Operation

# Set by the loader while it rebuilds a model from a file: called with (layer, shape)
# before each weight is allocated, so a forged config cannot allocate without bound.
weight_allocation_guard = contextvars.ContextVar("weight_allocation_guard", default=None)
_ALLOWED_BASE_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "input_dim", "autocast"}
# Held while a layer builds on its first call: two threads calling an unbuilt model must
# not both create its weights. Reentrant, since building a model builds its sublayers;
# an already-built layer never takes it.
_BUILD_LOCK = threading.RLock()
_IN_CALL = contextvars.ContextVar("shendu_layer_in_call", default=False)  # inside a layer's call?


def unique_name(prefix):
    """Keras's default names: ``dense``, ``dense_1``, ... from ``backend.get_uid``."""
    uid = _backend.get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def reset_name_counters():
    _backend.clear_session(free_memory=False)


class KerasTensor:
    """A symbolic tensor: a shape (None for the batch) and the node that produced it."""

    def __init__(self, shape, dtype=None, name=None, node=None, index=0):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype or _config.floatx())
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Arithmetic on symbolic tensors records an op node (layers/symbolic_ops.py), so a
    # Functional model can write ``x + inputs``. (No comparisons: tensors stay hashable
    # and ``==`` keeps meaning identity, which graph code relies on.)
    __array_ufunc__ = None  # (so that ndarray + KerasTensor reaches __radd__)

    def _apply(self, name, *args):
        from .. import ops
        from .symbolic_ops import symbolic_apply
        return symbolic_apply(getattr(ops, name), *args)

    def __add__(self, other): return self._apply("add", self, other)
    def __radd__(self, other): return self._apply("add", other, self)
    def __sub__(self, other): return self._apply("subtract", self, other)
    def __rsub__(self, other): return self._apply("subtract", other, self)
    def __mul__(self, other): return self._apply("multiply", self, other)
    def __rmul__(self, other): return self._apply("multiply", other, self)
    def __truediv__(self, other): return self._apply("divide", self, other)
    def __rtruediv__(self, other): return self._apply("divide", other, self)
    def __pow__(self, other): return self._apply("power", self, other)
    def __rpow__(self, other): return self._apply("power", other, self)
    def __matmul__(self, other): return self._apply("matmul", self, other)
    def __rmatmul__(self, other): return self._apply("matmul", other, self)
    def __neg__(self): return self._apply("negative", self)
    def __abs__(self): return self._apply("abs", self)
    def __getitem__(self, index): return self._apply("getitem", self, index)


class Node:
    """One call of a layer in a Functional graph: inputs (KerasTensors) -> outputs."""

    def __init__(self, layer, inputs, outputs, kwargs):
        self.layer, self.inputs, self.outputs, self.kwargs = layer, inputs, outputs, kwargs

    @property
    def parent_tensors(self):
        return [t for t in _flatten(self.inputs) if isinstance(t, KerasTensor)]


def _flatten(structure):
    if isinstance(structure, (list, tuple)):
        return [y for x in structure for y in _flatten(x)]
    if isinstance(structure, dict):
        return [y for k in structure for y in _flatten(structure[k])]
    return [structure]


def _map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_structure(fn, x) for x in structure)
    if isinstance(structure, dict):
        return {k: _map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def _unshared(outputs, given):
    """``outputs``, none of which shares memory with a NumPy array the caller passed in.

    Keras's outputs are new arrays; an identity-like layer or model (Dropout at
    inference, Flatten, a linear activation) would otherwise hand back the caller's own
    ``x`` or a view of it, so editing the prediction would edit ``x``. Only those
    outputs are copied. Tensors passed in keep PyTorch's rule: outputs may view them.
    """
    if isinstance(given, np.ndarray):
        arrays = [given]
    elif isinstance(given, (list, tuple, dict)):
        arrays = [a for a in _flatten(given) if isinstance(a, np.ndarray)]
    else:
        return outputs
    for t in _flatten(outputs):
        if isinstance(t, Tensor) and any(np.may_share_memory(t.data, a) for a in arrays):
            t.data = t.data.copy()
    return outputs


def _shape_of(x):
    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (int, np.integer, type(None))):
        return [_shape_of(t) for t in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return tuple(x.shape)


class Layer(Operation):
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name (default: the class name in snake_case, numbered).
        dtype: the float type of weights and computation (default ``floatx()``).
        input_shape: (first layer of a Sequential only) the shape of one sample.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A user may call build() directly (as in Keras); it must then count as built,
        # or the first call would create a second set of weights.
        if "build" in cls.__dict__:
            original = cls.__dict__["build"]

            def build(self, input_shape=None, _original=original):
                _original(self, input_shape)
                self.built = True
                if self._build_input_shape is None:
                    self._build_input_shape = input_shape
            build.__doc__ = original.__doc__
            cls.build = build

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - _ALLOWED_BASE_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument(s) "
                            f"{sorted(unknown)}")
        object.__setattr__(self, "_layers", [])
        self._weights = []
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = _config.layer_dtype(dtype)  # dtype=None: the global dtype policy
        self._dtype_policy = dtype if dtype is not None else _config._DTYPE_POLICY
        self.built = False
        if kwargs.get("autocast") is False:
            self._autocast = False
        self._losses = []
        self._build_input_shape = None
        self._inbound_nodes = []
        shape = kwargs.get("batch_input_shape")
        if shape is None and kwargs.get("input_shape") is not None:
            shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        if shape is None and kwargs.get("input_dim") is not None:
            shape = (kwargs.get("batch_size"), kwargs["input_dim"])
        self._batch_input_shape = tuple(shape) if shape is not None else None

    # ---- sublayers are tracked by attribute assignment (as torch.nn.Module) ----------
    def __setattr__(self, name, value):
        if "_layers" in self.__dict__:
            items = value if isinstance(value, (list, tuple)) else [value]
            for v in items:
                if isinstance(v, Layer) and v is not self and not any(v is l for l in self._layers):
                    self._layers.append(v)
        object.__setattr__(self, name, value)

    # ---- weights ----------------------------------------------------------------------
    def add_weight(self, shape=(), initializer="glorot_uniform", dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None):
        """Create a weight (a ``Variable``) owned by this layer."""
        shape = tuple(int(s) for s in shape)
        guard = weight_allocation_guard.get()
        if guard is not None:
            guard(self, shape)
        init = _initializers.get(initializer) or _initializers.Zeros()
        try:
            var = Variable(init, shape=shape, dtype=dtype or self.dtype,
                           trainable=trainable and self._trainable, name=name)
        except MemoryError:
            raise MemoryError(_weight_too_big_message(self, name, shape, dtype or self.dtype)) from None
        var.trainable = bool(trainable)
        scope = current_path()  # keras.name_scope active while the weights are made
        if scope:
            self._path = join_path(scope, self.name)
        var.path = join_path(scope, self.name, var.name)
        var.regularizer = _regularizers.get(regularizer)
        var.constraint = _constraints.get(constraint)
        self._weights.append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value
        for w in self._weights:
            w.requires_grad = bool(value) and w.trainable

    @property
    def layers(self):
        return list(self._layers)

    def _all_layers(self):
        seen, out = set(), []
        stack = [self]
        while stack:
            layer = stack.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(layer._layers)
        return out

    def _weights_and_trainability(self, parent_trainable=True):
        """[(weight, trains?)] in Keras 3's order: this layer's trainable weights, then its
        non-trainable ones, then each sublayer's in turn (depth first, each weight once).
        So a Conv+BN model lists conv kernel, bias, gamma, beta, moving mean, moving
        variance, as Keras's ``get_weights`` does."""
        trains = parent_trainable and self._trainable
        out = [(w, trains) for w in self._weights if w.trainable]
        out += [(w, False) for w in self._weights if not w.trainable]
        seen = {id(w) for w, _ in out}
        for layer in self._layers:
            for w, t in layer._weights_and_trainability(trains):
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append((w, t))
        return out

    @property
    def weights(self):
        """All weights, layer by layer (each layer's trainable then non-trainable), as Keras."""
        return [w for w, _ in self._weights_and_trainability()]

    @property
    def trainable_weights(self):
        return [w for w, t in self._weights_and_trainability() if t]

    @property
    def non_trainable_weights(self):
        return [w for w, t in self._weights_and_trainability() if not t]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def get_weights(self):
        """Copies of the weights as NumPy arrays, in ``weights`` order."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights):
        """Load weights (arrays in ``get_weights`` order); shapes must match exactly."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}': set_weights expects {len(own)} arrays "
                             f"({[w.path for w in own]}), received {len(weights)}")
        for var, value in zip(own, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(f"Layer '{self.name}': weight '{var.path}' has shape {var.shape}, "
                                 f"received an array of shape {value.shape}")
            var.assign(value.astype(var.dtype))

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self):
        """Regularization penalties of the weights plus losses added by ``add_loss``."""
        out = list(self._losses)
        for layer in self._all_layers():
            for w in layer._weights:
                if w.regularizer is not None and w.trainable:
                    out.append(w.regularizer(w))
            if layer is not self:
                out += layer._losses
        return out

    def add_loss(self, loss):
        self._losses.append(loss)

    def _clear_losses(self):
        for layer in self._all_layers():
            layer._losses.clear()

    # ---- lifecycle --------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (override in subclasses)."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not define call()")

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (batch as None), without touching data.

        Built-in layers compute it from their arguments; the fallback for user layers
        traces ``call`` on a small zero batch under no_grad.
        """
        from ..autograd.grad_mode import no_grad

        def dummy(shape):
            return Tensor(np.zeros([1 if s is None else s for s in shape], self.dtype))
        with no_grad():
            out = self.call(_map_structure_shapes(dummy, input_shape))
        return _map_structure(lambda t: (None,) + tuple(t.shape[1:]), out)

    def _maybe_build(self, input_shape):
        if not self.built:
            self._check_input_shape(input_shape)
            self.build(input_shape)
            self.built = True
            self._build_input_shape = input_shape

    input_spec = None  # an InputSpec (or a list of them) checked when the layer is built

    def _check_input_shape(self, input_shape):
        """Hook for layers to validate a shape at build time with a clear message (the
        default checks ``input_spec``)."""
        if self.input_spec is not None:
            from .input_spec import assert_input_compatibility
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            assert_input_compatibility(self.input_spec, shapes, self.name)

    def __call__(self, inputs, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            return self._symbolic_call(inputs, *args, **kwargs)
        given = inputs
        inputs = _map_structure(self._convert_input, inputs)
        if not self.built:
            with _BUILD_LOCK:
                self._maybe_build(_shape_of(inputs))
        if not self._accepts_training():
            kwargs.pop("training", None)
        if _IN_CALL.get():
            outputs = self.call(inputs, *args, **kwargs)
        else:
            # The entry call (Keras's rule): the losses that layers add during a call
            # (activity regularizers, add_loss) are those of the latest top-level call, so
            # predict loops and PyTorch-style loops do not pile them up, graphs and all.
            self._clear_losses()
            token = _IN_CALL.set(True)
            try:
                outputs = self.call(inputs, *args, **kwargs)
            finally:
                _IN_CALL.reset(token)
        in_mask = getattr(inputs, "_keras_mask", None)
        if isinstance(outputs, Tensor) and (in_mask is not None or
                                            type(self).compute_mask is not Layer.compute_mask):
            # Keras masking: a layer that makes a mask (Embedding(mask_zero=True), Masking)
            # or passes one on (supports_masking) hands it to the next layer as `_keras_mask`.
            mask = self.compute_mask(inputs, in_mask)
            if mask is not None:
                outputs._keras_mask = mask
        return _unshared(outputs, given)

    supports_masking = False

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: the input's mask when the layer supports masking."""
        return mask if self.supports_masking else None

    def _accepts_training(self):
        import inspect
        cls = type(self)
        cached = cls.__dict__.get("_call_has_training")
        if cached is None:
            params = inspect.signature(self.call).parameters
            cached = "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
            setattr(cls, "_call_has_training", cached)
        return cached

    # Keras's rule: a layer casts float inputs to its own compute dtype. Models made of
    # layers (Functional, Sequential) set this False: their layers (and Inputs) cast for
    # themselves, so a float64 layer inside a float32-named model still sees float64 data.
    _autocast = True

    def _convert_input(self, x):
        if x is None:
            return None
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(_non_numeric_input_message(self, arr))
        if not (self._autocast and arr.dtype.kind == "f" and arr.dtype != np.dtype(self.dtype)):
            return x if isinstance(x, Tensor) else Tensor(arr)
        if isinstance(x, Tensor):
            from .. import ops
            return ops.cast(x, self.dtype)
        return Tensor(arr.astype(self.dtype))  # float64 data meets a float32 layer: cast, as Keras

    def _symbolic_call(self, inputs, *args, **kwargs):
        input_shape = _shape_of(inputs)
        with _BUILD_LOCK:
            self._maybe_build(input_shape)
        out_shape = self.compute_output_shape(input_shape)
        node = Node(self, inputs, None, dict(kwargs))
        if isinstance(out_shape, list):
            outputs = [KerasTensor(s, self.dtype, name=f"{self.name}_{i}", node=node, index=i)
                       for i, s in enumerate(out_shape)]
        else:
            outputs = KerasTensor(out_shape, self._output_dtype(inputs), name=self.name, node=node)
        node.outputs = outputs
        self._inbound_nodes.append(node)
        return outputs

    def _output_dtype(self, inputs):
        return self.dtype

    # ---- configuration ----------------------------------------------------------------
    def get_config(self):
        """Every constructor argument, so that ``from_config(get_config())`` rebuilds the layer."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def input_shape(self):
        if self._inbound_nodes:
            return _shape_of(self._inbound_nodes[0].inputs)
        return self._build_input_shape

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return _shape_of(self._inbound_nodes[0].outputs)
        if self._build_input_shape is not None:
            return self.compute_output_shape(self._build_input_shape)
        raise AttributeError(f"Layer '{self.name}' has not been called yet, so its output shape is unknown")

    # ---- the symbolic graph (Keras's Operation.input / output) ------------------------
    def _first_node_attribute(self, attr, what):
        # Keras 3 answers from the layer's first call; a layer called several times
        # (a shared layer) still answers from its first node, as Keras does.
        if not self._inbound_nodes:
            raise AttributeError(
                f"The layer '{self.name}' has never been called on a symbolic input "
                f"(shendu.Input, or a model built with an input shape) and thus has no "
                f"defined {what}.")
        value = getattr(self._inbound_nodes[0], attr)
        if isinstance(value, (list, tuple)) and len(value) == 1:
            return value[0]
        return value

    @property
    def input(self):
        """The symbolic input of the layer's first call in a model (a ``KerasTensor``)."""
        return self._first_node_attribute("inputs", "input")

    @property
    def output(self):
        """The symbolic output of the layer's first call in a model (a ``KerasTensor``):
        ``Model(base.inputs, base.get_layer("conv").output)`` cuts a model there."""
        return self._first_node_attribute("outputs", "output")

    # ---- the rest of Keras's Layer API --------------------------------------------------
    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Keras's other name for ``add_weight`` (``autocast`` is accepted: the variables
        and the computation share the layer's dtype here)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, regularizer=regularizer,
                               constraint=constraint, name=name)

    @property
    def metrics(self):
        """The Metric objects this layer and its sublayers hold as attributes (or in lists
        that are attributes), each once: Keras tracks them so."""
        from ..metrics.metric import Metric
        out = []
        for layer in self._all_layers():
            if type(layer).__module__.startswith("shendu."):
                continue  # shendu's own layers and models hold no metrics (fit reads this each step)
            for value in vars(layer).values():
                if isinstance(value, Metric):
                    items = (value,)
                elif isinstance(value, (list, tuple)) and value and isinstance(value[0], Metric):
                    items = value  # (a list of metrics; other lists, weights say, are skipped)
                else:
                    continue
                out += [m for m in items if isinstance(m, Metric) and not any(m is o for o in out)]
        return out

    @property
    def metrics_variables(self):
        """The state variables of ``metrics``."""
        return [v for m in self.metrics for v in m.variables]

    def add_metric(self, *args, **kwargs):
        raise NotImplementedError(
            f"Layer '{self.name}': add_metric() is not part of Keras 3 (it was removed); "
            "pass metrics to Model.compile(metrics=[...]) or update a Metric in train_step")

    @property
    def path(self):
        """The layer's path, the prefix of its weights' paths (``"dense"`` in ``"dense/kernel"``;
        ``"block/dense"`` when built inside ``keras.name_scope("block")``)."""
        return self.__dict__.get("_path") or self.name

    @property
    def dtype_policy(self):
        """The layer's ``DTypePolicy`` (Keras's values: ``compute_dtype`` is ``"float16"``
        under ``"mixed_float16"``; what shendu computes in is ``layer.compute_dtype``, see
        ``shendu.mixed_precision``)."""
        from ..mixed_precision import DTypePolicy
        policy = self.__dict__.get("_dtype_policy")
        if isinstance(policy, DTypePolicy):
            return policy
        if isinstance(policy, dict):  # a serialized policy, as in a Keras config
            return DTypePolicy(**policy.get("config", {}))
        if policy is None:
            return DTypePolicy(self.dtype)
        return DTypePolicy(policy if isinstance(policy, str) else np.dtype(policy).name)

    @dtype_policy.setter
    def dtype_policy(self, policy):
        if self.built and self._weights:
            raise ValueError(f"Layer '{self.name}': set dtype_policy before the layer is built "
                             f"(its weights already exist in {self.dtype}). Received: "
                             f"dtype_policy={policy!r}")
        self.dtype = _config.layer_dtype(policy)
        self._dtype_policy = policy

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (the layer's ``dtype``)."""
        return self.dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights (the layer's ``dtype``)."""
        return self.dtype

    @property
    def input_dtype(self):
        """The dtype floating-point inputs are cast to before ``call``."""
        return self.dtype

    def get_build_config(self):
        """``{"input_shape": ...}`` of the built layer (None before it is built), which
        ``build_from_config`` takes to create the same weights."""
        if not self.built or self._build_input_shape is None:
            return None
        shape = self._build_input_shape
        as_list = (lambda s: [as_list(x) for x in s] if isinstance(s, list) else list(s))
        return {"input_shape": as_list(shape)}

    def build_from_config(self, config):
        """Build the layer from ``get_build_config()``'s dict (a no-op for None)."""
        if not config:
            return
        if "input_shape" in config:
            shape = config["input_shape"]
            to_shape = (lambda s: [to_shape(x) for x in s] if s and isinstance(s[0], (list, tuple))
                        else tuple(s))
            self._maybe_build(to_shape(shape))
        elif "shapes_dict" in config:
            self.build(**config["shapes_dict"])
            self.built = True

    def save_own_variables(self, store):
        """Write this layer's own weights (not its sublayers') to ``store["0"]``, ``["1"]``..."""
        for i, w in enumerate(self._own_weights()):
            store[str(i)] = np.array(w.data)

    def load_own_variables(self, store):
        """Read this layer's own weights back from ``save_own_variables``'s ``store``."""
        own = self._own_weights()
        if len(store.keys()) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expected {len(own)} variables, but received "
                f"{len(store.keys())} variables during loading. Expected: {[w.path for w in own]}")
        for i, w in enumerate(own):
            value = np.asarray(store[str(i)])
            if value.shape != w.shape:
                raise ValueError(f"Layer '{self.name}': variable '{w.path}' has shape {w.shape}, "
                                 f"received an array of shape {value.shape}")
            w.assign(value.astype(w.dtype))

    def _own_weights(self):
        return [w for w in self._weights if w.trainable] + [w for w in self._weights if not w.trainable]

    def compute_output_spec(self, *args, **kwargs):
        """The output ``KerasTensor``(s) for input ``KerasTensor``(s), without computing."""
        inputs = args[0] if args else kwargs.get("inputs")
        shape = self.compute_output_shape(_shape_of(inputs))
        is_one = isinstance(shape, tuple) and all(s is None or isinstance(s, (int, np.integer))
                                                  for s in shape)
        if is_one:
            return KerasTensor(shape, self.compute_dtype)
        return _map_structure_shapes(lambda s: KerasTensor(s, self.compute_dtype), shape)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _map_structure_shapes(fn, shape):
    if isinstance(shape, list):
        return [_map_structure_shapes(fn, s) for s in shape]
    if isinstance(shape, dict):
        return {k: _map_structure_shapes(fn, v) for k, v in shape.items()}
    return fn(shape)


def _weight_too_big_message(layer, name, shape, dtype):
    nbytes = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    size = next(f"{nbytes / 2 ** e:.3g} {unit}" for e, unit in
                ((40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB"), (0, "bytes")) if nbytes >= 2 ** e
                or e == 0)
    return (f"Layer '{layer.name}' ({type(layer).__name__}): not enough memory to create weight "
            f"'{name}' of shape {tuple(shape)} and dtype {np.dtype(dtype).name}, which needs "
            f"{nbytes} bytes ({size}). Check the layer's arguments and the shape of its input")


def _non_numeric_input_message(layer, arr):
    what = ("complex numbers; a layer computes on real numbers, so pass x.real, x.imag or "
            "np.abs(x) explicitly" if arr.dtype.kind == "c" else
            "strings; map them to numbers first (e.g. a StringLookup or your own vocabulary)"
            if arr.dtype.kind in "US" else "values of a non-numeric type")
    return (f"Input to layer '{layer.name}' ({type(layer).__name__}) must be numeric "
            f"(bool, int or float); received an array of dtype {arr.dtype} of shape "
            f"{tuple(arr.shape)}, holding {what}")


def shape_error(layer, expected, received):
    """The ValueError a layer raises for an input it cannot take."""
    return ValueError(f"Input to layer '{layer.name}' ({type(layer).__name__}) is incompatible: "
                      f"expected {expected}, received input shape {tuple(received)}")
