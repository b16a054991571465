"""Keras's ``keras.mixed_precision``: dtype policies and ``LossScaleOptimizer``.

A policy names the dtype of a layer's weights (``variable_dtype``) and of its computation
(``compute_dtype``): ``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"``, or the
mixed policies ``"mixed_float16"`` and ``"mixed_bfloat16"`` (float32 weights, 16-bit
computation). ``set_global_policy`` sets the policy of the layers made after it.

What shendu runs: the policy's ``variable_dtype``. Layers made under ``"float64"`` keep
and compute in float64. Under a mixed policy the weights are float32, as in Keras, and
the computation is float32 too: on a CPU, NumPy's float16 arithmetic is emulated (slower
than float32, not faster) and NumPy has no bfloat16 arithmetic, so 16-bit computation
would cost time and precision for nothing. The policy object still reports Keras's
values (``compute_dtype == "float16"``), while a layer's ``compute_dtype`` says what it
computes in; ``set_global_policy`` warns once about this. Keras programs that call
``set_global_policy("mixed_float16")`` and wrap their optimizer in
``LossScaleOptimizer`` run unchanged, with float32 results.

    >>> import shendu as keras
    >>> keras.mixed_precision.set_global_policy("float64")
    >>> keras.layers.Dense(2).dtype
    'float64'
    >>> keras.mixed_precision.set_global_policy("float32")
"""
import warnings

import numpy as np

from . import config as _config

_FLOATS = ("float16", "float32", "float64", "bfloat16")
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class DTypePolicy:
    """A dtype policy: ``DTypePolicy("mixed_float16")``.

    Args:
        name: ``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"``,
            ``"mixed_float16"``, ``"mixed_bfloat16"``, or any other dtype name (an integer
            dtype for layers such as ``Embedding`` inputs); None means ``floatx()``.

    Attributes:
        name, compute_dtype, variable_dtype: Keras's values for the policy.
        quantization_mode: None (shendu has no quantized policies).
    """

    def __init__(self, name=None):
        if name is None:
            name = _config.floatx()
        if not isinstance(name, str):
            raise TypeError("'name' must be a string, such as 'mixed_float16'. "
                            f"Received: name={name} (of type {type(name)})")
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        else:
            try:
                dtype = "bfloat16" if name == "bfloat16" else np.dtype(name).name
            except TypeError:
                dtype = None
            if dtype != name or np.dtype(dtype if dtype != "bfloat16" else "float32").kind \
                    not in "fiub":
                raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. "
                                 "Valid policies include 'mixed_float16', 'mixed_bfloat16', and "
                                 "the name of any float dtype such as 'float32'.")
            compute = variable = name
        self._name, self._compute_dtype, self._variable_dtype = name, compute, variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def quantization_mode(self):
        return None

    @property
    def runs_in(self):
        """The dtype shendu computes in under this policy (see the module docstring)."""
        return self._variable_dtype if self._name in _MIXED else self._compute_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy  # Keras's older name


class FloatDTypePolicy(DTypePolicy):
    """Keras's name for a policy of float dtypes: the same as ``DTypePolicy``."""


def _as_policy(policy, fn):
    if isinstance(policy, DTypePolicy):
        return policy
    if isinstance(policy, str):
        return DTypePolicy(policy)
    raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                     f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy!r} "
                     f"(of type {type(policy)})")


def set_dtype_policy(policy):
    """Set the global policy: layers made afterwards (with ``dtype=None``) follow it."""
    policy = _as_policy(policy, "set_dtype_policy")
    if policy.name in _MIXED and not _config._DTYPE_POLICY_WARNED:
        _config._DTYPE_POLICY_WARNED = True
        warnings.warn(f"shendu runs the '{policy.name}' policy with float32 weights and float32 "
                      "computation: on the CPU 16-bit arithmetic is slower than float32 in "
                      "NumPy, not faster. Results are float32.", stacklevel=2)
    _config._DTYPE_POLICY = policy.name


set_global_policy = set_dtype_policy


def dtype_policy():
    """The global policy (``DTypePolicy(floatx())`` unless one was set)."""
    return DTypePolicy(_config._DTYPE_POLICY)


global_policy = dtype_policy


