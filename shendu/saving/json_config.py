"""Model architecture as Keras 3 writes it: ``to_json``, ``model_from_json``, and the
``get_config``/``from_config`` of Sequential and Functional models.

Keras 3's form (``config.json`` of a ``.keras`` file, and ``Model.to_json()``) wraps
every object as ``{"module", "class_name", "config", "registered_name"}``, plus
``build_config`` for a built layer. A Sequential lists its ``InputLayer`` first; a
Functional lists each layer with its ``inbound_nodes``, where a tensor is
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
[layer, node index, tensor index]}}``; layer dtypes are ``DTypePolicy`` objects.

Writing goes from the model to that form (so real Keras can ``model_from_json`` it);
reading turns that form back into shendu's own (``serialization``), which then builds
the model with classes from the registry only: a JSON string never names code to run.

Example:
    >>> import shendu as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> clone = keras.models.model_from_json(model.to_json())
    >>> clone.output_shape
    (None, 2)
"""
import json

from .registry import _NAMES
from .serialization import (check_config_tree, deserialize_layer, functional_get_config,
                            serialize_layer)

_FUNCTIONAL_MODULE = "keras.src.models.functional"
# Options Keras 3 writes that shendu's layers do not take, with the value that means
# "off": such a key is dropped when it holds that value, and refused otherwise.
_KERAS_ONLY = {"quantization_config": None, "lora_rank": None, "lora_alpha": None,
               "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
               "sparse": False, "ragged": False, "optional": False,
               "input_axes": None, "output_axes": None}
_SPREAD_INPUTS = {"MultiHeadAttention", "GroupedQueryAttention"}
_OBJECT_MODULES = (("_initializer", "keras.initializers"), ("_regularizer", "keras.regularizers"),
                   ("_constraint", "keras.constraints"))


# ---- writing: shendu -> Keras 3's form ------------------------------------------------------
def _policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
            "registered_name": None}


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _with_modules(config):
    """Nested ``{"class_name", "config"}`` objects (initializers, regularizers, constraints,
    wrapped layers) get Keras's ``module`` and ``registered_name`` keys."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and "class_name" in value and "config" in value:
            module = next((m for suffix, m in _OBJECT_MODULES if key.endswith(suffix)),
                          "keras.layers")
            inner = _with_modules(value["config"]) if isinstance(value["config"], dict) \
                else value["config"]
            if module == "keras.layers" and isinstance(inner, dict) and isinstance(inner.get("dtype"), str):
                inner["dtype"] = _policy(inner["dtype"])
            value = {"module": module, "class_name": value["class_name"], "config": inner,
                     "registered_name": value.get("registered_name")}
        out[key] = value
    return out


def _layer_module(layer):
    """Keras's ``module`` key: "keras.layers" for shendu's own layers, else the defining
    module of a user's class (written for Keras's sake; shendu never imports it)."""
    cls = type(layer)
    return "keras.layers" if cls.__module__.startswith("shendu.") else cls.__module__


def keras_config(layer):
    """``{"module", "class_name", "config", "registered_name", "build_config"}`` for a
    layer or model, in Keras 3's form (JSON-ready: lists, not tuples)."""
    from ..layers.core import InputLayer
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    cls = type(layer)
    if cls is Sequential:
        return {"module": "keras", "class_name": "Sequential",
                "config": sequential_config(layer), "registered_name": None,
                **_build_config(layer._input_batch_shape)}
    if cls is Functional:
        return {"module": _FUNCTIONAL_MODULE, "class_name": "Functional",
                "config": functional_config(layer), "registered_name": "Functional",
                "build_config": {"input_shape": None}}
    entry = serialize_layer(layer)
    config = _jsonable(_with_modules(entry["config"]))
    config.pop("batch_input_shape", None)  # Keras puts the input shape in an InputLayer
    if isinstance(layer, InputLayer):
        config.update(sparse=False, ragged=False, optional=False)
    elif isinstance(config.get("dtype"), str):
        config["dtype"] = _policy(config["dtype"])
    out = {"module": _layer_module(layer), "class_name": entry["class_name"], "config": config,
           "registered_name": entry["registered_name"]}
    if "build_config" in entry:
        out["build_config"] = _jsonable(entry["build_config"])
        shapes = out["build_config"].get("input_shape")
        if entry["class_name"] in _SPREAD_INPUTS and isinstance(shapes, list) and shapes \
                and isinstance(shapes[0], list):  # Keras builds attention from named shapes
            names = ("query_shape", "value_shape", "key_shape")
            out["build_config"] = {"shapes_dict": dict(zip(names, shapes))}
    return out


