"""Architecture <-> JSON: layers, Sequential and Functional graphs, compile arguments.

Every class is written as ``{"class_name", "registered_name", "config"}`` and read back
only through ``registry.lookup_class``. A Functional model is written as Keras writes
it: each layer with its config and its inbound nodes, where a tensor is referenced as
``[layer name, node index, tensor index]``.
"""
import contextlib

import numpy as np

from .registry import _NAMES, lookup_class
from .safe_tensors import UnsafeFileError

_ALLOWED_DTYPES = {"float16", "float32", "float64", "bfloat16", "int8", "int16", "int32",
                   "int64", "uint8", "uint16", "uint32", "uint64", "bool"}


# ---- saving --------------------------------------------------------------------------------
def serialize_layer(layer):
    """``{"class_name", "registered_name", "config"}`` for a layer or model."""
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    cls = type(layer)
    if isinstance(layer, Functional) and cls.get_config is Functional.get_config:
        # (also a Model subclass made from (inputs, outputs) that keeps Functional's config)
        config = functional_get_config(layer)
    elif isinstance(layer, Sequential) and cls is Sequential:
        config = sequential_get_config(layer)
    else:
        config = layer.get_config()
    out = {"class_name": cls.__name__, "registered_name": _NAMES.get(cls), "config": config}
    build_shape = getattr(layer, "_build_input_shape", None)
    if build_shape is not None and not isinstance(layer, (Functional, Sequential)):
        out["build_config"] = {"input_shape": _jsonable_shape(build_shape)}
    return out


def _jsonable_shape(shape):
    if isinstance(shape, dict):
        return {k: _jsonable_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_jsonable_shape(s) for s in shape]
    return [None if s is None else int(s) for s in shape]


def sequential_get_config(model):
    shape = model._input_batch_shape
    return {"name": model.name, "trainable": model.trainable,
            "layers": [serialize_layer(layer) for layer in model._layers],
            "input_shape": list(shape) if shape is not None else None}


def functional_get_config(model, serialize=None, tensor_ref=None):
    """Keras's Functional config: layers with inbound nodes, input and output references.

    ``serialize(layer)`` writes each layer entry (default ``serialize_layer``) and
    ``tensor_ref(tensor, [layer name, node index, tensor index])`` each tensor reference
    (default ``{"__keras_tensor__": [...]}``); ``json_config`` passes Keras's forms.
    """
    from ..layers.layer import KerasTensor, _map_structure
    # A layer's nodes in this model, numbered in the order the layer was called (Keras's
    # numbering), which need not be the order the graph runs them in.
    per_layer = {}
    for node in model._nodes:
        per_layer.setdefault(id(node.layer), []).append(node)
    node_index = {}
    for nodes in per_layer.values():
        calls = {id(n): i for i, n in enumerate(nodes[0].layer._inbound_nodes)}
        nodes.sort(key=lambda n: calls.get(id(n), len(calls)))
        node_index.update((id(n), k) for k, n in enumerate(nodes))

    def ref(t):
        if not isinstance(t, KerasTensor):
            return t
        if t.node is None:
            history = [t.input_layer.name, 0, 0]
        else:
            history = [t.node.layer.name, node_index[id(t.node)], t.index]
        return {"__keras_tensor__": history} if tensor_ref is None else tensor_ref(t, history)

    layers = []
    names = [l.name for l in model.layers]
    if len(set(names)) != len(names):
        raise ValueError(f"Model '{model.name}' has layers with the same name; names must be "
                         f"unique to save a Functional model: {names}")
    for layer in model.layers:
        entry = (serialize or serialize_layer)(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [{"args": _map_structure(ref, node.inputs),
                                   "kwargs": dict(node.kwargs)}
                                  for node in per_layer.get(id(layer), ())]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _map_structure(ref, model._input_struct),
            "output_layers": _map_structure(ref, model._output_struct)}


# ---- loading -------------------------------------------------------------------------------
# The deepest nesting of objects and lists a loaded config may have (a bound on the
# loader's recursion). save_model refuses a model nested deeper, so what saves, loads.
MAX_CONFIG_DEPTH = 200


