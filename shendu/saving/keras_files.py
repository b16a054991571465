"""Keras 3's own files: the ``.keras`` archive and the ``.weights.h5`` weights file.

A ``.keras`` file is a zip of ``metadata.json``, ``config.json`` (the model in Keras 3's
serialized form, read by ``json_config``) and ``model.weights.h5``. The HDF5 file holds
each object's own variables as datasets ``"0", "1", ...`` in ``<path>/vars``, where the
path follows the object graph as Keras walks it: a model's layers sit in
``layers/<class name in snake_case>[_k]`` (numbered per class, never by the layer's
name), an RNN's cell in ``<rnn>/cell``, a wrapper's layer in ``<wrapper>/layer``, and so
on (the attribute holding a sub-object names its group; public attributes first, then
``_``-prefixed ones, each sorted). A layer's own variables go trainable first, then
non-trainable.

Reading never runs code: classes come from shendu's registry and ``custom_objects``
only, Lambda bytecode is never unmarshalled, and every HDF5 dataset is checked (no
links, no external or virtual storage, numeric dtype, the shape the model expects)
before a byte of it is read.

Example:
    >>> import shendu as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model.save_weights("/tmp/doc_example.weights.h5")   # Keras's layout
    >>> model.load_weights("/tmp/doc_example.weights.h5")
"""
import io
import json
import os
import time
import zipfile

import numpy as np

from .atomic_file import atomic_write
from .safe_tensors import UnsafeFileError

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
# The Keras version whose format this module writes (Keras reads it to pick its loader).
KERAS_FORMAT_VERSION = "3.15.1"
MAX_JSON_BYTES = 64 * 2 ** 20
MAX_MEMBERS = 4096
# A compressed member may expand at most this much (a zip bomb expands by 1000x or more).
MAX_EXPANSION = 100


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading and writing Keras's HDF5 files (.keras, .weights.h5, .h5) "
                          "needs h5py: pip install h5py (or pip install shendu[keras-files])"
                          ) from None
    return h5py


# ---- the object graph, as Keras walks it -------------------------------------------------------
def _own_variables(obj):
    """The variables an object stores in its own ``vars`` group: trainable, then not."""
    own = list(getattr(obj, "_weights", []))
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


# Sub-layers Keras reaches through a public property (so their group has its name).
_ATTENTION_DENSES = ("_query_dense", "_key_dense", "_value_dense", "_output_dense")
_PUBLIC_ALIASES = {"MultiHeadAttention": _ATTENTION_DENSES,
                   "GroupedQueryAttention": _ATTENTION_DENSES}


def _children(obj):
    """(attribute, sub-object or list of them), in Keras's visiting order."""
    from ..layers.layer import Layer
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    out = []
    if isinstance(obj, Functional) and hasattr(obj, "_nodes"):
        out.append(("layers", keras_layer_order(obj)))
    elif isinstance(obj, (Sequential, Functional)):
        out.append(("layers", list(obj.layers)))
    aliases = _PUBLIC_ALIASES.get(type(obj).__name__, ())

    def public(attr):  # Keras walks dir(): a property naming "_x" as "x" is found first
        prop = getattr(type(obj), attr[1:], None) if attr.startswith("_") else None
        return attr[1:] if isinstance(prop, property) or attr in aliases else attr
    attrs = sorted(vars(obj), key=lambda a: (public(a).startswith("_"), public(a)))
    for attr in attrs:
        if attr.startswith("__") or attr == "_layers":  # (shendu's own tracking list)
            continue
        value = vars(obj)[attr]
        attr = public(attr)
        if isinstance(value, Layer):
            out.append((attr, value))
        elif isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            out.append((attr, list(value)))
    return out


