"""``save_model`` / ``load_model`` / ``save_weights`` / ``load_weights``.

What a model file holds (``shendu.json`` + ``tensors.safetensors``, see ``file_format``):

* ``architecture``: the ``get_config`` tree, every class by its registered name;
* ``compile``: optimizer (with its learning-rate schedule), losses, loss weights, metrics;
* ``training_state``: the epoch reached, the state of shendu's global random generator
  and of every layer's own generator (Dropout with a seed), and the optimizer's state
  (iterations and slots) as tensors ``optimizer/<name>``;
* the weights as tensors ``weights/<path>``, in ``model.weights`` order.

Loading rebuilds the model, loads the weights, compiles, restores the optimizer and
then the random generators, so ``fit(initial_epoch=saved_epoch)`` continues the run
exactly where it stopped. Loading never changes anything if it fails (the global
generator is put back), and a successful load without training state leaves the
global generator as it was.
"""
import os
import warnings

import numpy as np

from .. import config as _config
from . import file_format
from .registry import custom_objects_in_effect
from .safe_tensors import UnsafeFileError, decode, encode
from .serialization import (MAX_CONFIG_DEPTH, NotSerializable, allocation_budget,
                            check_config_tree, config_depth, deserialize_compile,
                            deserialize_layer, serialize_compile, serialize_layer)

_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                   "MT19937": np.random.MT19937, "Philox": np.random.Philox,
                   "SFC64": np.random.SFC64}


# ---- helpers ---------------------------------------------------------------------------------
def _check_overwrite(filepath, overwrite):
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"'{filepath}' exists and overwrite=False")


def _weight_tensors(model):
    tensors, names, seen = {}, [], set()
    for w in model.weights:
        name = f"weights/{w.path}"
        k = 1
        while name in seen:
            name = f"weights/{w.path}#{k}"
            k += 1
        seen.add(name)
        names.append(name)
        tensors[name] = np.asarray(w.data)
    return tensors, names


def _generator_state(gen):
    state = gen.bit_generator.state
    return _to_json(state)