def config_depth(tree):
    """How deeply ``tree``'s dicts and lists nest (a scalar: 0, ``{"a": 1}``: 1)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def _policy_name(dtype):
    """A dtype name, or the name in Keras's ``DTypePolicy`` object (mixed policies too)."""
    if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy" and \
            isinstance(dtype.get("config"), dict):
        dtype = dtype["config"].get("name")
    if not isinstance(dtype, str):
        return None
    return {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(dtype, dtype)


def check_config_tree(tree, where="config", depth=0):
    """Refuse values a config should never hold (non-numeric dtypes), recursively."""
    if depth > MAX_CONFIG_DEPTH:
        raise UnsafeFileError(f"{where}: nested too deeply")
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k == "dtype" and v is not None and _policy_name(v) not in _ALLOWED_DTYPES:
                raise UnsafeFileError(f"{where}: dtype {v!r} is not allowed (numeric dtypes only)")
            check_config_tree(v, f"{where}.{k}", depth + 1)
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            check_config_tree(v, f"{where}[{i}]", depth + 1)


def deserialize_layer(entry, custom_objects=None, safe_mode=True):
    """The layer (or model) an entry describes; classes only from the registry."""
    from ..layers.core import Lambda
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise UnsafeFileError(f"A layer entry must be an object with 'class_name' and a 'config' "
                              f"object; received {str(entry)[:200]}")
    class_name = entry.get("class_name")
    cls = lookup_class(class_name, entry.get("registered_name"), custom_objects)
    config = dict(entry["config"])
    if not isinstance(cls, type):
        raise UnsafeFileError(f"'{class_name}' resolves to {cls!r}, which is not a class")
    if issubclass(cls, Lambda):
        return _lambda_from_config(config, custom_objects, safe_mode)
    try:
        if cls is Functional or (class_name == "Model" and "layers" in config):
            layer = functional_from_config(config, custom_objects, safe_mode)
        elif cls is Sequential:
            layer = sequential_from_config(config, custom_objects, safe_mode)
        else:
            from_config = cls.from_config
            try:
                layer = from_config(config, custom_objects=custom_objects)
            except TypeError:
                layer = from_config(config)
    except (UnsafeFileError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - any failure is reported as a bad file
        raise UnsafeFileError(f"Could not rebuild layer '{config.get('name', class_name)}' "
                              f"({class_name}) from its config: {type(e).__name__}: {e}") from e
    build = entry.get("build_config")
    if isinstance(build, dict) and not layer.built and build.get("input_shape") is not None:
        layer._pending_build_shape = build["input_shape"]
    return layer


def _lambda_from_config(config, custom_objects, safe_mode):
    from ..layers.core import Lambda
    name = config.get("function")
    if safe_mode:
        raise UnsafeFileError(
            f"The file contains a Lambda layer '{config.get('name')}' (function {name!r}). Lambda "
            "layers run arbitrary Python and are refused in safe mode. If you trust this file, "
            "call load_model(..., safe_mode=False, custom_objects={'%s': your_function})" % name)
    if not custom_objects or name not in custom_objects or not callable(custom_objects[name]):
        raise UnsafeFileError(f"Lambda layer '{config.get('name')}' needs its function {name!r}: "
                              "shendu never stores code, pass it in custom_objects=")
    output_shape = config.get("output_shape")
    if isinstance(output_shape, str):
        output_shape = custom_objects.get(output_shape)
    return Lambda(custom_objects[name], output_shape=output_shape,
                  arguments=config.get("arguments") or {}, name=config.get("name"),
                  trainable=config.get("trainable", True), dtype=config.get("dtype"))


def sequential_from_config(config, custom_objects=None, safe_mode=True):
    from ..layers.core import InputLayer
    from ..models.sequential import Sequential
    layers = config.get("layers") or []
    if not isinstance(layers, list):
        raise UnsafeFileError("A Sequential config's 'layers' must be a list")
    model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
    shape = config.get("input_shape")
    if shape is not None:
        model.add(InputLayer(batch_shape=tuple(_checked_shape(shape)), dtype=config.get("dtype")))
    for entry in layers:
        model.add(deserialize_layer(entry, custom_objects, safe_mode))
    return model


def _checked_shape(shape):
    if not isinstance(shape, list) or len(shape) > 32 or not all(
            s is None or (type(s) is int and 0 <= s) for s in shape):
        raise UnsafeFileError(f"Invalid shape {shape!r}: a list of non-negative integers or null")
    return shape


def functional_from_config(config, custom_objects=None, safe_mode=True):
    """Rebuild a Functional model: create every layer, then replay its nodes in order."""
    from ..layers.core import InputLayer
    from ..models.functional import Functional
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise UnsafeFileError("A Functional config must have a 'layers' list")
    layers, pending = {}, {}
    for entry in entries:
        layer = deserialize_layer(entry, custom_objects, safe_mode)
        name = entry.get("name", layer.name)
        if name in layers:
            raise UnsafeFileError(f"Two layers in the Functional config are named '{name}'")
        layers[name] = layer
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise UnsafeFileError(f"Layer '{name}': inbound_nodes must be a list")
        pending[name] = list(nodes)
    outputs = {}  # (layer name, node index) -> output structure
    for name, layer in layers.items():
        if isinstance(layer, InputLayer):
            outputs[(name, 0)] = layer.output
    missing = object()

    def resolve(structure):
        if isinstance(structure, dict) and set(structure) == {"__keras_tensor__"}:
            ref = structure["__keras_tensor__"]
            if (not isinstance(ref, list) or len(ref) != 3 or not isinstance(ref[0], str)
                    or type(ref[1]) is not int or type(ref[2]) is not int):
                raise UnsafeFileError(f"Bad tensor reference {ref!r}: expected [name, node, index]")
            out = outputs.get((ref[0], ref[1]), missing)
            if out is missing:
                return missing
            flat = out if isinstance(out, list) else [out]
            if not 0 <= ref[2] < len(flat):
                raise UnsafeFileError(f"Tensor reference {ref!r}: layer '{ref[0]}' has "
                                      f"{len(flat)} output(s)")
            return flat[ref[2]] if isinstance(out, list) else out
        if isinstance(structure, list):
            items = [resolve(s) for s in structure]
            return missing if any(i is missing for i in items) else items
        if isinstance(structure, dict):
            items = {k: resolve(v) for k, v in structure.items()}
            return missing if any(v is missing for v in items.values()) else items
        return structure

    done = {name: 0 for name in layers}
    progress = True
    while progress:
        progress = False
        for name, layer in layers.items():
            while pending[name]:
                node = pending[name][0]
                if not isinstance(node, dict) or not isinstance(node.get("kwargs", {}), dict):
                    raise UnsafeFileError(f"Layer '{name}': a node must be an object with "
                                          "'args' and 'kwargs'")
                args = resolve(node.get("args"))
                if args is missing:
                    break
                out = layer(args, **node.get("kwargs", {}))
                outputs[(name, done[name])] = out
                done[name] += 1
                pending[name].pop(0)
                progress = True
    stuck = [n for n, p in pending.items() if p]
    if stuck:
        raise UnsafeFileError(f"The Functional graph cannot be rebuilt: the inputs of layers "
                              f"{stuck} are never produced")
    ins = resolve(config.get("input_layers"))
    outs = resolve(config.get("output_layers"))
    if ins is missing or outs is missing:
        raise UnsafeFileError("The Functional config's input_layers/output_layers reference "
                              "tensors that the graph does not produce")
    return Functional(ins, outs, name=config.get("name"), trainable=config.get("trainable", True))


# ---- compile arguments -----------------------------------------------------------------------
class NotSerializable(ValueError):
    pass


def _map(fn, spec):
    if isinstance(spec, (list, tuple)):
        return [_map(fn, s) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _map(fn, v) for k, v in spec.items()}
    return fn(spec)


def serialize_compile(model):
    from .. import losses, metrics, optimizers

    def loss(x):
        if x is None or isinstance(x, str):
            return x
        try:
            return losses.serialize(x)
        except ValueError as e:
            raise NotSerializable(str(e)) from None

    def metric(x):
        if x is None or isinstance(x, str):
            return x
        if isinstance(x, metrics.Metric):
            try:
                return metrics.serialize(x)
            except ValueError as e:
                raise NotSerializable(str(e)) from None
        raise NotSerializable(f"Cannot serialize the metric {x!r}: pass metrics by name")

    opt = model.optimizer
    if type(opt).__name__.lower() not in optimizers.ALL_OBJECTS_DICT:
        raise NotSerializable(f"The optimizer {type(opt).__name__} is not a built-in optimizer")
    return {"optimizer": optimizers.serialize(opt), "loss": _map(loss, model._loss_arg),
            "loss_weights": model._loss_weights_arg,
            "metrics": _map(metric, model._metrics_arg),
            "weighted_metrics": _map(metric, model._weighted_metrics_arg)}


def deserialize_compile(args, custom_objects=None):
    from .. import losses, metrics, optimizers
    if not isinstance(args, dict) or not isinstance(args.get("optimizer"), dict):
        raise UnsafeFileError("The compile section must be an object with an 'optimizer' config")

    def dicts(fn):
        return lambda x: fn(x) if isinstance(x, dict) else x
    try:
        return {"optimizer": optimizers.deserialize(args["optimizer"], custom_objects=custom_objects),
                "loss": _map(dicts(losses.deserialize), args.get("loss")),
                "loss_weights": args.get("loss_weights"),
                "metrics": _map(dicts(metrics.deserialize), args.get("metrics")),
                "weighted_metrics": _map(dicts(metrics.deserialize), args.get("weighted_metrics"))}
    except UnsafeFileError:
        raise
    except Exception as e:  # noqa: BLE001
        raise UnsafeFileError(f"Could not rebuild the compile arguments: {type(e).__name__}: {e}") from e


# ---- allocation budget ---------------------------------------------------------------------
@contextlib.contextmanager
def allocation_budget(n_elements, source):
    """While rebuilding a model from a file, refuse weights beyond ``n_elements`` in total.

    The file's own tensors bound what a legitimate architecture needs, so a forged config
    (``Dense(units=10**9)``) fails before its weights are allocated: ``Layer.add_weight``
    consults the guard installed here (a context variable, so other threads are unaffected).
    """
    from ..layers.layer import weight_allocation_guard
    remaining = [int(n_elements)]

    def guard(layer, shape):
        count = 1
        for s in shape:
            count *= max(int(s), 0)
        if count > remaining[0]:
            raise UnsafeFileError(
                f"{source}: layer '{layer.name}' would allocate a weight of shape "
                f"{tuple(shape)}, more than the file's tensors hold; the "
                "architecture does not match its weights (forged or broken file)")
        remaining[0] -= count

    token = weight_allocation_guard.set(guard)
    try:
        yield
    finally:
        weight_allocation_guard.reset(token)
