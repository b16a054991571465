"""Checks of what ``fit``/``evaluate``/``predict`` receive, made before any step runs.

Each check raises with the argument's name, what was expected and what was received
("Received: batch_size=0"), so that a bad call fails at once instead of deep inside a
layer, a loss or a NumPy broadcast, or, worse, after an epoch has trained.
"""
import numbers

import numpy as np

from ..autograd.tensor import Tensor
from .data_adapters import flatten_arrays


def as_array(a):
    """A NumPy view of an array or Tensor (a Tensor's data, not its ``__array__`` copy)."""
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def check_count(value, name, minimum=1, allow_none=True):
    """``value`` as an int >= ``minimum`` (None passes when ``allow_none``).

    Example:
        >>> check_count(3, "epochs")
        3
        >>> check_count(0, "batch_size")
        Traceback (most recent call last):
        ...
        ValueError: `batch_size` must be an integer >= 1. Received: batch_size=0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r} "
                        f"of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_fit_arguments(epochs, initial_epoch, batch_size, validation_batch_size, steps_per_epoch,
                        validation_steps, validation_freq, shuffle, verbose):
    """The scalar arguments of ``fit``; returns ``verbose`` as an int."""
    check_count(epochs, "epochs", minimum=0, allow_none=False)
    check_count(initial_epoch, "initial_epoch", minimum=0, allow_none=False)
    if initial_epoch > epochs:
        raise ValueError(f"`initial_epoch` must not exceed `epochs`: no epoch would train. "
                         f"Received: initial_epoch={initial_epoch}, epochs={epochs}")
    for value, name in ((batch_size, "batch_size"), (validation_batch_size, "validation_batch_size"),
                        (steps_per_epoch, "steps_per_epoch"), (validation_steps, "validation_steps")):
        check_count(value, name)
    check_count(validation_freq, "validation_freq", allow_none=False)
    if not (isinstance(shuffle, (bool, np.bool_)) or shuffle == "batch"):
        raise ValueError(f"`shuffle` must be True, False or 'batch'. Received: shuffle={shuffle!r}")
    return check_verbose(verbose)


def check_verbose(verbose):
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)) or verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def require_data(x, y, method, needs_y):
    """``x`` is always needed; ``y`` when the model has a loss and ``x`` holds arrays (a
    generator or dataset yields its own targets)."""
    if x is None:
        raise ValueError(f"{method}: `x` is None; expected the input data (an array, a list or "
                         f"dict of arrays, a generator or a dataset). Received: x=None")
    from_arrays = not (hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(
        x, (np.ndarray, list, tuple, dict, Tensor))))
    if needs_y and y is None and from_arrays:
        raise ValueError(f"{method}: `y` is None, but the model was compiled with a loss, which "
                         f"needs targets. Pass y (or give x as a generator or dataset yielding "
                         f"(x, y) batches). Received: y=None")


def standardize_inputs(model, x, method):
    """A one-element list for a model of one input is that input (Keras reads it so); more
    arrays than the model has inputs is an error naming both counts, and so is a dict
    whose keys are not the one input's name."""
    n_inputs = _input_count(model)
    if isinstance(x, dict) and n_inputs == 1 and not hasattr(model, "input_names"):
        name = model.inputs[0].name
        if list(x) != [name]:
            raise ValueError(f"{method}: model '{model.name}' has one input, '{name}'; a dict `x` "
                             f"must have that one key. Received keys {list(x)}")
        return x[name]
    if not isinstance(x, (list, tuple)) or not x or not all(hasattr(v, "shape") for v in x):
        return x
    if n_inputs != 1:
        return x
    if len(x) == 1:
        return x[0]
    raise ValueError(f"{method}: model '{model.name}' expects 1 input, received {len(x)} arrays "
                     f"(shapes {[tuple(np.shape(v)) for v in x]})")


def standardize_targets(model, y, method):
    """Targets in a dict are matched to the outputs by name (Keras's rule), never by the
    dict's order; a key that names no output, or an output left without one, fails."""
    names = getattr(model, "output_names", None)
    if not isinstance(y, dict) or not names:
        return y
    unknown = [k for k in y if k not in names]
    missing = [n for n in names if n not in y]
    if unknown or missing:
        raise ValueError(f"{method}: the keys of `y` must be the output names of model "
                         f"'{model.name}', {list(names)}. Received keys {list(y)}"
                         + (f"; unknown: {unknown}" if unknown else "")
                         + (f"; missing: {missing}" if missing else ""))
    ordered = [y[n] for n in names]
    return ordered[0] if len(ordered) == 1 else ordered


def _input_count(model):
    try:
        return len(model.inputs)
    except (AttributeError, TypeError, ValueError):
        return None  # a subclassed model, or a Sequential without a known input yet


