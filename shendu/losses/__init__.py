"""Keras losses: functions (per-sample losses) and ``Loss`` classes (weighted, reduced).

    loss = shendu.losses.get("sparse_categorical_crossentropy")
    value = shendu.losses.CategoricalCrossentropy(from_logits=True)(y, logits)

Strings resolve only through the table below (never through imports), so a saved
configuration cannot make shendu load arbitrary code.
"""
import inspect

from .._registry import lookup

from .loss import Loss, LossFunctionWrapper, reduce_weighted_values  # noqa: F401
from .losses import (BinaryCrossentropy, BinaryFocalCrossentropy,  # noqa: F401
                     CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence, LogCosh,
                     MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
                     MeanSquaredLogarithmicError, Poisson, SparseCategoricalCrossentropy,
                     SquaredHinge, binary_crossentropy, binary_focal_crossentropy,
                     categorical_crossentropy, categorical_hinge, cosine_similarity, hinge, huber,
                     kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                     mean_squared_error, mean_squared_logarithmic_error, poisson,
                     sparse_categorical_crossentropy, squared_hinge)
from .losses import check_binary_targets  # noqa: F401
from .extra_losses import (CTC, CategoricalFocalCrossentropy,  # noqa: F401
                           CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky,
                           categorical_focal_crossentropy, categorical_generalized_cross_entropy,
                           circle, ctc, dice, tversky)

_CLASSES = (Loss, LossFunctionWrapper, BinaryCrossentropy, BinaryFocalCrossentropy,
            CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber,
            KLDivergence, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
            SparseCategoricalCrossentropy, SquaredHinge, CTC, CategoricalFocalCrossentropy,
            CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky)
_FUNCTIONS = (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
              categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, log_cosh,
              mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
              mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
              squared_hinge, categorical_focal_crossentropy, categorical_generalized_cross_entropy,
              circle, ctc, dice, tversky)

ALL_OBJECTS = {obj.__name__: obj for obj in _CLASSES + _FUNCTIONS}
ALL_OBJECTS.update({  # Keras's aliases
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "logcosh": log_cosh, "huber_loss": huber,
})
_NAME_OF = {}
for _name, _obj in ALL_OBJECTS.items():
    _NAME_OF.setdefault(_obj, _name)
del _name, _obj


_lookup = lookup  # one name lookup for every string-configurable namespace


def get(identifier):
    """Resolve a loss: a name ('mse', 'categorical_crossentropy', 'Huber', ...), a config
    dict, a function, a Loss class (instantiated) or instance. None stays None.

    Example:
        >>> get("mse").__name__
        'mean_squared_error'
        >>> get("BinaryCrossentropy").name
        'binary_crossentropy'
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = _lookup("loss", ALL_OBJECTS, identifier)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """A JSON-able description of ``loss`` (Keras's layout) that :func:`deserialize` reads."""
    if isinstance(loss, Loss):
        if type(loss).__name__ not in ALL_OBJECTS:
            raise ValueError(f"Cannot serialize the unregistered loss class "
                             f"{type(loss).__name__}")
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    name = _NAME_OF.get(loss)
    if name is None:
        raise ValueError(f"Cannot serialize {loss!r}: only built-in losses are registered")
    return {"module": "keras.losses", "class_name": "function", "config": name,
            "registered_name": name}


def deserialize(config):
    """The loss a :func:`serialize` output (or a bare name) describes; names only resolve
    through the registry, never through imports."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize loss from {config!r}")
    if config["class_name"] == "function":
        return _lookup("loss", ALL_OBJECTS, config["config"])
    cls = _lookup("loss", ALL_OBJECTS, config["class_name"])
    if not inspect.isclass(cls):
        return cls
    return cls.from_config(config.get("config") or {})


_PROBABILITY_LOSSES = {categorical_crossentropy: "softmax",
                       sparse_categorical_crossentropy: "softmax",
                       binary_crossentropy: "sigmoid"}


def fused_logits_loss(loss):
    """The from_logits=True twin of a probability cross-entropy, or None.

    For a (sparse) categorical or binary cross-entropy with ``from_logits=False`` (name,
    function, class or instance) returns the same loss computed from logits, so a trainer
    can feed it the input of a final softmax (categorical) or sigmoid (binary) and get
    the stable fused op; the twin's ``logits_activation`` attribute names that activation.
    Returns None for any other loss (and for one that already takes logits).

    Example:
        >>> fused_logits_loss("categorical_crossentropy").logits_activation
        'softmax'
        >>> fused_logits_loss("mse") is None
        True
    """
    obj = get(loss) if isinstance(loss, (str, dict)) or inspect.isclass(loss) else loss
    fn = obj.fn if isinstance(obj, LossFunctionWrapper) else obj
    activation = _PROBABILITY_LOSSES.get(fn) if callable(fn) else None
    if activation is None:
        return None
    if isinstance(obj, LossFunctionWrapper):
        config = obj.get_config()
        if config.get("from_logits"):
            return None
        config["from_logits"] = True
        twin = type(obj).from_config(config)
    else:
        def twin(y_true, y_pred, **kwargs):
            return fn(y_true, y_pred, from_logits=True, **kwargs)
        twin.__name__ = fn.__name__
        twin.__doc__ = f"{fn.__name__} with from_logits=True."
    twin.logits_activation = activation
    return twin
