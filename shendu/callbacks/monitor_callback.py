"""``MonitorCallback``: shared logic for callbacks that watch one logged quantity."""
import warnings

import numpy as np

from .callback import Callback

# Used when the model's metrics cannot say which way is better; these are the
# Keras metric names whose direction is "up".
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2",
                     "specificity", "sensitivity")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "mse", "mae", "mape", "msle", "hinge",
                    "kl_divergence", "poisson", "log_cosh", "logcosh")


def infer_direction(monitor, model=None):
    """``"max"`` or ``"min"`` for a monitored name, or None if it cannot be told.

    ``loss`` (and ``*_loss``) is minimised; otherwise a model metric with that
    name decides through its ``_direction`` ("up" or "down"), then the name
    itself (``accuracy`` up, ``mae`` down).
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for metric in _flat_metrics(model):
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if any(word in lowered for word in _HIGHER_IS_BETTER):
        return "max"
    if any(word in lowered for word in _LOWER_IS_BETTER):
        return "min"
    return None


def _flat_metrics(model):
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # an unbuilt model may refuse to list its metrics
        return []
    flat = []
    for m in metrics:
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            flat.extend(inner)
        flat.append(m)
    return flat


def check_mode(callback_name, mode):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{callback_name} mode '{mode}' is unknown (expected 'auto', 'min' or "
                      "'max'); falling back to 'auto'.", stacklevel=3)
        return "auto"
    return mode


class MonitorCallback(Callback):
    """Base for callbacks that track the best value of ``logs[monitor]``.

    Args:
        monitor: the log key to watch, e.g. ``"val_loss"``.
        mode: ``"min"``, ``"max"``, or ``"auto"`` to infer it from the name.
        baseline: the starting "best" value, or None for +/-inf.
        min_delta: an improvement must beat the best by more than this.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        self.monitor = monitor
        self.mode = check_mode(type(self).__name__, mode)
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.best = baseline
        self.monitor_op = None

    def _set_monitor_op(self):
        """Pick the direction; done lazily, once the model's metrics exist."""
        direction = self.mode if self.mode != "auto" else infer_direction(self.monitor,
                                                                          self.model)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} received monitor={self.monitor!r}, but cannot tell "
                "whether that metric should be maximized or minimized. Pass mode='max' to "
                "use the highest value, or mode='min' to use the lowest.")
        self.monitor_op = np.greater if direction == "max" else np.less
        if self.best is None:
            self.best = -np.inf if direction == "max" else np.inf

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.monitor_op is np.greater:
            return bool(value - self.min_delta > reference)
        return bool(value + self.min_delta < reference)

    def _monitor_value(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{what} conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=3)
        return value