def _to_json(x):
    if isinstance(x, dict):
        return {k: _to_json(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.integer):
        return int(x)
    return x


def _generator_from_state(state, what):
    """A new Generator in ``state``; the name of the bit generator comes from a fixed table."""
    if not isinstance(state, dict) or state.get("bit_generator") not in _BIT_GENERATORS:
        raise UnsafeFileError(f"{what}: a generator state must name one of "
                              f"{sorted(_BIT_GENERATORS)}; received {str(state)[:120]}")
    bit = _BIT_GENERATORS[state["bit_generator"]]()
    try:
        bit.state = state
    except Exception as e:  # noqa: BLE001 - numpy validates the state's fields
        raise UnsafeFileError(f"{what}: invalid generator state ({e})") from None
    return np.random.Generator(bit)


def _layer_generators(model):
    """{layer index in _all_layers(): {attribute: state}} for every own generator."""
    out = {}
    for i, layer in enumerate(model._all_layers()):
        states = {}
        for attr, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                states[attr] = _generator_state(value)
            elif hasattr(value, "_rng") and isinstance(getattr(value, "_rng"), np.random.Generator):
                states[f"{attr}._rng"] = _generator_state(value._rng)
        if states:
            out[str(i)] = {"layer": layer.name, "class_name": type(layer).__name__, "states": states}
    return out


def _training_state(model):
    from ..ops import random as _random
    # The epochs completed: fit sets `_completed_epochs` before on_epoch_end, so a
    # ModelCheckpoint written there records its own epoch; outside fit, the History.
    epoch = getattr(model, "_completed_epochs", None)
    if epoch is None:
        epochs = getattr(getattr(model, "history", None), "epoch", None)
        epoch = int(epochs[-1]) + 1 if epochs else None
    state = {"epoch": epoch,
             "global_generator": _generator_state(_random.default_generator()),
             "layer_generators": _layer_generators(model),
             "optimizer_built": bool(getattr(model.optimizer, "built", False))}
    tensors = {}
    # Saved during fit (a callback): the steps done in the current epoch, the global
    # generator as it was when the epoch began (it drew that epoch's shuffled order), the
    # running metrics of the epoch, and the state of the fit's callbacks.
    step = int(getattr(model, "_steps_done", 0) or 0)
    state["step"] = step
    if step:
        state["epoch_start_generator"] = _to_json(model._epoch_start_rng)
        if getattr(model, "_metrics_built", False):
            for i, v in enumerate(_metric_variables(model)):
                tensors[f"metrics/{i}"] = np.array(v.data)
    callbacks = getattr(model, "_callbacks", None)
    if callbacks is not None:
        state["callbacks"] = _arrays_to_refs(callbacks.get_state(), "callbacks", tensors)
    return state, tensors


def _metric_variables(model):
    return [v for m in model.metrics + list(getattr(model, "_output_loss_trackers", []))
            for v in m.variables]


def _arrays_to_refs(value, prefix, tensors):
    """``value`` with each array replaced by ``{"__tensor__": name}`` (the array goes to
    ``tensors``)."""
    if isinstance(value, np.ndarray):
        name = f"{prefix}/{len(tensors)}"
        tensors[name] = np.ascontiguousarray(value)
        return {"__tensor__": name}
    if isinstance(value, dict):
        return {str(k): _arrays_to_refs(v, prefix, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_arrays_to_refs(v, prefix, tensors) for v in value]
    return value


def _refs_to_arrays(value, tensors, source):
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            name = value["__tensor__"]
            if not isinstance(name, str) or not name.startswith("callbacks/") or name not in tensors:
                raise UnsafeFileError(f"{source}: callback state names a missing tensor "
                                      f"{str(name)[:80]!r}")
            return tensors[name]
        return {k: _refs_to_arrays(v, tensors, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_refs_to_arrays(v, tensors, source) for v in value]
    return value


# ---- saving ----------------------------------------------------------------------------------
def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write ``model`` (architecture, weights, compile arguments, training state) atomically.

    The file name is free and always gets shendu's zip format; a ``.keras`` name adds
    Keras 3's members (``keras_files.archive_members``) so that real Keras loads it.
    """
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    tensors, names = _weight_tensors(model)
    arch = _architecture(model, filepath)
    doc = {"kind": "model", "shendu_version": _version(), "architecture": arch,
           "weights": names, "compile": None, "training_state": None}
    if getattr(model, "compiled", False) and model.optimizer is not None and include_optimizer:
        try:
            doc["compile"] = serialize_compile(model)
        except NotSerializable as e:
            warnings.warn(f"save_model: the compile arguments cannot be saved ({e}); the model "
                          "is saved uncompiled", stacklevel=3)
        if doc["compile"] is not None:
            doc["training_state"], extra = _training_state(model)
            tensors.update(extra)
            for key, value in model.optimizer.get_state().items():
                tensors[f"optimizer/{key}"] = value
    try:
        import json
        json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"save_model: the model's configuration is not JSON-serializable ({e}); "
                         "every get_config() must return plain Python values") from None
    file_format.write(filepath, doc, encode(tensors, {"format": "shendu"}),
                      _keras_members(model, filepath))


def _keras_members(model, filepath):
    """A ``.keras`` file also holds Keras 3's members (config.json, model.weights.h5), so
    real Keras loads it; shendu reads its own members, which add the exact-resume state.
    A model Keras's form cannot describe is saved in shendu's format alone, with a warning."""
    if not filepath.endswith(".keras"):
        return None
    from .keras_files import archive_members
    try:
        return archive_members(model)
    except ImportError:
        warnings.warn(f"save_model: '{filepath}' is written in shendu's format only (real "
                      "Keras cannot open it): writing Keras's part needs h5py (pip install "
                      "h5py)", stacklevel=4)
    except Exception as e:  # noqa: BLE001 - the shendu part is still complete
        warnings.warn(f"save_model: '{filepath}' is written in shendu's format only (real "
                      f"Keras cannot open it): {type(e).__name__}: {e}", stacklevel=4)
    return None


def _architecture(model, filepath):
    """The model's config tree, refused here if load_model would refuse it as too deep."""
    why = (f"save_model: cannot save model '{model.name}' to '{filepath}': its configuration "
           f"is nested more than {MAX_CONFIG_DEPTH} levels deep (models inside models), and "
           "load_model refuses files nested that deeply, so the file could not be loaded. "
           "Flatten the nesting (e.g. add the inner models' layers to one Sequential)")
    try:
        arch = serialize_layer(model)
    except RecursionError:
        raise ValueError(why) from None
    depth = config_depth(arch)
    if depth > MAX_CONFIG_DEPTH:
        raise ValueError(f"{why}; found depth {depth}.")
    return arch


def save_weights(model, filepath, overwrite=True):
    """Write only the weights, atomically: a name ending in ``.weights.h5`` gets Keras 3's
    HDF5 layout (real Keras loads it), any other name shendu's format (by path, in
    ``model.weights`` order)."""
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    if filepath.endswith(".weights.h5"):
        from .keras_files import save_weights_file
        return save_weights_file(model, filepath)
    tensors, names = _weight_tensors(model)
    file_format.write(filepath, {"kind": "weights", "shendu_version": _version(), "weights": names},
                      encode(tensors, {"format": "shendu"}))


def _version():
    from .. import __version__
    return __version__


# ---- loading ---------------------------------------------------------------------------------
def _read_checked(filepath):
    doc, block = file_format.read(filepath)
    tensors = {}
    if block is not None:
        tensors, _ = decode(block, f"'{filepath}': {file_format.TENSORS_NAME}")
    names = doc.get("weights", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UnsafeFileError(f"'{filepath}': 'weights' must be a list of tensor names")
    if len(set(names)) != len(names):
        raise UnsafeFileError(f"'{filepath}': duplicate weight names in the file")
    absent = [n for n in names if n not in tensors]
    if absent:
        raise UnsafeFileError(f"'{filepath}': weights {absent[:5]} are listed but not stored")
    return doc, tensors, names


def _plan_weights(model, tensors, names, source, skip_mismatch):
    """Pairs (variable, array) to assign, checked in full before anything is written."""
    own = model.weights
    own_paths = [w.path for w in own]
    file_paths = [n[len("weights/"):] for n in names]
    pairs, problems = [], []
    if sorted(own_paths) == sorted(file_paths) and len(set(own_paths)) == len(own_paths):
        by_path = dict(zip(file_paths, names))
        candidates = [(w, by_path[w.path]) for w in own]
    else:  # paths differ (layers renamed by a new instance): match by position, as Keras does
        candidates = list(zip(own, names))
        problems += [f"model weight '{w.path}' {tuple(w.shape)} has no counterpart in the file"
                     for w in own[len(names):]]
        problems += [f"file weight '{n[8:]}' {tuple(tensors[n].shape)} has no counterpart in the "
                     "model" for n in names[len(own):]]
    for var, name in candidates:
        value = tensors[name]
        if tuple(value.shape) != tuple(var.shape):
            problems.append(f"'{var.path}': the model expects shape {tuple(var.shape)}, the file "
                            f"has '{name[8:]}' of shape {tuple(value.shape)}")
        elif value.dtype.kind not in "fiub" or (np.dtype(var.dtype).kind == "f") != (value.dtype.kind == "f"):
            problems.append(f"'{var.path}': dtype {value.dtype} cannot load into {var.dtype}")
        else:
            pairs.append((var, value))
    if problems and not skip_mismatch:
        raise ValueError(f"{source}: {len(problems)} weight mismatch(es) with model "
                         f"'{model.name}':\n  - " + "\n  - ".join(problems) +
                         "\nPass skip_mismatch=True to load the weights that fit.")
    if problems:
        warnings.warn(f"{source}: skipped {len(problems)} mismatched weight(s):\n  - "
                      + "\n  - ".join(problems), stacklevel=3)
    return pairs


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights saved by ``save_weights`` or ``save_model`` into ``model`` (by path
    when the paths match, else by position; shapes must agree)."""
    filepath = os.fspath(filepath)
    kind = _keras_kind(filepath)
    if kind == "hdf5":
        from .keras_files import load_weights_file
        return load_weights_file(model, filepath, skip_mismatch)
    if kind == "keras":
        raise UnsafeFileError(f"'{filepath}' is a whole Keras model (.keras archive): use "
                              "shendu.models.load_model() for it")
    doc, tensors, names = _read_checked(filepath)
    if doc.get("kind") not in ("weights", "model"):
        raise UnsafeFileError(f"'{filepath}': unknown kind {doc.get('kind')!r}")
    if not model.weights and names:
        _build_from_shape(model, getattr(model, "_build_input_shape", None), filepath)
    for var, value in _plan_weights(model, tensors, names, f"'{filepath}'", skip_mismatch):
        var.assign(value.astype(var.dtype))


def _keras_kind(filepath):
    """'keras' or 'hdf5' for Keras's own files (see ``keras_files.file_kind``), else None."""
    if not os.path.isfile(filepath):
        return None  # the shendu reader gives the not-found / folder message
    from .keras_files import file_kind
    return file_kind(filepath)


def _build_from_shape(model, shape, source):
    """Create a subclassed model's weights with one forward pass on zeros."""
    from ..autograd.grad_mode import no_grad
    if shape is None:
        raise ValueError(f"{source}: the model has no weights yet and its input shape is unknown; "
                         "call the model on data (or build it) before loading weights")

    def zeros(s):
        if isinstance(s, dict):
            return {k: zeros(v) for k, v in s.items()}
        if isinstance(s, (list, tuple)) and s and isinstance(s[0], (list, tuple, dict)):
            return [zeros(v) for v in s]
        return np.zeros([1 if d is None else int(d) for d in s], dtype=model.dtype)
    with no_grad():
        model(zeros(shape), training=False)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved by ``model.save``; nothing in the file can run code.

    Args:
        filepath: a file written by ``save_model`` (any name: ``.keras``, ``.h5``, ...).
        custom_objects: ``{name: class or function}`` for custom layers, models,
            schedules, and (with ``safe_mode=False``) the functions of Lambda layers.
        compile: compile the model as it was and restore its training state.
        safe_mode: refuse Lambda layers. Only the caller can turn it off; nothing in the
            file is consulted.

    Raises:
        ValueError (``UnsafeFileError``): a broken, forged or foreign file, an unknown
            class, a Lambda in safe mode; FileNotFoundError.
    """
    from ..ops import random as _random
    filepath = os.fspath(filepath)
    # keras.config.enable_unsafe_deserialization() turns safe mode off for every load; the
    # open custom_object_scope()s add their objects (Lambda functions included).
    safe_mode = _config.in_safe_mode(True if safe_mode is None else safe_mode)
    custom_objects = custom_objects_in_effect(custom_objects)
    kind = _keras_kind(filepath)
    if kind == "keras":
        from .keras_files import load_archive
        return load_archive(filepath, custom_objects, compile, safe_mode)
    if kind == "hdf5":
        from .keras_files import load_legacy_h5
        return load_legacy_h5(filepath, custom_objects, compile, safe_mode)
    doc, tensors, names = _read_checked(filepath)
    if doc.get("kind") != "model":
        raise UnsafeFileError(f"'{filepath}' holds {doc.get('kind')!r}, not a model: use "
                              "model.load_weights() for a weights file")
    arch = doc.get("architecture")
    if not isinstance(arch, dict):
        raise UnsafeFileError(f"'{filepath}': the architecture must be a JSON object")
    check_config_tree(arch, f"'{filepath}': architecture")
    source = f"'{filepath}'"
    budget = sum(int(tensors[n].size) for n in names) + 64
    global_gen = _random.default_generator()
    saved_global = global_gen.bit_generator.state
    try:
        with allocation_budget(budget, source):
            model = deserialize_layer(arch, custom_objects, safe_mode)
            pending = getattr(model, "_pending_build_shape", None)
            if pending is not None and not model.weights:
                _build_from_shape(model, pending, source)
        for var, value in _plan_weights(model, tensors, names, source, skip_mismatch=False):
            var.assign(value.astype(var.dtype))
        generators = []
        if compile and doc.get("compile"):
            model.compile(**deserialize_compile(doc["compile"], custom_objects))
            state = doc.get("training_state")
            if state is not None:
                generators = _restore_training_state(model, state, tensors, source)
    finally:
        # Building drew initial weights from the global generator: put it back, so that a
        # load (successful or not) leaves shendu's randomness untouched.
        _set_global(global_gen, saved_global)
    for target, gen in generators:
        target(gen)
    return model


def _set_global(current, state):
    from ..ops import random as _random
    if _random.default_generator() is not current:
        _random._global = current
    current.bit_generator.state = state


def _restore_training_state(model, state, tensors, source):
    """Optimizer state now; generator restorers returned, to run once nothing can fail."""
    from ..ops import random as _random
    if not isinstance(state, dict):
        raise UnsafeFileError(f"{source}: training_state must be an object")
    opt_state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    epoch = state.get("epoch")
    if epoch is not None and (type(epoch) is not int or epoch < 0):
        raise UnsafeFileError(f"{source}: epoch must be a non-negative integer; received {epoch!r}")
    if state.get("optimizer_built"):
        model.optimizer.build(model.trainable_weights)
    try:
        model.optimizer.set_state(opt_state)
    except ValueError as e:
        raise UnsafeFileError(f"{source}: optimizer state does not match: {e}") from None
    restorers = []
    if state.get("global_generator") is not None:
        gen = _generator_from_state(state["global_generator"], f"{source}: global generator")

        def set_global(g):
            current = _random.default_generator()
            if type(current.bit_generator) is type(g.bit_generator):
                current.bit_generator.state = g.bit_generator.state
            else:
                _random._global = g
        restorers.append((set_global, gen))
    layers = model._all_layers()
    layer_states = state.get("layer_generators") or {}
    if not isinstance(layer_states, dict):
        raise UnsafeFileError(f"{source}: layer_generators must be an object")
    for key, entry in layer_states.items():
        if not key.isdigit() or int(key) >= len(layers) or not isinstance(entry, dict) \
                or not isinstance(entry.get("states"), dict):
            raise UnsafeFileError(f"{source}: bad layer generator entry {key!r}")
        layer = layers[int(key)]
        for attr, st in entry["states"].items():
            owner_attr, _, sub = attr.partition(".")
            owner = getattr(layer, owner_attr, None) if not sub else \
                getattr(getattr(layer, owner_attr, None), sub, None)
            if not isinstance(owner, np.random.Generator):
                raise UnsafeFileError(f"{source}: layer '{layer.name}' has no generator '{attr}'")
            gen = _generator_from_state(st, f"{source}: generator {attr} of layer '{layer.name}'")
            restorers.append((lambda g, target=owner: setattr(target.bit_generator, "state",
                                                              g.bit_generator.state), gen))
    model.saved_epoch = epoch
    model._resume = _resume_point(model, state, tensors, source)
    return restorers


def _resume_point(model, state, tensors, source):
    """Where a resumed fit starts: {epoch, step, epoch_start_generator, metrics, callbacks}
    (``fit`` consumes it; see ``shendu.trainers.resume``)."""
    step = state.get("step", 0)
    if type(step) is not int or step < 0:
        raise UnsafeFileError(f"{source}: step must be a non-negative integer; received {step!r}")
    start = None
    if step:
        start = _generator_from_state(state.get("epoch_start_generator"),
                                      f"{source}: epoch-start generator").bit_generator.state
    metrics = [tensors[f"metrics/{i}"] for i in range(len(tensors)) if f"metrics/{i}" in tensors]
    callbacks = state.get("callbacks", {})
    if not isinstance(callbacks, dict):
        raise UnsafeFileError(f"{source}: callback states must be an object")
    return {"epoch": state.get("epoch") or 0, "step": step, "epoch_start_generator": start,
            "metrics": metrics, "callbacks": _refs_to_arrays(callbacks, tensors, source)}


def restore_checkpoint(model, filepath):
    """Load a full checkpoint's weights and training state into ``model`` (compiled as
    when it was saved), for ``BackupAndRestore``: weights, optimizer, random generators,
    and ``model._resume`` (epoch, step, callback states) that ``fit`` then consumes."""
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    doc, tensors, names = _read_checked(filepath)
    state = doc.get("training_state")
    if doc.get("kind") != "model" or state is None:
        raise UnsafeFileError(f"{source} is not a checkpoint with training state")
    if not model.weights and names:
        _build_from_shape(model, getattr(model, "_build_input_shape", None), source)
    pairs = _plan_weights(model, tensors, names, source, skip_mismatch=False)
    restorers = _restore_training_state(model, state, tensors, source)
    for var, value in pairs:
        var.assign(value.astype(var.dtype))
    for target, gen in restorers:
        target(gen)
    return model._resume