def _build_config(shape):
    return {} if shape is None else {"build_config": {"input_shape": _jsonable(shape)}}


def sequential_config(model):
    """Keras's Sequential ``config``: name, trainable, dtype, layers (InputLayer first)."""
    layers = [keras_config(layer) for layer in model._layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": _policy(model.dtype)}
    if model._input_batch_shape is not None:
        input_layer = model._graph.get("input_layer")
        dtype = input_layer.dtype if input_layer is not None else model.dtype
        name = input_layer.name if input_layer is not None else f"{model.name}_input"
        layers.insert(0, {"module": "keras.layers", "class_name": "InputLayer",
                          "config": {"batch_shape": _jsonable(model._input_batch_shape),
                                     "dtype": dtype, "sparse": False, "ragged": False,
                                     "name": name, "optional": False},
                          "registered_name": None})
    config["layers"] = layers
    if model._input_batch_shape is not None:
        config["build_input_shape"] = _jsonable(model._input_batch_shape)
    return config


def functional_config(model):
    """Keras's Functional ``config``: layers with inbound nodes; input/output references
    are a flat ``[name, 0, 0]`` for one tensor, else a list of them."""
    def tensor_ref(t, history):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": _jsonable(t.shape), "dtype": t.dtype.name,
                           "keras_history": history}}

    def node_args(entry):
        spread = entry["class_name"] in _SPREAD_INPUTS
        for node in entry["inbound_nodes"]:
            # Keras lists the positional arguments; an attention layer takes (query, value,
            # key) as separate arguments where shendu takes one list
            node["args"] = node["args"] if spread and isinstance(node["args"], list) \
                else [node["args"]]
        return entry
    config = functional_get_config(model, serialize=keras_config, tensor_ref=tensor_ref)
    config["layers"] = [node_args(e) for e in config["layers"]]
    for key in ("input_layers", "output_layers"):
        refs = _history_of(config[key])
        config[key] = refs[0] if isinstance(refs, list) and len(refs) == 1 else refs
    return _jsonable(config)


def _history_of(structure):
    if isinstance(structure, dict) and structure.get("class_name") == "__keras_tensor__":
        return structure["config"]["keras_history"]
    if isinstance(structure, (list, tuple)):
        return [_history_of(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _history_of(v) for k, v in structure.items()}
    return structure


def to_json(model, **kwargs):
    """The model's architecture as a Keras 3 JSON string (``json.dumps`` keyword args pass on)."""
    return json.dumps(keras_config(model), **kwargs)


# ---- reading: Keras 3's form -> shendu's ----------------------------------------------------
def _is_history(value):
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and type(value[1]) is int and type(value[2]) is int)


def _dtype_name(value):
    if isinstance(value, dict) and value.get("class_name") == "DTypePolicy":
        return (value.get("config") or {}).get("name")
    return value


def _from_keras_value(value, where):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__" and isinstance(value.get("config"), dict):
            return {"__keras_tensor__": value["config"].get("keras_history")}
        if "class_name" in value and "config" in value:
            return from_keras_entry(value, where)
        return {k: _from_keras_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_from_keras_value(v, where) for v in value]
    return value


def from_keras_entry(entry, where="config"):
    """One ``{"module", "class_name", "config", ...}`` object in shendu's form: ``module``
    dropped (never imported), dtype policies as dtype names, tensor references as
    ``{"__keras_tensor__": [...]}``, and Keras-only options at their "off" value dropped."""
    out = {k: v for k, v in entry.items() if k not in ("module", "shared_object_id")}
    config = entry["config"]
    name = entry.get("class_name")
    if not isinstance(config, dict):
        return out
    where = f"{where}.{config.get('name', name)}"
    config = dict(config)
    for key, off in _KERAS_ONLY.items():
        if key in config:
            if config[key] != off:
                raise ValueError(f"{where} ({name}): the Keras option {key}={config[key]!r} "
                                 f"is not supported by shendu (only {key}={off!r})")
            del config[key]
    if "activity_regularizer" in config and config["activity_regularizer"] is None:
        del config["activity_regularizer"]  # None is every layer's default; some take no such arg
    if "dtype" in config:
        config["dtype"] = _dtype_name(config["dtype"])
    if name == "Sequential":
        config = _sequential_from_keras(config, where)
    elif name in ("Functional", "Model") and "layers" in config:
        config = _functional_from_keras(config, where)
    else:
        config = {k: _from_keras_value(v, f"{where}.{k}") for k, v in config.items()}
    out["config"] = config
    return out


