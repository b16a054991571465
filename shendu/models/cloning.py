"""``clone_model``: the same architecture with new layers, hence new weights.

For a Sequential model each layer is cloned and stacked again; for a Functional model
the graph is replayed, node by node, with the cloned layers on new inputs (or on the
caller's ``input_tensors``). A layer called several times (a shared layer) is cloned
once and stays shared. Other models are rebuilt from ``get_config``.

Example:
    >>> import shendu as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> twin = keras.models.clone_model(model)
    >>> twin.output_shape, twin.weights[0] is model.weights[0]
    ((None, 2), False)
"""
from ..layers.core import InputLayer, Lambda
from ..layers.layer import KerasTensor, _flatten, _map_structure
from ..layers.symbolic_ops import SymbolicOp
from .functional import Functional
from .sequential import Sequential


def _default_clone(layer):
    """A new layer of the same configuration (Keras: ``cls.from_config(get_config())``)."""
    if isinstance(layer, Lambda):
        # A Lambda's function is code, which a config cannot carry: the clone calls the
        # same function object.
        return Lambda(layer.function, output_shape=layer._output_shape,
                      arguments=dict(layer.arguments), name=layer.name,
                      trainable=layer.trainable, dtype=layer.dtype)
    if isinstance(layer, SymbolicOp):  # an op on symbolic tensors: the same op again
        return SymbolicOp(layer.function, layer.arguments, name=layer.name)
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Clone a Sequential or Functional model: new layers, new weights, same graph.

    Args:
        model: a ``Sequential`` or Functional ``Model`` (another model is rebuilt from its
            ``get_config``, and then takes none of the other arguments).
        input_tensors: ``Input`` tensor(s) to build the clone on (default: new ones of
            the same shapes, dtypes and names).
        clone_function: ``fn(layer) -> layer`` used for every layer except inputs
            (default: ``type(layer).from_config(layer.get_config())``); return the layer
            itself to share it.
        call_function: ``fn(layer, *args, **kwargs) -> outputs`` used to call each cloned
            layer while replaying a Functional graph (default ``layer(*args, **kwargs)``);
            it may add layers around a call. Functional models only.
        recursive: clone the layers inside nested Sequential/Functional models with
            ``clone_model`` too (default: nested models go through ``clone_function``).

    Returns:
        The new model. Its weights are freshly initialized: copy them with
        ``new.set_weights(model.get_weights())`` if wanted.
    """
    cache = kwargs.pop("_cache", None)
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs)}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"Expected `clone_function` to be a callable. "
                         f"Received: clone_function={clone_function!r}")
    if call_function is not None and not callable(call_function):
        raise ValueError(f"Expected `call_function` to be a callable. "
                         f"Received: call_function={call_function!r}")
    cache = {} if cache is None else cache
    if type(model) is Sequential or isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(
                "`call_function` is not supported with Sequential models: their layers are "
                "listed, not called, when the model is made. Use it with Functional models. "
                f"Received model of type '{type(model).__name__}'")
        clone = _cloner(clone_function, None, recursive, cache)
        return _clone_sequential(model, clone, input_tensors)
    if isinstance(model, Functional):
        clone = _cloner(clone_function, call_function, recursive, cache)
        return _clone_functional(model, clone, call_function, input_tensors)
    if clone_function is not None or input_tensors is not None or call_function is not None:
        raise ValueError(
            "Arguments `clone_function`, `call_function` and `input_tensors` are only "
            "supported for Sequential and Functional models. Received model of type "
            f"'{type(model).__name__}', with clone_function={clone_function}, "
            f"call_function={call_function} and input_tensors={input_tensors}")
    from ..saving.serialization import deserialize_layer, serialize_layer
    return deserialize_layer(serialize_layer(model), {type(model).__name__: type(model)})


def _cloner(clone_function, call_function, recursive, cache):
    """The clone function, with a cache (a shared layer is cloned once) and recursion."""
    base = clone_function or _default_clone

    def clone(layer):
        if id(layer) not in cache:
            if recursive and isinstance(layer, (Sequential, Functional)):
                cache[id(layer)] = clone_model(
                    layer, clone_function=clone_function, recursive=True, _cache=cache,
                    call_function=call_function if isinstance(layer, Functional) else None)
            else:
                cache[id(layer)] = base(layer)
        return cache[id(layer)]
    return clone


def _single_input(input_tensors, what):
    if isinstance(input_tensors, (list, tuple)):
        if len(input_tensors) != 1:
            raise ValueError(f"{what}: `input_tensors` must hold a single tensor; "
                             f"received {len(input_tensors)}")
        input_tensors = input_tensors[0]
    _check_input_tensor(input_tensors)
    return input_tensors


def _check_input_tensor(t):
    if not isinstance(t, KerasTensor) or t.node is not None or not hasattr(t, "input_layer"):
        raise ValueError("`input_tensors` must be symbolic tensors made by shendu.Input(); "
                         f"received {t!r}")


def _clone_sequential(model, clone, input_tensors):
    layers = [clone(layer) for layer in model.layers]
    if input_tensors is not None:
        first = [_single_input(input_tensors, "clone_model (Sequential)")]
    elif model._input_batch_shape is not None:
        original = model._graph.get("input_layer")
        first = [InputLayer(batch_shape=model._input_batch_shape,
                            dtype=None if original is None else original.dtype,
                            name=None if original is None else original.name)]
    else:
        first = []
    return Sequential(first + layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, clone, call_function, input_tensors):
    if input_tensors is None:
        new_inputs = [InputLayer(batch_shape=t.shape, dtype=t.dtype.name,
                                 name=t.input_layer.name).output for t in model.inputs]
    else:
        new_inputs = _flatten(input_tensors) if isinstance(input_tensors, (list, tuple, dict)) \
            else [input_tensors]
        if len(new_inputs) != len(model.inputs):
            raise ValueError(f"clone_model: model '{model.name}' has {len(model.inputs)} "
                             f"input(s), received {len(new_inputs)} input_tensors")
        for t in new_inputs:
            _check_input_tensor(t)
    values = {id(old): new for old, new in zip(model.inputs, new_inputs)}
    for node in model._nodes:
        layer = clone(node.layer)
        args = _map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t,
                              node.inputs)
        out = layer(args, **node.kwargs) if call_function is None \
            else call_function(layer, args, **node.kwargs)
        for old, new in zip(_flatten(node.outputs), _flatten(out)):
            values[id(old)] = new
    inputs = _map_structure(lambda t: values[id(t)], model._input_struct)
    outputs = _map_structure(lambda t: values[id(t)], model._output_struct)
    return Functional(inputs, outputs, name=model.name, trainable=model.trainable)