def keras_layer_order(model):
    """A Functional model's layers in the order Keras 3 lists them (``model.layers``),
    which numbers the weight groups: by depth from the outputs, deepest first, ties
    broken by first visit in a depth-first walk from the outputs."""
    from ..layers.layer import KerasTensor
    index, order, done = {}, [], set()  # layer -> first visit; nodes inputs -> outputs
    input_layers = [t.input_layer for t in model.inputs]

    def node_of(tensor):  # an Input's "node" is its InputLayer
        return tensor.node if tensor.node is not None else tensor.input_layer

    def layer_of(node):
        return node if node.__class__.__name__ == "InputLayer" or not hasattr(node, "layer") \
            else node.layer

    def parents(node):
        if not hasattr(node, "parent_tensors"):
            return []
        return [node_of(t) for t in node.parent_tensors if isinstance(t, KerasTensor)]

    def visit(node):
        if id(node) in done:
            return
        index.setdefault(id(layer_of(node)), len(index))
        for parent in parents(node):
            visit(parent)
        done.add(id(node))
        order.append(node)
    for out in model.outputs:
        visit(node_of(out))
    node_depth, layer_depth, layers = {}, {}, {}
    in_graph = {id(n) for n in order}
    for node in reversed(order):
        layer = layer_of(node)
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(layer), 0))
        layer_depth[id(layer)] = depth
        layers[id(layer)] = layer
        node_depth[id(node)] = depth
        for parent in parents(node):
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for layer in input_layers:  # inputs the outputs do not use
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], index[id(layer)], layers[id(layer)] = 0, -1, layer
    return sorted(layers.values(), key=lambda l: (-layer_depth[id(l)], index[id(l)]))


def _snake(name):
    from .._registry import snake_case
    return snake_case(name)


def keras_paths(model):
    """``[(path, object, own variables)]`` for every object Keras would visit, in order."""
    out, visited = [], set()

    def walk(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj, _own_variables(obj)))
        for attr, child in _children(obj):
            if isinstance(child, list):
                used = {}
                for item in child:
                    if id(item) in visited:
                        continue
                    base = _snake(type(item).__name__)
                    used[base] = used.get(base, -1) + 1
                    name = base if used[base] == 0 else f"{base}_{used[base]}"
                    walk(item, _join(path, attr, name))
            else:
                walk(child, _join(path, attr))
    walk(model, "")
    return out


def _join(*parts):
    return "/".join(p for p in parts if p)


