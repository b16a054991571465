"""Optimizers with Keras 3's names, defaults and update formulas, plus a PyTorch-style
``step()``/``zero_grad()`` for hand-written training loops.

    opt = shendu.optimizers.get("adam")            # or Adam(learning_rate=1e-3)
    opt.apply(grads, model.trainable_weights)      # Keras style
    loss.backward(); opt.step(params); opt.zero_grad(params)   # PyTorch style
"""
from .._registry import lookup

from . import schedules  # noqa: F401
from .adafactor import Adafactor
from .adagrad import Adadelta, Adagrad
from .adam import Adam, Adamax, AdamW, Nadam
from .ftrl import Ftrl
from .lamb import Lamb
from .lion import Lion
from .muon import Muon
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .schedule_free_adamw import ScheduleFreeAdamW
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "Nadam", "RMSprop", "Adagrad",
           "Adadelta", "Adafactor", "Ftrl", "Lamb", "Lion", "LossScaleOptimizer", "Muon", "ScheduleFreeAdamW",
           "schedules",
           "get", "serialize", "deserialize"]

# The only classes a string or a config can name: nothing is ever imported by name.
ALL_OBJECTS = (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Adafactor, Ftrl,
               Lamb, Lion, Muon, ScheduleFreeAdamW)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def __getattr__(name):
    # keras.optimizers.LossScaleOptimizer is the mixed-precision wrapper; mixed_precision
    # imports this package, so the name is resolved on first use.
    if name == "LossScaleOptimizer":
        from ..mixed_precision import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'shendu.optimizers' has no attribute {name!r}")


def _lookup(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if isinstance(name, str) and name.lower() == "lossscaleoptimizer":
        from ..mixed_precision import LossScaleOptimizer  # a wrapper, in keras.mixed_precision
        return LossScaleOptimizer
    return lookup("optimizer", ALL_OBJECTS_DICT, name.lower() if isinstance(name, str) else name)


def serialize(optimizer):
    """The optimizer's class and configuration as a JSON-friendly dict (no state)."""
    return {"module": "shendu.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """An optimizer from ``serialize``'s dict (Keras's format is read as well).

    ``class_name`` is looked up among the built-in optimizers (case-insensitively) and
    ``custom_objects``; the ``module`` entry is never imported.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer config: {config!r}. Expected a dict "
                         "with a 'class_name' and a 'config'.")
    cls = _lookup(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier):
    """An optimizer from a name (``"adam"``), a config dict, a class or an instance.

    Example:
        >>> from shendu import optimizers
        >>> optimizers.get("RMSprop").get_config()["rho"]
        0.9
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer) or type(identifier).__name__ == "LossScaleOptimizer":
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