def _sequential_from_keras(config, where):
    config = dict(config)
    layers = config.get("layers") or []
    if not isinstance(layers, list):
        raise ValueError(f"{where}: a Sequential config's 'layers' must be a list")
    config["layers"] = [from_keras_entry(e, where) if isinstance(e, dict) else e for e in layers]
    build_shape = config.pop("build_input_shape", None)
    has_input = any(isinstance(e, dict) and e.get("class_name") == "InputLayer"
                    for e in config["layers"])
    if build_shape is not None and not has_input and config.get("input_shape") is None:
        config["input_shape"] = build_shape
    config.pop("dtype", None)
    return config


def _functional_from_keras(config, where):
    config = dict(config)
    layers = []
    for e in config.get("layers") or []:
        if not isinstance(e, dict):
            layers.append(e)
            continue
        nodes = e.get("inbound_nodes")
        converted = from_keras_entry({k: v for k, v in e.items() if k != "inbound_nodes"}, where)
        if isinstance(nodes, list):
            converted["inbound_nodes"] = [_node_from_keras(n, e.get("name"), where) for n in nodes]
        else:
            converted["inbound_nodes"] = nodes
        layers.append(converted)
    config["layers"] = layers
    for key in ("input_layers", "output_layers"):
        config[key] = _refs_from_keras(config.get(key))
    config.pop("dtype", None)
    return config


def _node_from_keras(node, layer_name, where):
    if not isinstance(node, dict):
        return node
    raw = node.get("args")
    args = _from_keras_value(raw, where)
    if _has_keras_tensor(raw) and isinstance(args, list):  # (else shendu's own form)
        # shendu layers take their inputs as one argument: Keras's MultiHeadAttention(q, v)
        # becomes MultiHeadAttention([q, v])
        args = args[0] if len(args) == 1 else args
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    return {"args": args, "kwargs": _from_keras_value(kwargs, where)}


def _has_keras_tensor(value):
    if isinstance(value, dict):
        return value.get("class_name") == "__keras_tensor__" or any(
            _has_keras_tensor(v) for v in value.values())
    return isinstance(value, list) and any(_has_keras_tensor(v) for v in value)


def _refs_from_keras(refs):
    if _is_history(refs):
        return {"__keras_tensor__": refs}
    if isinstance(refs, list):
        return [_refs_from_keras(r) for r in refs]
    if isinstance(refs, dict) and "__keras_tensor__" not in refs:
        return {k: _refs_from_keras(v) for k, v in refs.items()}
    return refs


def from_keras_config(entry, custom_objects=None):
    """The layer or model a Keras 3 (or shendu) serialized object describes."""
    from .safe_tensors import UnsafeFileError
    if not isinstance(entry, dict) or "class_name" not in entry or not isinstance(entry.get("config"), dict):
        raise ValueError("A model config must be an object with 'class_name' and 'config'; "
                         f"received {str(entry)[:200]}")
    try:
        entry = from_keras_entry(entry)
    except ValueError as e:
        raise UnsafeFileError(str(e)) from None
    check_config_tree(entry)
    return deserialize_layer(entry, custom_objects, safe_mode=True)


def model_from_json(json_string, custom_objects=None):
    """A model (new weights) from the JSON of ``model.to_json()``, shendu's or Keras 3's.

    The string is parsed as JSON only; classes come from shendu's registry, classes
    registered with ``register_keras_serializable`` and ``custom_objects``.
    """
    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(f"model_from_json expects a JSON string; received "
                        f"{type(json_string).__name__}")
    try:
        entry = json.loads(json_string)
    except ValueError as e:
        raise ValueError(f"model_from_json: the string is not valid JSON ({e})") from None
    return from_keras_config(entry, custom_objects)
