"""``Optimizer``: the base of every optimizer, with Keras 3's semantics.

One call of ``apply(grads, variables)`` is one training step:

1. drop the (gradient, variable) pairs whose gradient is None (those variables keep
   their value; the step fails only if no gradient at all is given),
2. divide by ``loss_scale_factor`` if set,
3. clip: ``clipnorm`` (each gradient on its own), else ``global_clipnorm`` (all
   gradients together), else ``clipvalue`` (element-wise); only one may be set,
4. decoupled weight decay: ``variable -= learning_rate * weight_decay * variable``,
5. the optimizer's own ``update_step`` for each variable,
6. each variable's ``constraint``, if it has one,
7. ``iterations += 1``.

The learning rate of a step is read once, before step 4: with a schedule it is
``schedule(iterations)``, so the first step uses ``schedule(0)``.

Updates are written into ``variable.data`` in place with NumPy; no autograd graph is
built and a float32 variable stays float32.
"""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..autograd.variable import Variable
from . import schedules as _schedules


def _as_number(value, argname):
    if isinstance(value, Tensor):
        value = value.data
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{argname}` should be a float, a LearningRateSchedule or "
                         f"a callable. Received: {argname}={value!r}") from None
    return _check_rate(number, argname)


def _check_rate(number, argname, source=None):
    """A step size must be finite and >= 0: NaN or Inf would turn every weight non-finite
    at the first step, and a negative one climbs the loss instead of descending it."""
    if not (math.isfinite(number) and number >= 0):
        origin = f" (returned by {source})" if source else ""
        raise ValueError(f"Argument `{argname}` must be a finite number >= 0. "
                         f"Received: {argname}={number}{origin}")
    return number


class Optimizer:
    """Base class: holds the learning rate, the step counter, clipping and weight decay.

    Subclasses implement ``build`` (create their slot arrays with
    ``add_optimizer_variables``), ``update_step`` and ``get_config``.

    Args:
        learning_rate: a float, a ``LearningRateSchedule``, or a callable with no
            arguments returning the rate.
        weight_decay: if set, decoupled weight decay
            ``w <- w - learning_rate * weight_decay * w`` before each update.
        clipnorm: clip each gradient to this L2 norm: ``g * clipnorm / max(||g||, clipnorm)``.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together so that their joint L2 norm is at
            most this: ``g * min(1, global_clipnorm / ||(g_1, ..., g_n)||)``.
        loss_scale_factor: gradients are divided by it before anything else.
        use_ema: keep an exponential moving average of the weights,
            ``avg = ema_momentum * avg + (1 - ema_momentum) * w`` after each step (the first
            step sets ``avg = w``); every ``ema_overwrite_frequency`` steps (if set) and at
            the end of ``fit`` the weights take its value (see ``callbacks.SwapEMAWeights``).
        ema_momentum: in [0, 1].
        ema_overwrite_frequency: an int >= 1 or None.
        gradient_accumulation_steps: accepted so that Keras configurations load; other
            values than None are not supported yet and raise NotImplementedError.
        name: the optimizer's name (defaults to the class name in lower case).

    Example:
        >>> import numpy as np, shendu
        >>> from shendu.optimizers import SGD
        >>> w = shendu.Variable(np.array([1.0, 2.0]))
        >>> opt = SGD(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        >>> w.numpy(), int(opt.iterations)
        (array([0.5, 2.5]), 1)
    """

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"{type(self).__name__}: argument(s) not recognized: {kwargs}")
        n_clip = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if n_clip > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency is not None and (
                    isinstance(ema_overwrite_frequency, bool)
                    or not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        if gradient_accumulation_steps:
            raise NotImplementedError(f"{type(self).__name__}: gradient_accumulation_steps is "
                                      f"not supported yet. Received: "
                                      f"gradient_accumulation_steps={gradient_accumulation_steps}")
        self.name = name if name is not None else type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps

        self.built = False
        self._iterations = Variable(np.array(0, dtype=np.int64), trainable=False,
                                    name="iteration")
        self._learning_rate = self._check_learning_rate(learning_rate)
        self._trainable_variables = []
        self._variable_index = {}        # id(variable) -> position in _trainable_variables
        self._state = {}                 # state name -> array, in creation order
        self._exclude_ids = set()
        self._exclude_names = ()

    # ---- learning rate and step counter ---------------------------------------------
    @staticmethod
    def _check_learning_rate(learning_rate):
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        return _as_number(learning_rate, "learning_rate")

    @property
    def iterations(self):
        """The number of steps applied so far (an int64 ``Variable``; ``int()`` reads it)."""
        return self._iterations

    @property
    def learning_rate(self):
        """The learning rate the next step will use, as a float."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, _schedules.LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` as its "
                            "`learning_rate`, hence its learning rate is not settable to a "
                            f"number (received {value!r}). Create the optimizer with a float "
                            "`learning_rate` if the rate must be settable.")
        self._learning_rate = _as_number(value, "learning_rate")

    def _current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return _check_rate(float(lr(int(self._iterations.data))), "learning_rate",
                               f"the schedule {type(lr).__name__} at step {int(self._iterations.data)}")
        if callable(lr):
            return _check_rate(float(lr()), "learning_rate", f"the callable {lr!r}")
        return lr

    # ---- slots ------------------------------------------------------------------------
    def build(self, variables):
        """Remember the variables this optimizer updates; subclasses add their slots here."""
        variables = list(variables)
        for i, v in enumerate(variables):
            self._variable_index[id(v)] = i
        self._trainable_variables = variables
        self.built = True
        if self.use_ema:
            # avg <- m * avg + (1 - m) * variable after each step (m = 0 on the first step).
            self._model_variables_moving_average = self.add_optimizer_variables(variables,
                                                                                "average")

    def _get_variable_index(self, variable):
        return self._variable_index[id(variable)]

    def add_variable(self, shape, initializer=0.0, dtype="float64", name=None):
        """A state array of the optimizer itself (not tied to one model variable)."""
        if name is None or name in self._state:
            raise ValueError(f"{type(self).__name__}: optimizer state needs a new unique name; "
                             f"received name={name!r}")
        array = np.full(shape, initializer, dtype=dtype)
        self._state[name] = array
        return array

    def add_variable_from_reference(self, reference_variable, name, initializer=0.0):
        """A slot array shaped and typed like ``reference_variable`` (e.g. a momentum).

        Its state name is ``"<index of the variable>/<name>"``: positions stay valid
        when a model is rebuilt and its weights get new automatic names.
        """
        key = f"{self._get_variable_index(reference_variable)}/{name}"
        return self.add_variable(reference_variable.shape, initializer,
                                 reference_variable.dtype, name=key)

    def add_optimizer_variables(self, variables, names, initializer=0.0):
        """Slots for every variable: a list per name (a tuple of lists if ``names`` is a list).

        Slots are created variable by variable, so the state lists all the slots of
        variable 0, then those of variable 1, and so on (Keras's order).
        """
        single = isinstance(names, str)
        names = [names] if single else list(names)
        out = tuple([] for _ in names)
        for v in variables:
            for lst, name in zip(out, names):
                lst.append(self.add_variable_from_reference(v, name, initializer))
        return out[0] if single else out

    @property
    def variables(self):
        """The state arrays in ``get_state()`` order: live views of the step counter and
        the slots (the ``learning_rate`` entry is a copy of the current rate)."""
        return list(self._all_state().values())

    def _all_state(self):
        state = {"iterations": self._iterations.data}
        if not callable(self._learning_rate):
            state["learning_rate"] = np.array(self._learning_rate, dtype=np.float64)
        state.update(self._state)
        return state

    def get_state(self):
        """A copy of the optimizer's state as ``{name: ndarray}`` for checkpoints.

        Order: ``iterations``, ``learning_rate`` (when it is a number, not a schedule),
        then the slots of each built variable in turn (``"0/momentum"``,
        ``"0/velocity"``, ``"1/momentum"``, ...), then optimizer-wide state.
        """
        return {k: np.array(v, copy=True) for k, v in self._all_state().items()}

    def set_state(self, state):
        """Restore what ``get_state`` returned; the optimizer must be built on the same
        variables (``optimizer.build(variables)``) first. Values are copied in place."""
        own = self._all_state()
        if not self.built and set(state) - {"iterations", "learning_rate"}:
            raise ValueError(f"Optimizer '{self.name}' is not built: call "
                             "`optimizer.build(variables)` before `set_state()`.")
        missing = [k for k in own if k not in state and k != "learning_rate"]
        unknown = [k for k in state if k not in own and k != "learning_rate"]
        if missing or unknown:
            raise ValueError(f"Optimizer '{self.name}': the state does not match this "
                             f"optimizer. Missing: {missing}; unexpected: {unknown}")
        for key, value in state.items():
            value = np.asarray(value)
            if key == "learning_rate":
                if not isinstance(self._learning_rate, _schedules.LearningRateSchedule):
                    self._learning_rate = _check_rate(float(value), "learning_rate",
                                                      "the saved optimizer state")
                continue
            if value.shape != own[key].shape:
                raise ValueError(f"Optimizer '{self.name}': state '{key}' has shape "
                                 f"{own[key].shape}; received shape {value.shape}")
            own[key][...] = value

    # ---- applying gradients -----------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """``apply`` for a list of ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, variables=None):
        """One optimization step (see the module docstring for its stages).

        Args:
            grads: arrays or Tensors, one per variable; None leaves that variable as is.
            variables: the variables, updated in place. May be left out once built:
                the gradients then match the built variables one to one. A variable
                not seen before joins the optimizer with fresh slots.
        """
        grads = list(grads)
        if not grads:
            return
        if variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built: call `optimizer.build(variables)` first.")
            variables = self._trainable_variables
        else:
            variables = list(variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(f"Optimizer '{self.name}': received {len(grads)} gradients for "
                             f"{len(variables)} variables.")
        self._add_new_variables(variables)

        kept_g, kept_v, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "name", None))
            else:
                kept_g.append(self._own_gradient(g, v))
                kept_v.append(v)
        if not kept_g:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss; they are left unchanged.", stacklevel=2)

        with no_grad():
            if self.loss_scale_factor is not None:
                for g in kept_g:
                    g /= self.loss_scale_factor
            kept_g = self._clip_gradients(kept_g)
            lr = self._current_learning_rate()
            self._apply_weight_decay(kept_v, lr)
            self._update_step_all(kept_g, kept_v, lr)
            for v in kept_v:
                constraint = getattr(v, "constraint", None)
                if constraint is not None:
                    v.data[...] = np.asarray(_data(constraint(v)), dtype=v.data.dtype)
                # Updated in place: a graph that saved the old values refuses to backpropagate.
                v._version += 1
            if self.use_ema:
                self._update_model_variables_moving_average()
                if self.ema_overwrite_frequency and \
                        (int(self._iterations.data) + 1) % self.ema_overwrite_frequency == 0:
                    self._overwrite_model_variables_with_average_value(self._trainable_variables)
        self._iterations.data += 1

    # ---- exponential moving average of the weights (use_ema=True) ---------------------
    def _update_model_variables_moving_average(self):
        momentum = self.ema_momentum if int(self._iterations.data) != 0 else 0.0
        for v, average in zip(self._trainable_variables, self._model_variables_moving_average):
            average *= momentum
            average += (1.0 - momentum) * v.data

    def _overwrite_model_variables_with_average_value(self, variables):
        variables = list(variables)
        averages = self._model_variables_moving_average
        if len(variables) != len(averages):
            raise ValueError(f"The length of model variables ({len(variables)}) to override does "
                             "not match the length of model variables stored in the optimizer "
                             f"({len(averages)}). Please check if the optimizer was called on "
                             "your model.")
        for v, average in zip(variables, averages):
            v.data[...] = average
            v._version += 1

    def finalize_variable_values(self, var_list):
        """End of training: with ``use_ema``, the variables take their moving averages
        (``fit`` calls this after its last epoch, as Keras does)."""
        if self.use_ema and self.built:
            self._overwrite_model_variables_with_average_value(var_list)

    def _own_gradient(self, g, variable):
        # A private copy in the variable's dtype: update steps use it as scratch space,
        # and the caller's gradient array must not change.
        g = np.array(_data(g), dtype=variable.data.dtype, copy=True)
        if g.shape != variable.data.shape:
            raise ValueError(f"Optimizer '{self.name}': gradient of shape {g.shape} for "
                             f"variable '{getattr(variable, 'name', None)}' of shape "
                             f"{variable.data.shape}")
        return g

    def _add_new_variables(self, variables):
        """Variables this optimizer has not seen join it with fresh slots.

        A layer built after the first step, or a new head put on a base this optimizer
        trained, brings such variables (Keras refuses them; we keep training). The slots
        are rebuilt in the order of ``variables`` followed by the known variables it
        lacks, so an optimizer fed ``model.trainable_weights`` keeps the model's order,
        the order in which a checkpoint stores the slots; every known slot keeps its
        values, and so does optimizer-wide state.
        """
        if all(id(v) in self._variable_index for v in variables):
            return
        order, seen = [], set()
        for v in list(variables) + self._trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                order.append(v)
        known = {}
        for key, array in self._state.items():
            known[self._slot_owner(key, self._trainable_variables)] = array
        self._state, self._variable_index, self.built = {}, {}, False
        self.build(order)
        for key, array in self._state.items():
            previous = known.get(self._slot_owner(key, order))
            if previous is not None:
                array[...] = previous

    @staticmethod
    def _slot_owner(key, variables):
        """(id of the variable, slot name) for a slot key "<index>/<name>"; the key itself
        for optimizer-wide state."""
        index, sep, name = key.partition("/")
        return (id(variables[int(index)]), name) if sep and index.isdigit() else key

    def _update_step_all(self, grads, variables, learning_rate):
        # A hook for optimizer-wide state that advances once per step (Nadam).
        for g, v in zip(grads, variables):
            self.update_step(g, v, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable.data`` in place. ``gradient`` is a private array of the
        variable's dtype, free to be overwritten."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step()")

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            for g in grads:
                norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
                if norm > self.clipnorm:
                    g *= self.clipnorm / norm
        elif self.global_clipnorm and self.global_clipnorm > 0:
            norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))
            # A non-finite norm makes every gradient NaN, as in Keras: the step is then
            # visibly broken instead of silently scaled to zero.
            scale = min(1.0, self.global_clipnorm / norm) if np.isfinite(norm) else np.nan
            if scale != 1.0:
                for g in grads:
                    g *= scale
        elif self.clipvalue and self.clipvalue > 0:
            for g in grads:
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        return grads

    # ---- weight decay -----------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables from weight decay: these objects, or any variable whose name
        contains one of ``var_names`` (e.g. ``["bias"]``). Call before the first step."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before "
                             "the optimizer is built.")
        self._exclude_ids = {id(v) for v in (var_list or ())}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        name = getattr(variable, "name", None) or ""
        return not any(s in name for s in self._exclude_names)

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay is None:
            return
        factor = 1.0 - learning_rate * self.weight_decay
        for v in variables:
            if self._use_weight_decay(v):
                v.data *= factor

    # ---- PyTorch-style loop -------------------------------------------------------------
    def step(self, variables=None):
        """Apply each variable's ``.grad`` (PyTorch style); variables without one are
        skipped, and if none has one the call does nothing.

        Args:
            variables: the variables to update; defaults to those the optimizer was built on.
        """
        variables = self._default_variables(variables)
        if not self.built:
            self.build(variables)
        grads = [v.grad for v in variables]
        if all(g is None for g in grads):
            return
        with warnings.catch_warnings():
            # Frozen parameters without a gradient are normal in this style of loop.
            warnings.simplefilter("ignore", UserWarning)
            self.apply(grads, variables)

    def zero_grad(self, variables=None):
        """Forget the variables' gradients (``.grad = None``) before the next backward."""
        for v in self._default_variables(variables):
            v.grad = None

    def _default_variables(self, variables):
        if variables is not None:
            return list(variables)
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' is not built: pass the variables, "
                             "e.g. `optimizer.step(model.trainable_weights)`.")
        return self._trainable_variables

    # ---- configuration ------------------------------------------------------------------
    def get_config(self):
        """Every constructor argument, JSON-friendly (a schedule becomes a nested dict)."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif callable(lr):
            # A plain callable cannot be written down; record its current value.
            lr = float(lr())
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"],
                                                             custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} learning_rate={self.learning_rate:g}>"


def _data(x):
    return x.data if isinstance(x, Tensor) else x