# ---- HDF5 safety ----------------------------------------------------------------------------
def check_h5(f, source, file_bytes):
    """Refuse links, external/virtual storage, non-numeric datasets and shape bombs."""
    h5py = _h5py()

    def visit(group, prefix, depth):
        if depth > 64:
            raise UnsafeFileError(f"{source}: HDF5 groups nested more than 64 deep")
        for key in group:
            link = group.get(key, getlink=True)
            where = f"{prefix}/{key}"
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                raise UnsafeFileError(f"{source}: HDF5 object '{where}' is a "
                                      f"{type(link).__name__}; links are refused")
            obj = group[key]
            if isinstance(obj, h5py.Group):
                visit(obj, where, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(obj, where, source, file_bytes)
    visit(f, "", 0)


def _check_dataset(ds, where, source, file_bytes):
    if ds.is_virtual:
        raise UnsafeFileError(f"{source}: dataset '{where}' is a virtual dataset; refused")
    if ds.external:
        raise UnsafeFileError(f"{source}: dataset '{where}' keeps its data in external files "
                              f"{[e[0] for e in ds.external][:3]}; refused")
    if ds.dtype.kind not in "fiub":
        raise UnsafeFileError(f"{source}: dataset '{where}' has dtype {ds.dtype}; weights must "
                              "be numeric")
    declared = int(np.prod(ds.shape, dtype=np.float64) * ds.dtype.itemsize) if ds.shape else 8
    if declared > 4 * 2 ** 30 or declared > 1000 * max(file_bytes, 1 << 20):
        raise UnsafeFileError(f"{source}: dataset '{where}' declares shape {ds.shape} "
                              f"({declared} bytes) in a file of {file_bytes} bytes; refused")


def _vars_of(f, path):
    """The datasets of ``<path>/vars`` sorted numerically ('10' after '9'), or []."""
    group = f.get(_join(path, "vars"))
    if group is None:
        return []
    keys = list(group)
    if not all(k.isdigit() for k in keys):
        raise UnsafeFileError(f"group '{_join(path, 'vars')}' holds non-numbered members "
                              f"{[k for k in keys if not k.isdigit()][:5]}")
    return [group[k] for k in sorted(keys, key=int)]


# ---- weights: read -----------------------------------------------------------------------------
def plan_h5_weights(model, f, source, skip_mismatch=False):
    """``[(variable, dataset)]`` for ``model``, every count and shape checked first."""
    import warnings
    pairs, problems = [], []
    for path, obj, own in keras_paths(model):
        try:
            stored = _vars_of(f, path)
        except UnsafeFileError as e:
            raise UnsafeFileError(f"{source}: {e}") from None
        label = f"'{path or '/'}' ({type(obj).__name__} '{getattr(obj, 'name', '')}')"
        if len(stored) != len(own):
            if own or stored:
                problems.append(f"{label}: the model has {len(own)} variable(s) "
                                f"{[tuple(w.shape) for w in own]}, the file has {len(stored)} "
                                f"{[tuple(d.shape) for d in stored]}")
            continue
        for var, ds in zip(own, stored):
            if tuple(ds.shape) != tuple(var.shape):
                problems.append(f"{label}: variable '{var.path}' expects shape "
                                f"{tuple(var.shape)}, the file has {tuple(ds.shape)} at "
                                f"'{ds.name}'")
            elif (np.dtype(var.dtype).kind == "f") != (ds.dtype.kind == "f"):
                problems.append(f"{label}: '{ds.name}' of dtype {ds.dtype} cannot load into "
                                f"'{var.path}' ({var.dtype})")
            else:
                pairs.append((var, ds))
    if problems and not skip_mismatch:
        raise ValueError(f"{source}: {len(problems)} weight mismatch(es) with model "
                         f"'{model.name}':\n  - " + "\n  - ".join(problems[:20]) +
                         "\nPass skip_mismatch=True to load the weights that fit.")
    if problems:
        warnings.warn(f"{source}: skipped {len(problems)} mismatched group(s):\n  - "
                      + "\n  - ".join(problems[:20]), stacklevel=3)
    return pairs


def _open_h5(data_or_path, source):
    h5py = _h5py()
    try:
        if isinstance(data_or_path, (bytes, bytearray)):
            return h5py.File(io.BytesIO(data_or_path), "r")
        return h5py.File(data_or_path, "r")
    except OSError as e:
        raise UnsafeFileError(f"{source} is not a readable HDF5 file ({e})") from None


def load_h5_weights_into(model, data_or_path, source, skip_mismatch=False):
    """Load a Keras weights HDF5 (a path, or the bytes of an archive member) into ``model``."""
    size = len(data_or_path) if isinstance(data_or_path, (bytes, bytearray)) \
        else os.path.getsize(data_or_path)
    with _open_h5(data_or_path, source) as f:
        check_h5(f, source, size)
        pairs = plan_h5_weights(model, f, source, skip_mismatch)
        values = [(var, np.asarray(ds[()])) for var, ds in pairs]
    for var, value in values:  # nothing is assigned until everything has been read
        var.assign(value.astype(var.dtype))


def load_weights_file(model, filepath, skip_mismatch=False):
    """``model.load_weights("w.weights.h5")`` for a file Keras (or shendu) wrote."""
    from .saving_lib import _build_from_shape
    source = f"'{filepath}'"
    if not model.weights:
        _build_from_shape(model, getattr(model, "_build_input_shape", None), source)
    with _open_h5(filepath, source) as f:
        legacy = "layer_names" in f.attrs or "model_weights" in f
    if not legacy:
        return load_h5_weights_into(model, filepath, source, skip_mismatch)
    size = os.path.getsize(filepath)
    with _open_h5(filepath, source) as f:  # a Keras 2 weights file, or a legacy full model
        check_h5(f, source, size)
        group = f["model_weights"] if "model_weights" in f else f
        pairs = plan_legacy_weights(model, group, source, skip_mismatch)
        values = [(v, np.asarray(ds[()])) for v, ds in pairs]
    for var, value in values:
        var.assign(value.astype(var.dtype))


# ---- weights: write ----------------------------------------------------------------------------
def _write_h5(model, fileobj):
    h5py = _h5py()
    with h5py.File(fileobj, "w") as f:
        for path, obj, own in keras_paths(model):
            group = f.require_group(_join(path, "vars"))
            group.attrs["name"] = getattr(obj, "name", "")
            for i, var in enumerate(own):
                group.create_dataset(str(i), data=np.asarray(var.data))
            if not path:
                f.require_group("layers")


def _keras_trainables(model):
    """The trainable variables in Keras's ``model.trainable_variables`` order (the order
    of the optimizer's slots in Keras's file): layer by layer in Keras's layer order,
    each layer's own in creation order (not the file's sorted attribute order)."""
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    out = []

    def walk(layer):
        if isinstance(layer, (Sequential, Functional)):
            for sub in _layer_order(layer):
                walk(sub)
        else:
            out.extend(layer.trainable_weights)
    walk(model)
    seen = set()
    return [w for w in out if not (id(w) in seen or seen.add(id(w)))]


def _optimizer_slots(model):
    """``[(state key, array)]`` in Keras's ``optimizer/vars`` order: the iteration count,
    the learning rate when it is a number, then each trainable variable's slots in turn."""
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(opt, "built", False):
        return None
    state = opt.get_state()
    out = [("iterations", np.asarray(state["iterations"], dtype=np.int32))]
    if "learning_rate" in state:
        out.append(("learning_rate", np.asarray(state["learning_rate"], dtype=np.float32)))
    for var in _keras_trainables(model):
        index = opt._variable_index.get(id(var))
        if index is None:
            continue
        out += [(k, state[k]) for k in state if k.startswith(f"{index}/")]
    return out


def _load_optimizer(model, f, source):
    """Keras's ``optimizer/vars`` into the compiled model's optimizer (built here)."""
    import warnings
    opt = getattr(model, "optimizer", None)
    stored = _vars_of(f, "optimizer") if "optimizer" in f else []
    if opt is None or not stored:
        return
    if not opt.built:
        opt.build(model.trainable_weights)
    layout = _optimizer_slots(model)
    if len(layout) != len(stored) or any(tuple(np.shape(v)) != tuple(d.shape)
                                         for (_, v), d in zip(layout, stored)):
        warnings.warn(f"{source}: the optimizer state in the file ({len(stored)} variables) "
                      f"does not match optimizer '{opt.name}' ({len(layout)}); it starts "
                      "afresh", stacklevel=4)
        return
    state = {key: np.asarray(ds[()]) for (key, _), ds in zip(layout, stored)}
    state["iterations"] = state["iterations"].astype(np.int64)
    opt.set_state(state)


def h5_weights_bytes(model, include_optimizer=False):
    buf = io.BytesIO()
    _write_h5(model, buf)
    slots = _optimizer_slots(model) if include_optimizer else None
    if slots:
        h5py = _h5py()
        with h5py.File(buf, "a") as f:
            group = f.require_group("optimizer/vars")
            group.attrs["name"] = model.optimizer.name
            for i, (_, value) in enumerate(slots):
                group.create_dataset(str(i), data=value)
    return buf.getvalue()


def save_weights_file(model, filepath):
    """Write ``model``'s weights in Keras 3's ``.weights.h5`` layout, atomically."""
    data = h5_weights_bytes(model)
    with atomic_write(filepath) as f:
        f.write(data)


def file_kind(path):
    """'hdf5' (Keras weights or legacy model), 'keras' (a Keras 3 archive), or None (any
    other file, left to shendu's own reader), from the bytes, never the name."""
    from .file_format import HDF5_MAGIC
    with open(path, "rb") as f:
        head = f.read(8)
        offset = 0  # HDF5's signature sits at byte 0 or, after a user block, at 512, 1024, ...
        while offset <= 1 << 20:
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return "hdf5"
            offset = 512 if offset == 0 else offset * 2
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            return None
        if CONFIG_NAME in names and "shendu.json" not in names:
            return "keras"
    return None


# ---- legacy HDF5 (Keras 2 / tf.keras, and Keras 3's model.save("x.h5")) -----------------------
def _attr_text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _layer_order(model):
    from ..models.functional import Functional
    if isinstance(model, Functional) and hasattr(model, "_nodes"):
        return keras_layer_order(model)
    return list(model.layers)


def plan_legacy_weights(model, group, source, skip_mismatch=False):
    """``[(variable, dataset)]`` from a legacy ``model_weights`` group: the i-th layer with
    weights in the file goes to the i-th layer with weights in the model, each layer's
    weights trainable first, then non-trainable (Keras's legacy loader, by order)."""
    names = [_attr_text(n) for n in group.attrs.get("layer_names", [])]
    stored = []
    for name in names:
        if name not in group:
            raise UnsafeFileError(f"{source}: layer '{name}' is listed but has no group")
        layer_group = group[name]
        weight_names = [_attr_text(w) for w in layer_group.attrs.get("weight_names", [])
                        if isinstance(w, (str, bytes))]
        datasets = []
        for w in weight_names:
            if w.startswith("/") or ".." in w.split("/") or w not in layer_group:
                raise UnsafeFileError(f"{source}: layer '{name}' names weight {w!r}, which is "
                                      "not a dataset inside its group")
            datasets.append(layer_group[w])
        if datasets:
            stored.append((name, datasets))
    own = []
    for layer in _layer_order(model):
        weights = list(layer.weights)
        weights = [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]
        if weights:
            own.append((layer, weights))
    problems, pairs = [], []
    if len(own) != len(stored):
        problems.append(f"the file has weights for {len(stored)} layer(s) "
                        f"{[n for n, _ in stored][:8]}, model '{model.name}' has {len(own)} "
                        f"layer(s) with weights {[l.name for l, _ in own][:8]}")
    for (name, datasets), (layer, weights) in zip(stored, own):
        shapes = [tuple(d.shape) for d in datasets]
        expected = [tuple(w.shape) for w in weights]
        if shapes != expected:
            problems.append(f"layer '{name}' in the file has weights of shapes {shapes}; "
                            f"layer '{layer.name}' ({type(layer).__name__}) expects {expected}")
            continue
        pairs += list(zip(weights, datasets))
    if problems and not skip_mismatch:
        raise ValueError(f"{source}: " + "; ".join(problems) +
                         ". Pass skip_mismatch=True to load the layers that fit.")
    if problems:
        import warnings
        warnings.warn(f"{source}: skipped: " + "; ".join(problems), stacklevel=3)
    return pairs


def load_legacy_h5(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a legacy full-model ``.h5`` file (``model_config`` + ``model_weights``)."""
    from ..ops import random as _random
    from .json_config import from_keras_entry
    from .safe_tensors import strict_json_loads
    from .saving_lib import _set_global
    from .serialization import allocation_budget, check_config_tree, deserialize_layer
    source = f"'{filepath}'"
    size = os.path.getsize(filepath)
    with _open_h5(filepath, source) as f:
        check_h5(f, source, size)
        text = _attr_text(f.attrs.get("model_config"))
        if not isinstance(text, str):
            raise UnsafeFileError(f"{source} is an HDF5 file without a model_config: a weights "
                                  "file, not a model (build the model and call "
                                  "model.load_weights())")
        config = strict_json_loads(text.encode("utf-8"), f"{source}: model_config")
        if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
            raise UnsafeFileError(f"{source}: model_config is not a serialized model")
        config = _prepare_lambdas(config, custom_objects, safe_mode, source)
        try:
            entry = from_keras_entry(config)
        except ValueError as e:
            raise UnsafeFileError(f"{source}: {e}") from None
        check_config_tree(entry, f"{source}: model_config")
        global_gen = _random.default_generator()
        saved = global_gen.bit_generator.state
        try:
            with allocation_budget(size // 2 + 1024, source):
                model = deserialize_layer(entry, custom_objects, safe_mode)
        finally:
            _set_global(global_gen, saved)
        group = f["model_weights"] if "model_weights" in f else f
        values = [(v, np.asarray(ds[()])) for v, ds in plan_legacy_weights(model, group, source)]
    for var, value in values:
        var.assign(value.astype(var.dtype))
    return model


# ---- the archive -------------------------------------------------------------------------------
def _read_member(zf, info, path, length):
    """A member's bytes; a compressed member may expand at most ``MAX_EXPANSION`` times."""
    from .file_format import _read_member as read_bounded
    if info.compress_type == zipfile.ZIP_STORED:
        limit = length
    else:
        limit = min(MAX_EXPANSION * max(info.compress_size, 1) + (1 << 20), 16 * length + (1 << 20))
    if info.file_size > limit:
        raise UnsafeFileError(f"'{path}': member '{info.filename}' declares {info.file_size} "
                              f"bytes from {info.compress_size} stored (a zip bomb?); refused")
    return read_bounded(zf, info, info.file_size, path)


def read_archive(path):
    """(config, metadata, weights HDF5 bytes) of a Keras 3 ``.keras`` archive; nothing run,
    nothing extracted to disk."""
    from .safe_tensors import strict_json_loads
    length = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise UnsafeFileError(f"'{path}': {len(infos)} zip members; refused")
            names = [i.filename for i in infos]
            bad = [n for n in names if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/")
                   .split("/") or ":" in n]
            if bad:
                raise UnsafeFileError(f"'{path}': zip member names that leave the archive "
                                      f"(path traversal) {bad[:3]}; refused")
            if len(set(names)) != len(names):
                raise UnsafeFileError(f"'{path}': duplicate member names in the zip archive")
            by_name = {i.filename: i for i in infos}
            for need in (CONFIG_NAME, WEIGHTS_NAME):
                if need not in by_name:
                    other = [n for n in names if n.endswith((".npz", ".weights.json"))]
                    extra = (f" (it holds {other[:2]}: npz or sharded weights are not "
                             "supported)") if other else ""
                    raise UnsafeFileError(f"'{path}': a Keras archive without '{need}'{extra}")
            config = _read_member(zf, by_name[CONFIG_NAME], path, length)
            if len(config) > MAX_JSON_BYTES:
                raise UnsafeFileError(f"'{path}': config.json is larger than {MAX_JSON_BYTES}")
            metadata = (_read_member(zf, by_name[METADATA_NAME], path, length)
                        if METADATA_NAME in by_name else b"{}")
            weights = _read_member(zf, by_name[WEIGHTS_NAME], path, length)
    except zipfile.BadZipFile as e:
        raise UnsafeFileError(f"'{path}' is a damaged or truncated zip archive ({e})") from None
    except (EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as e:
        raise UnsafeFileError(f"'{path}' could not be read as a zip archive ({e})") from None
    except zipfile.error as e:  # pragma: no cover - other zipfile failures
        raise UnsafeFileError(f"'{path}': bad zip archive ({e})") from None
    config = strict_json_loads(config, f"'{path}': {CONFIG_NAME}")
    metadata = strict_json_loads(metadata, f"'{path}': {METADATA_NAME}")
    if not isinstance(config, dict):
        raise UnsafeFileError(f"'{path}': {CONFIG_NAME} must hold a JSON object")
    return config, metadata, weights


def _prepare_lambdas(tree, custom_objects, safe_mode, source):
    """Keras Lambda layers as shendu's form: the function by name, never by bytecode.

    A Keras Lambda stores ``{"class_name": "__lambda__", "config": {"code": <marshal>}}``.
    shendu never unmarshals it: in safe mode the layer is refused; with
    ``safe_mode=False`` its function must come from ``custom_objects`` under the layer's
    name (or the registered function's name)."""
    if isinstance(tree, list):
        return [_prepare_lambdas(v, custom_objects, safe_mode, source) for v in tree]
    if not isinstance(tree, dict):
        return tree
    out = {k: _prepare_lambdas(v, custom_objects, safe_mode, source) for k, v in tree.items()}
    if out.get("class_name") == "Lambda" and isinstance(out.get("config"), dict):
        config = dict(out["config"])
        layer = config.get("name")
        fn = config.get("function")
        if isinstance(fn, dict):
            if fn.get("class_name") == "__lambda__":
                if safe_mode:
                    raise UnsafeFileError(
                        f"{source}: Lambda layer '{layer}' holds Python bytecode, which would run "
                        "code from the file; refused in safe mode. shendu never runs it even "
                        "with safe_mode=False: rebuild that layer, or pass its function with "
                        f"load_model(..., safe_mode=False, custom_objects={{'{layer}': fn}})")
                if not custom_objects or layer not in custom_objects:
                    raise UnsafeFileError(
                        f"{source}: Lambda layer '{layer}' holds Python bytecode; shendu never "
                        "unmarshals it, even with safe_mode=False. Pass the function as "
                        f"custom_objects={{'{layer}': fn}} or rebuild that layer")
                config["function"] = layer
            elif fn.get("class_name") == "function" and isinstance(fn.get("config"), str):
                config["function"] = fn["config"]
            else:
                raise UnsafeFileError(f"{source}: Lambda layer '{layer}' has a function entry "
                                      f"of an unknown form {str(fn)[:80]}")
        out["config"] = config
    return out


def load_archive(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a Keras 3 ``.keras`` archive, with its weights (see ``load_model``)."""
    import warnings

    from ..ops import random as _random
    from .json_config import from_keras_entry
    from .saving_lib import _build_from_shape, _set_global
    from .serialization import allocation_budget, check_config_tree, deserialize_layer
    source = f"'{filepath}'"
    config, _metadata, weights = read_archive(filepath)
    if not isinstance(config.get("class_name"), str) or not isinstance(config.get("config"), dict):
        raise UnsafeFileError(f"{source}: the config.json of this Keras 3 archive is not a "
                              "serialized model (an object with 'class_name' and 'config')")
    config = _prepare_lambdas(config, custom_objects, safe_mode, source)
    try:
        entry = from_keras_entry(config)
    except ValueError as e:
        raise UnsafeFileError(f"{source}: {e}") from None
    check_config_tree(entry, f"{source}: config.json")
    global_gen = _random.default_generator()
    saved = global_gen.bit_generator.state
    try:
        # The file's weights bound what building may allocate (a forged config cannot ask
        # for a 10^12-unit Dense).
        with allocation_budget(len(weights) // 2 + 1024, source):
            model = deserialize_layer(entry, custom_objects, safe_mode)
            if not model.weights:
                shape = getattr(model, "_pending_build_shape", None) or \
                    (config.get("build_config") or {}).get("input_shape")
                if shape is not None:
                    _build_from_shape(model, shape, source)
    finally:
        _set_global(global_gen, saved)
    load_h5_weights_into(model, weights, f"{source} ({WEIGHTS_NAME})")
    compile_config = config.get("compile_config")
    if compile and isinstance(compile_config, dict) and compile_config.get("optimizer"):
        try:
            model.compile(**_compile_args(compile_config, custom_objects))
        except Exception as e:  # noqa: BLE001 - as Keras: the model loads, uncompiled
            warnings.warn(f"{source}: the model could not be compiled from its "
                          f"compile_config ({type(e).__name__}: {e}); it is returned "
                          "uncompiled", stacklevel=3)
            return model
        with _open_h5(weights, source) as f:  # (already checked in full above)
            _load_optimizer(model, f, f"{source} ({WEIGHTS_NAME})")
    return model


def _compile_args(compile_config, custom_objects):
    from .json_config import from_keras_entry
    from .serialization import deserialize_compile
    opt = compile_config.get("optimizer")
    doc = {k: compile_config.get(k) for k in ("loss", "metrics", "loss_weights",
                                              "weighted_metrics") if compile_config.get(k)}
    if isinstance(opt, dict) and "class_name" in opt:
        opt = from_keras_entry(opt)
    doc["optimizer"] = opt
    return deserialize_compile(doc, custom_objects)


def archive_members(model):
    """``{member name: bytes}`` of a Keras 3 archive of ``model`` (metadata, config, weights)."""
    from .json_config import keras_config
    config = keras_config(model)
    compile_config = _keras_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    text = json.dumps(config, allow_nan=False)
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION,
                           "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S")})
    return {METADATA_NAME: metadata.encode(), CONFIG_NAME: text.encode(),
            WEIGHTS_NAME: h5_weights_bytes(model, include_optimizer=compile_config is not None)}


def _keras_compile_config(model):
    """Keras's ``compile_config`` for a compiled model (shendu's module names as Keras's),
    or None when the model is not compiled or its compile arguments cannot be written."""
    from .serialization import NotSerializable, serialize_compile
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    try:
        doc = serialize_compile(model)
    except NotSerializable:
        return None

    def as_keras(value):
        if isinstance(value, dict):
            out = {k: as_keras(v) for k, v in value.items()}
            if isinstance(out.get("module"), str) and out["module"].startswith("shendu."):
                out["module"] = "keras." + out["module"][len("shendu."):]
            return out
        if isinstance(value, list):
            return [as_keras(v) for v in value]
        return value
    doc = as_keras(doc)
    doc.update(run_eagerly=False, steps_per_execution=1, jit_compile=False)
    return doc
