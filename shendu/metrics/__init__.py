"""Keras metrics: stateful ``Metric`` objects and per-sample function forms.

    m = shendu.metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    m.update_state(y, probs); float(m.result())

Metrics work on the ``.data`` of Tensors (or on arrays) with NumPy, never build an
autograd graph, and strings resolve only through the table below.
"""
import inspect

from .._registry import lookup

from .accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy,  # noqa: F401
                               SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                               TopKCategoricalAccuracy, accuracy, binary_accuracy,
                               categorical_accuracy, sparse_categorical_accuracy,
                               sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from .confusion_metrics import AUC, Precision, Recall  # noqa: F401
from .metric import Mean, MeanMetricWrapper, Metric, Sum  # noqa: F401
from .regression_metrics import (BinaryCrossentropy, CategoricalCrossentropy,  # noqa: F401
                                 MeanAbsoluteError, MeanAbsolutePercentageError,
                                 MeanSquaredError, MeanSquaredLogarithmicError,
                                 RootMeanSquaredError, SparseCategoricalCrossentropy,
                                 mean_absolute_error, mean_squared_error)
from .regression_metrics import R2Score  # noqa: F401
from .loss_metrics import (CategoricalHinge, Hinge, KLDivergence, LogCoshError,  # noqa: F401
                           Poisson, SquaredHinge)
from .correlation_metrics import (ConcordanceCorrelation, CosineSimilarity,  # noqa: F401
                                  PearsonCorrelation, concordance_correlation,
                                  pearson_correlation)
from .count_metrics import (FalseNegatives, FalsePositives, PrecisionAtRecall,  # noqa: F401
                            RecallAtPrecision, SensitivityAtSpecificity,
                            SpecificityAtSensitivity, TrueNegatives, TruePositives)
from .f_score_metrics import F1Score, FBetaScore  # noqa: F401
from .iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: F401
from ..losses import (binary_crossentropy, categorical_crossentropy,  # noqa: F401,E402
                      mean_absolute_percentage_error, mean_squared_logarithmic_error,
                      sparse_categorical_crossentropy, binary_focal_crossentropy,
                      categorical_focal_crossentropy, categorical_hinge, hinge, huber,
                      kl_divergence, log_cosh, poisson, squared_hinge)

_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
            AUC, Precision, Recall, MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, R2Score, CategoricalHinge,
            Hinge, KLDivergence, LogCoshError, Poisson, SquaredHinge, ConcordanceCorrelation,
            CosineSimilarity, PearsonCorrelation, FalseNegatives, FalsePositives,
            PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
            SpecificityAtSensitivity, TrueNegatives, TruePositives, F1Score, FBetaScore,
            BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU)
_FUNCTIONS = (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
              mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
              binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
              binary_focal_crossentropy, categorical_focal_crossentropy, categorical_hinge, hinge,
              huber, kl_divergence, log_cosh, poisson, squared_hinge, concordance_correlation,
              pearson_correlation)

ALL_OBJECTS = {obj.__name__: obj for obj in _CLASSES + _FUNCTIONS}

# lower-case names and aliases -> the Metric class that keeps their running mean
_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "auc": AUC, "precision": Precision, "recall": Recall,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "poisson": Poisson,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity, "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation, "r2_score": R2Score,
}
_CLASS_NAMES = {cls.__name__: cls for cls in _CLASSES if cls not in (Metric, MeanMetricWrapper)}


_lookup = lookup  # one name lookup for every string-configurable namespace


def _loss_kind(loss):
    """'binary', 'categorical', 'sparse' for a cross-entropy loss (any form), else None."""
    if loss is None:
        return None, False
    from .. import losses
    if isinstance(loss, str):
        try:
            loss = losses.get(loss)
        except ValueError:
            return None, False
    fn = getattr(loss, "fn", loss)
    name = getattr(fn, "__name__", "")
    from_logits = bool(getattr(loss, "from_logits", False))
    if name in ("binary_crossentropy", "binary_focal_crossentropy"):
        return "binary", from_logits
    if name == "sparse_categorical_crossentropy":
        return "sparse", from_logits
    if name == "categorical_crossentropy":
        return "categorical", from_logits
    return None, from_logits


def _labels_are_indices(y_true, output_shape):
    if y_true is None or not output_shape:
        return False
    shape = tuple(getattr(y_true, "shape", ()))
    return len(shape) == len(output_shape) - 1 or (
        len(shape) == len(output_shape) and shape[-1:] == (1,) and output_shape[-1] != 1)


def _for_loss(identifier, loss, output_shape, y_true, crossentropy):
    """Resolve 'accuracy'/'acc' (or 'crossentropy'/'ce') for this loss and output."""
    kind, from_logits = _loss_kind(loss)
    if kind == "binary" or (output_shape and output_shape[-1] == 1):
        if crossentropy:
            return BinaryCrossentropy(name=identifier, from_logits=from_logits)
        # a logit above 0 is a probability above 0.5
        return BinaryAccuracy(name=identifier, threshold=0.0 if from_logits else 0.5)
    sparse = kind == "sparse" or _labels_are_indices(y_true, output_shape)
    if crossentropy:
        cls = SparseCategoricalCrossentropy if sparse else CategoricalCrossentropy
        return cls(name=identifier, from_logits=from_logits)
    return (SparseCategoricalAccuracy if sparse else CategoricalAccuracy)(name=identifier)


def get(identifier, loss=None, output_shape=None, y_true=None):
    """Resolve a metric to a ``Metric`` instance.

    'accuracy'/'acc' (and 'crossentropy'/'ce') follow Keras's rule: binary accuracy for a
    binary cross-entropy loss or an output whose last dimension is 1, sparse categorical
    accuracy for a sparse categorical cross-entropy loss or integer labels (``y_true``, or
    anything with its ``shape``, of lower rank than the output), categorical otherwise.
    Other names ('mse', 'mae', 'auc', 'MeanSquaredError', ...) name a metric class;
    functions become running means; classes are instantiated.

    Example:
        >>> type(get("accuracy", loss="binary_crossentropy")).__name__
        'BinaryAccuracy'
        >>> get("mse").name
        'mse'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return _for_loss(identifier, loss, output_shape, y_true, crossentropy=False)
        if identifier in ("crossentropy", "ce"):
            return _for_loss(identifier, loss, output_shape, y_true, crossentropy=True)
        if identifier in _CLASS_NAMES:
            return _CLASS_NAMES[identifier]()
        valid = dict(_BY_NAME, **_CLASS_NAMES, accuracy=None, acc=None)
        return _lookup("metric", valid, identifier)(name=identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def serialize(metric):
    """Keras's config layout for a built-in metric (by registered class name only)."""
    if not isinstance(metric, Metric) or type(metric).__name__ not in ALL_OBJECTS:
        raise ValueError(f"Cannot serialize {metric!r}: only built-in metrics are registered")
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config):
    """The metric a :func:`serialize` output (or a name) describes; never imports."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize metric from {config!r}")
    cls = _lookup("metric", ALL_OBJECTS, config["class_name"])
    if not (inspect.isclass(cls) and issubclass(cls, Metric)):
        return MeanMetricWrapper(cls)
    return cls.from_config(config.get("config") or {})