def layer_dtype(dtype):
    """The dtype a layer keeps its weights and computes in, for its ``dtype`` argument: None
    (the global policy), a dtype, a policy name or a ``DTypePolicy``; see the module
    docstring for mixed policies."""
    if dtype is None:
        return dtype_policy().runs_in
    if isinstance(dtype, DTypePolicy):
        return dtype.runs_in
    if isinstance(dtype, dict) and dtype.get("class_name") in ("DTypePolicy", "Policy"):
        return DTypePolicy(**dtype.get("config", {})).runs_in
    if isinstance(dtype, str) and dtype in _MIXED:
        return "float32"
    return np.dtype(dtype).name


class LossScaleOptimizer:
    """Keras's loss-scaling wrapper: ``LossScaleOptimizer(inner_optimizer, initial_scale=2**15,
    dynamic_growth_steps=2000)``.

    The loss is multiplied by ``dynamic_scale`` before backpropagation (``scale_loss``; the
    trainer does it) and the gradients divided by it again in ``apply``. A step whose
    gradients are not all finite is skipped and the scale halved; after
    ``dynamic_growth_steps`` finite steps in a row the scale doubles. Everything else
    (``learning_rate``, ``iterations``, the optimizer state) is the inner optimizer's.
    Under shendu's float32 computation the scaling cancels out exactly for power-of-two
    scales, so results equal the inner optimizer's, overflow steps apart.
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        from .optimizers import Optimizer, get
        if kwargs:
            raise ValueError(f"LossScaleOptimizer: argument(s) not recognized: {kwargs}")
        inner = get(inner_optimizer)
        if not isinstance(inner, Optimizer):
            raise ValueError("LossScaleOptimizer: `inner_optimizer` must be an Optimizer. "
                             f"Received: inner_optimizer={inner_optimizer!r}")
        if not initial_scale > 0:
            raise ValueError("LossScaleOptimizer: `initial_scale` must be positive. "
                             f"Received: initial_scale={initial_scale}")
        if int(dynamic_growth_steps) < 1:
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be >= 1. "
                             f"Received: dynamic_growth_steps={dynamic_growth_steps}")
        object.__setattr__(self, "inner_optimizer", inner)
        object.__setattr__(self, "initial_scale", float(initial_scale))
        object.__setattr__(self, "dynamic_growth_steps", int(dynamic_growth_steps))
        object.__setattr__(self, "dynamic_scale", float(initial_scale))
        object.__setattr__(self, "_finite_steps", 0)
        object.__setattr__(self, "name", name or "loss_scale_optimizer")

    # The inner optimizer's attributes (learning_rate, iterations, built, variables, ...)
    def __getattr__(self, name):
        return getattr(self.inner_optimizer, name)

    def __setattr__(self, name, value):
        if name in ("dynamic_scale", "_finite_steps", "name"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner_optimizer, name, value)

    def scale_loss(self, loss):
        """``loss * dynamic_scale``: backpropagate this, then call ``apply``."""
        return loss * self.dynamic_scale

    def apply(self, grads, variables=None):
        """Unscale the gradients; apply them if all are finite, else skip and halve the scale."""
        grads = list(grads)
        unscaled = [None if g is None else np.asarray(getattr(g, "data", g)) / self.dynamic_scale
                    for g in grads]
        if all(g is None or np.all(np.isfinite(g)) for g in unscaled):
            self.inner_optimizer.apply(unscaled, variables)
            self._finite_steps += 1
            if self._finite_steps >= self.dynamic_growth_steps:
                self.dynamic_scale *= 2.0
                self._finite_steps = 0
        else:
            self.dynamic_scale = max(self.dynamic_scale / 2.0, 1.0)
            self._finite_steps = 0

    def apply_gradients(self, grads_and_vars):
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self.inner_optimizer.iterations

    def step(self, variables=None):
        """PyTorch style: apply the ``.grad`` of each variable (after ``scale_loss(loss).backward()``)."""
        variables = list(variables if variables is not None else self.inner_optimizer.variables)
        self.apply([v.grad for v in variables], variables)

    def get_config(self):
        from .optimizers import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .optimizers import deserialize
        config = dict(config)
        config["inner_optimizer"] = deserialize(config["inner_optimizer"])
        return cls(**config)