def check_numeric(arrays, label, method):
    """Arrays of bool, int or float; strings, complex numbers and objects are refused."""
    for i, arr in enumerate(flatten_arrays(arrays)):
        arr = as_array(arr)
        kind = arr.dtype.kind
        if kind in "biuf":
            continue
        what = ("complex numbers (the imaginary part would be lost; pass x.real, x.imag or np.abs "
                "explicitly)" if kind == "c" else "strings (map them to numbers first)"
                if kind in "US" else "Python objects")
        raise TypeError(f"{method}: `{_name(label, i, arrays)}` must be numeric (bool, int or "
                        f"float); received an array of dtype {arr.dtype} holding {what}")


def check_finite(arrays, label, method):
    """NaN or Inf anywhere fails, with the count and the index of the first one."""
    for i, arr in enumerate(flatten_arrays(arrays)):
        arr = as_array(arr)
        if arr.dtype.kind not in "fc":
            continue
        finite = np.isfinite(arr)
        if not finite.all():
            bad = int(arr.size - finite.sum())
            where = np.argwhere(~finite)[0].tolist()
            raise ValueError(f"{method}: `{_name(label, i, arrays)}` contains {bad} NaN or Inf "
                             f"value(s) (first at index {where}: {arr[tuple(where)]}); clean the "
                             f"data before training")


def _name(label, i, arrays):
    return f"{label}[{i}]" if len(flatten_arrays(arrays)) > 1 else label


def check_sample_weight(sample_weight, out_shapes, method):
    """A weight per sample (N,) or (N, 1), or one of the output's shape (N, ...)."""
    if sample_weight is None or isinstance(sample_weight, (list, dict)):
        return
    sw = np.asarray(sample_weight)
    shape = tuple(sw.shape[1:])
    if shape in ((), (1,)) or not out_shapes:
        return
    if all(shape != tuple(os_[1:]) and shape != tuple(os_[1:-1]) for os_ in out_shapes):
        raise ValueError(f"{method}: `sample_weight` of shape {sw.shape} fits no output: expected "
                         f"one weight per sample ({len(sw)},) or the output's shape "
                         f"{' or '.join(str(tuple(o)) for o in out_shapes)} with the batch first")


def check_target_shape(y, out_shape, method, output_name):
    """Targets that broadcast against the output, once a trailing 1 is reconciled (as
    Keras's losses do: (N,) meets (N, 1)); the batch dimension is left to the
    cardinality check."""
    ys, os_ = list(y.shape[1:]), list(out_shape[1:])
    if len(ys) == len(os_) + 1 and ys and ys[-1] == 1:
        ys = ys[:-1]
    elif len(os_) == len(ys) + 1 and os_ and os_[-1] == 1:
        os_ = os_[:-1]
    fits = len(ys) == len(os_) and all(a == b or a == 1 or b in (1, None)
                                        for a, b in zip(ys[::-1], os_[::-1]))
    if not fits:
        raise ValueError(f"{method}: targets of shape {y.shape} do not match the output "
                         f"'{output_name}' of shape {tuple(out_shape)}: expected y of shape "
                         f"(batch, {', '.join(str(d) for d in out_shape[1:])})")


def same_sample_shapes(ours, theirs, what, method):
    """``ours`` (validation arrays) must have the sample shapes of ``theirs`` (training)."""
    a, b = flatten_arrays(ours), flatten_arrays(theirs)
    if len(a) != len(b):
        raise ValueError(f"{method}: validation_data has {len(a)} {what} array(s), the training "
                         f"data {len(b)}")
    for i, (va, ta) in enumerate(zip(a, b)):
        if np.ndim(va) and np.ndim(ta) and tuple(np.shape(va)[1:]) != tuple(np.shape(ta)[1:]):
            raise ValueError(f"{method}: validation_data {what}{f'[{i}]' if len(a) > 1 else ''} "
                             f"has samples of shape {tuple(np.shape(va)[1:])}, the training "
                             f"{what} {tuple(np.shape(ta)[1:])}")


def class_weights_to_sample_weight(y, class_weight, sample_weight, num_classes=None):
    """Per-sample weights from ``{class index: weight}``; classes not named weigh 1."""
    if isinstance(y, (list, dict)):
        raise ValueError("class_weight is only supported for models with a single output")
    if not isinstance(class_weight, dict):
        raise ValueError(f"`class_weight` must be a dict {{class index: weight}}. "
                         f"Received: class_weight={class_weight!r}")
    y = np.asarray(getattr(y, "data", y))
    labels = y.argmax(-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(len(y), -1)[:, 0].astype(int)
    classes = num_classes or int(labels.max()) + 1
    for key, value in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral) \
                or not 0 <= key < classes:
            raise ValueError(f"`class_weight` keys must be class indices in [0, {classes - 1}] "
                             f"(the model predicts {classes} classes). Received the key {key!r}")
        if not np.isfinite(float(value)):
            raise ValueError(f"`class_weight` values must be finite. Received: {key}: {value!r}")
    table = np.ones(max(classes, int(labels.max()) + 1), dtype=np.float32)
    for key, value in class_weight.items():
        table[int(key)] = value
    sw = table[labels]
    if sample_weight is not None:
        sw = sw * np.asarray(sample_weight, dtype=np.float32)
    return sw
