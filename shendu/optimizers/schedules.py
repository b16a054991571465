"""Learning-rate schedules: functions of the optimizer's step count (Keras's formulas).

A schedule passed as an optimizer's ``learning_rate`` is called with
``optimizer.iterations`` before each step, so the first step uses ``schedule(0)``.
Calling a schedule with a scalar gives a float; with an array of steps, an array
(handy for plotting a schedule).

Example:
    >>> from shendu.optimizers import schedules
    >>> s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> s(0), s(10), s(20)
    (0.1, 0.05, 0.025)
"""
import math

import numpy as np

from ..autograd.tensor import Tensor


def _steps(step):
    if isinstance(step, Tensor):
        step = step.data
    return np.asarray(step, dtype=np.float64)


def _result(value, step):
    return float(value) if step.ndim == 0 else np.asarray(value, dtype=np.float64)


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _RateOverSteps(LearningRateSchedule):
    """Shared by the decays driven by ``step / decay_steps`` (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step):
        """(steps, step / decay_steps, floored when staircase)."""
        s = _steps(step)
        p = s / self.decay_steps
        return s, (np.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateOverSteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``, so the rate
    drops in steps every ``decay_steps`` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        s, p = self._progress(step)
        return _result(self.initial_learning_rate * np.power(self.decay_rate, p), s)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than boundaries.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        if any(b >= c for b, c in zip(boundaries[:-1], boundaries[1:])):
            raise ValueError(f"`boundaries` must be strictly increasing. Received: {boundaries}")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        s = _steps(step)
        # side="left" counts the boundaries strictly below the step: a step equal to a
        # boundary still belongs to the interval that the boundary closes.
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), s, side="left")
        return _result(np.asarray(self.values, dtype=np.float64)[index], s)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_RateOverSteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with
    ``staircase=True`` the ratio ``step / decay_steps`` is floored."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        s, p = self._progress(step)
        return _result(self.initial_learning_rate / (1.0 + self.decay_rate * p), s)


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``.

    The step is capped at ``decay_steps``; with ``cycle=True`` instead, ``decay_steps``
    grows to the first multiple of itself that is >= step (1 multiple at step 0).
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        s = _steps(step)
        if self.cycle:
            multiplier = np.where(s == 0, 1.0, np.ceil(s / self.decay_steps))
            decay_steps = self.decay_steps * multiplier
        else:
            decay_steps = float(self.decay_steps)
            s = np.minimum(s, decay_steps)
        p = s / decay_steps
        value = ((self.initial_learning_rate - self.end_learning_rate)
                 * np.power(1.0 - p, self.power) + self.end_learning_rate)
        return _result(value, s)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay (SGDR without restarts).

    Without ``warmup_target``: ``initial * ((1 - alpha) * c + alpha)`` with
    ``c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``.

    With ``warmup_target``: for ``step < warmup_steps`` the rate rises linearly,
    ``initial + (warmup_target - initial) * step / warmup_steps``; afterwards it decays
    as above from ``warmup_target``, using ``step - warmup_steps``, down to
    ``alpha * warmup_target`` after ``warmup_steps + decay_steps`` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, s, start):
        cosine = 0.5 * (1.0 + np.cos(math.pi * s / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        s = _steps(step)
        if self.warmup_target is None:
            return _result(self._decay(np.minimum(s, self.decay_steps),
                                       self.initial_learning_rate), s)
        s = np.minimum(s, self.decay_steps + self.warmup_steps)
        in_warmup = s < self.warmup_steps
        # max(..., 1) keeps the unused branch finite when warmup_steps is 0.
        warm = (self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate)
                * s / max(self.warmup_steps, 1))
        decayed = self._decay(s - self.warmup_steps, self.warmup_target)
        return _result(np.where(in_warmup, warm, decayed), s)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016).

    The first period lasts ``first_decay_steps``; each following one is ``t_mul`` times
    longer and starts ``m_mul`` times higher. Within period ``i`` at fraction ``f``:
    ``initial * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha)``.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        s = _steps(step)
        fraction = s / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            # Periods have lengths 1, t, t^2, ... (in units of first_decay_steps); the
            # restart index solves (t^i - 1) / (t - 1) <= fraction.
            restart = np.floor(np.log(1.0 - fraction * (1.0 - self.t_mul)) / np.log(self.t_mul))
            done = (1.0 - np.power(self.t_mul, restart)) / (1.0 - self.t_mul)
            fraction = (fraction - done) / np.power(self.t_mul, restart)
        cosine = 0.5 * np.power(self.m_mul, restart) * (1.0 + np.cos(math.pi * fraction))
        return _result(self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha), s)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_ALL = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay,
                                      PolynomialDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """``{"module", "class_name", "config", "registered_name"}`` as Keras writes it."""
    return {"module": "shendu.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None):
    """A schedule from ``serialize``'s dict, looked up among the built-in schedules and
    ``custom_objects`` only (the ``module`` entry is never imported)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret learning rate schedule config: {config!r}")
    name = config["class_name"]
    table = dict(_ALL)
    table.update(custom_objects or {})
    if name not in table:
        raise ValueError(f"Unknown learning rate schedule: '{name}'. "
                         f"Valid names: {', '.join(sorted(_ALL))}")
    return table[name].from_config(dict(config.get("config", {})))
