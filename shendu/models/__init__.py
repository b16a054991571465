"""Models: ``Sequential``, Functional ``Model(inputs, outputs)``, and subclassed ``Model``."""
from .functional import Functional  # noqa: F401
from .model import Model  # noqa: F401
from .sequential import Sequential  # noqa: F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by ``model.save`` (see ``shendu.saving.load_model``)."""
    from ..saving import load_model as _load_model
    return _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Save a model to ``filepath`` (as ``model.save``; see ``shendu.saving.save_model``)."""
    from ..saving import save_model as _save_model
    include_optimizer = kwargs.pop("include_optimizer", True)
    if kwargs:
        raise TypeError(f"save_model: unrecognized keyword argument(s) {sorted(kwargs)}")
    _save_model(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def model_from_json(json_string, custom_objects=None):
    """A model (new weights) from ``model.to_json()``'s string, shendu's or Keras 3's."""
    from ..saving.json_config import model_from_json as _model_from_json
    return _model_from_json(json_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model of the same architecture with new weights (see ``models.cloning``)."""
    from .cloning import clone_model as _clone_model
    return _clone_model(model, input_tensors=input_tensors, clone_function=clone_function,
                        call_function=call_function, recursive=recursive, **kwargs)
