"""``Trainer``: compile / fit / evaluate / predict, one loop for every model kind.

A training step, spelled out:
    y_pred = model(x, training=True)          # forward, recording the graph
    loss   = sum_k w_k loss_k(y_k, y_pred_k) + regularization
    loss.backward()                           # gradients of every trainable weight
    optimizer.apply(grads, weights)           # update in place
When an output comes straight out of a softmax (or sigmoid) and its loss is the
matching cross-entropy, the loss is computed from the logits instead, through
the fused, numerically stable op (the probabilities are still what metrics see).
"""
import contextlib

import numpy as np

from .. import config as _config
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from ..autograd.grad_mode import no_grad
from ..kernels.threads import owning_cores
from ..autograd.tensor import Tensor
from ..layers.layer import Layer, _flatten
from . import checks as _checks
from . import resume as _resume
from .data_adapters import (_take, flatten_arrays, make_adapter, split_validation, unpack,
                            warn_ran_out)
from .strategy import get_strategy


class Trainer:
    # compile's switches, as Keras has them before compile (see compile)
    jit_compile, run_eagerly, steps_per_execution = True, False, 1

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._metrics_built = False

    # ---- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, distribute=None):
        """Configure training: an optimizer, a loss per output, and metrics.

        Args:
            optimizer: name ('adam'), class or instance.
            loss: name, function or Loss; for several outputs a list or a dict keyed by
                output name (or one loss for all).
            loss_weights: list or dict of per-output scalar weights.
            metrics: list (or dict/list of lists per output) of names, functions or Metrics.
            distribute: a strategy such as ``shendu.distributed.DataParallel()`` that fit
                and evaluate use (as they do inside ``with strategy:``).
            jit_compile: ``"auto"`` (the default) or True: the model runs the fusion plan
                of shendu/fusion.py (runs of built-in layers such as Conv2D -> MaxPooling2D
                as one op), shendu's counterpart of Keras's XLA compilation; False: every
                layer runs its own ``call``. ``model.jit_compile`` holds the result.
            run_eagerly: every step runs eagerly here (there is no graph to trace); True
                also turns ``jit_compile`` off, as Keras does (with a warning if both
                were asked for).
            steps_per_execution: a positive int, kept as ``model.steps_per_execution``.
                Keras runs that many batches per call of its compiled step; here each
                batch is one step and every callback runs per batch, so it has no effect.
        """
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"compile: `jit_compile` must be True, False or 'auto'. "
                             f"Received: jit_compile={jit_compile!r}")
        spe = steps_per_execution
        if isinstance(spe, bool) or not isinstance(spe, (int, np.integer)) or spe < 1:
            raise ValueError(f"compile: `steps_per_execution` must be a positive integer. "
                             f"Received: steps_per_execution={steps_per_execution!r}")
        if jit_compile is True and run_eagerly:
            import warnings
            warnings.warn("compile: if `run_eagerly` is True, `jit_compile` cannot also be "
                          "True; disabling `jit_compile`.", stacklevel=2)
        self.jit_compile = jit_compile is not False and not run_eagerly
        self.run_eagerly, self.steps_per_execution = bool(run_eagerly), int(steps_per_execution)
        self._fusion_plan = None  # planned again for these settings (shendu/fusion.py)
        self.optimizer = _optimizers.get(optimizer)
        self._distribute = distribute
        self._loss_arg, self._loss_weights_arg = loss, loss_weights
        self._metrics_arg, self._weighted_metrics_arg = metrics, weighted_metrics
        self._loss_fns = None  # resolved on first data, when the outputs are known
        for item in (loss.values() if isinstance(loss, dict) else
                     loss if isinstance(loss, (list, tuple)) else [loss]):
            _losses.get(item)  # an unknown name fails here, before any data is seen
        self._metrics_built = False
        self.compiled = True

    def _require_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before {method}(): "
                               f"model.compile(optimizer='adam', loss='...', metrics=[...])")

    def _output_names(self, n):
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return [f"output_{i}" for i in range(n)] if n > 1 else ["output"]

    def _resolve_losses(self, n_outputs):
        names = self._output_names(n_outputs)
        spec = self._loss_arg
        if spec is None:
            raise ValueError("compile() was called without a `loss`; fit and evaluate need one")
        if isinstance(spec, dict):
            unknown = set(spec) - set(names)
            if unknown:
                raise ValueError(f"Loss dict has keys {sorted(unknown)} that are not model outputs {names}")
            fns = [_losses.get(spec[n]) if n in spec else None for n in names]
        elif isinstance(spec, (list, tuple)):
            if len(spec) != n_outputs:
                raise ValueError(f"compile(loss=...) got a list of {len(spec)} losses for a model "
                                 f"with {n_outputs} outputs {names}")
            fns = [_losses.get(s) for s in spec]
        else:
            fns = [_losses.get(spec)] * n_outputs
        w = self._loss_weights_arg
        if w is None:
            weights = [1.0] * n_outputs
        elif isinstance(w, dict):
            weights = [float(w.get(n, 1.0)) for n in names]
        else:
            if len(w) != n_outputs:
                raise ValueError(f"loss_weights has {len(w)} entries for {n_outputs} outputs")
            weights = [float(v) for v in w]
        fused = [_losses.fused_logits_loss(f) if f is not None else None for f in fns]
        self._loss_fns = [_as_loss_object(f) for f in fns]
        self._fused = [_as_loss_object(f, activation=getattr(f, "logits_activation", None)) for f in fused]
        self._loss_weights = weights

    def _build_metrics(self, y_true_flat, y_pred_flat):
        n = len(y_pred_flat)
        names = self._output_names(n)
        spec = self._metrics_arg
        per_output = [[] for _ in range(n)]
        if spec:
            if isinstance(spec, dict):
                for i, name in enumerate(names):
                    s = spec.get(name, [])
                    per_output[i] = list(s) if isinstance(s, (list, tuple)) else [s]
            elif n > 1 and all(isinstance(s, (list, tuple)) or s is None for s in spec):
                per_output = [list(s or []) for s in spec]
            else:
                per_output = [list(spec) for _ in range(n)]
        self._compiled_metrics = []
        for i, items in enumerate(per_output):
            for item in items:
                m = _metrics.get(item, loss=self._loss_fns[i] if self._loss_fns else None,
                                 output_shape=y_pred_flat[i].shape, y_true=y_true_flat[i])
                prefix = f"{names[i]}_" if n > 1 else ""
                self._compiled_metrics.append((i, prefix + m.name, m))
        self._loss_tracker = _metrics.Mean(name="loss")
        self._output_loss_trackers = [_metrics.Mean(name=f"{nm}_loss") for nm in names] if n > 1 else []
        self._metrics_built = True

    @property
    def metrics(self):
        """The loss tracker and compiled metrics (once built by the first batch), then the
        Metric objects the model holds as attributes (``self.tracker = Mean()``), as Keras:
        all are reset at each epoch and reported in the logs."""
        if not self._metrics_built:
            return self._tracked_metrics()
        return [self._loss_tracker] + [m for _, _, m in self._compiled_metrics] + \
            self._tracked_metrics()

    def _tracked_metrics(self):
        own = [getattr(self, "_loss_tracker", None)] + getattr(self, "_output_loss_trackers", []) \
            + [m for _, _, m in getattr(self, "_compiled_metrics", [])]
        return [m for m in Layer.metrics.fget(self) if not any(m is o for o in own)]

    @property
    def metrics_names(self):
        if not self._metrics_built:
            return [m.name for m in self._tracked_metrics()]
        return ["loss"] + [name for _, name, _ in self._compiled_metrics] + \
            [m.name for m in self._tracked_metrics()]

    def reset_metrics(self):
        for m in self.metrics + getattr(self, "_output_loss_trackers", []):
            m.reset_state()

    def _logs(self):
        logs = {name: float(m.result()) for _, name, m in self._compiled_metrics}
        logs["loss"] = float(self._loss_tracker.result())
        for t in self._output_loss_trackers:
            logs[t.name] = float(t.result())
        for m in self._tracked_metrics():
            logs[m.name] = float(m.result())
        return logs

    # ---- one step ---------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss, a scalar Tensor (Keras's contract): the weighted per-output
        losses of ``compile`` plus the layers' losses (``model.losses``). A custom
        ``train_step`` calls it and then ``loss.backward()``."""
        y_true_flat = flatten_arrays(y) if isinstance(y, (list, dict)) else [y]
        y_pred_flat = _flatten(y_pred)
        if self._loss_fns is None:
            self._resolve_losses(len(y_pred_flat))
        if len(y_true_flat) != len(y_pred_flat):
            raise ValueError(f"The model has {len(y_pred_flat)} outputs but {len(y_true_flat)} "
                             "targets were given")
        if not self._metrics_built:  # (so that a custom train_step finds self.metrics)
            self._flat_outputs(y, y_pred)
        total, parts = None, []
        for i, (yt, yp) in enumerate(zip(y_true_flat, y_pred_flat)):
            fn = self._loss_fns[i]
            if fn is None:
                parts.append(None)
                continue
            logits = _logits_of(yp, self._fused[i])
            value = self._fused[i](yt, logits, sample_weight=sample_weight) if logits is not None \
                else fn(yt, yp, sample_weight=sample_weight)
            parts.append(value)
            value = value * self._loss_weights[i] if self._loss_weights[i] != 1.0 else value
            total = value if total is None else total + value
        reg = self.losses
        if reg:
            for r in reg:
                total = total + r
            self._clear_activity_losses()
        self._loss_parts = parts  # per output, for the per-output loss trackers
        return total

    def _clear_activity_losses(self):
        self._clear_losses()  # (they are in the loss: let their graphs go now)

    def train_step(self, data):
        """One optimizer step on a batch, ``data`` = ``(x, y)`` or ``(x, y, sample_weight)``;
        returns the logs. Override it to change what ``fit`` does, as in Keras (PyTorch
        backend): ``self(x, training=True)``, ``self.compute_loss(...)``,
        ``loss.backward()``, ``self.optimizer.apply(grads, weights)``,
        ``self.compute_metrics(...)``; see examples/custom_train_step.py."""
        x, y, sample_weight = unpack(data)
        for v in self.trainable_weights:
            v.grad = None
        y_pred = self(x, training=True)
        # Read after the forward pass: a layer built lazily by it has its weights now.
        variables = self.trainable_weights
        y_flat, y_pred_flat = self._flat_outputs(y, y_pred)
        self._loss_parts = []
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        parts = self._loss_parts
        # A LossScaleOptimizer scales the loss here and unscales the gradients in apply.
        scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        with get_strategy(self).synchronize_gradients(variables):
            scaled.backward()
        grads = [v.grad for v in variables]
        self.optimizer.apply(grads, variables)  # (it also applies the weights' constraints)
        self._update_metrics(loss, parts, y_flat, y_pred_flat, sample_weight)
        return self._logs()

    def test_step(self, data):
        """Loss and metrics of one batch ``data`` (as ``train_step``'s), without training."""
        x, y, sample_weight = unpack(data)
        with no_grad():
            y_pred = self(x, training=False)
            y_flat, y_pred_flat = self._flat_outputs(y, y_pred)
            self._loss_parts = []
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._update_metrics(loss, self._loss_parts, y_flat, y_pred_flat, sample_weight)
        return self._logs()

    def predict_step(self, data):
        """The model's outputs for one batch ``data`` (``x`` or ``(x,)``); ``predict`` calls it."""
        x, _, _ = unpack(data)
        return self(x, training=False)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch and return ``get_metrics_result()``.
        (The loss tracker, ``self.metrics[0]``, is the caller's to update, as in Keras.)"""
        y_flat, y_pred_flat = self._flat_outputs(y, y_pred)
        for i, _, m in self._compiled_metrics:
            m.update_state(y_flat[i], y_pred_flat[i].data, sample_weight=sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: value}`` of the loss tracker and every compiled metric: a step's logs."""
        return self._logs()

    def zero_grad(self):
        """Clear the gradients of the trainable weights (before a custom step's backward)."""
        for v in self.trainable_weights:
            v.grad = None

    def _flat_outputs(self, y, y_pred):
        """(targets, predictions) as flat lists; the losses and metrics are built on the first."""
        y_pred_flat = _flatten(y_pred)
        y_flat = flatten_arrays(y) if isinstance(y, (list, dict)) else [y]
        if not self._metrics_built:
            if self._loss_fns is None:
                self._resolve_losses(len(y_pred_flat))
            self._build_metrics(y_flat, y_pred_flat)
            self._probe_metrics(y_flat, y_pred_flat)
        return y_flat, y_pred_flat

    def _probe_metrics(self, y_flat, y_pred_flat):
        """Feed each new metric the first batch, then reset it: a metric that cannot compare
        the targets with the outputs fails here, naming itself, before any weight changes."""
        names = self._output_names(len(y_pred_flat))
        for i, name, m in self._compiled_metrics:
            yt, yp = y_flat[i], y_pred_flat[i].data
            try:
                m.update_state(yt, yp)
            except ValueError as err:
                raise ValueError(f"Metric '{name}' ({type(m).__name__}) of output '{names[i]}' "
                                 f"cannot compare targets of shape {np.shape(_checks.as_array(yt))} "
                                 f"with predictions of shape {yp.shape}; give the output targets "
                                 f"it can read, or choose another metric") from err
            m.reset_state()

    def _update_metrics(self, loss, parts, y_flat, y_pred_flat, sample_weight):
        n = len(flatten_arrays(y_flat[0])[0]) if y_flat and y_flat[0] is not None else 1
        self._loss_tracker.update_state(float(loss.data), sample_weight=n)
        for tracker, part in zip(self._output_loss_trackers, parts):
            if part is not None:
                tracker.update_state(float(part.data), sample_weight=n)
        for i, _, m in self._compiled_metrics:
            m.update_state(y_flat[i], y_pred_flat[i].data, sample_weight=sample_weight)

    # ---- fit / evaluate / predict -------------------------------------------------------
    @contextlib.contextmanager
    def _owning_cores(self):
        """One step with the cores owned by shendu (kernels/threads.py), unless an earlier
        step of this model showed that none of its ops splits its work."""
        with owning_cores(getattr(self, "_steps_split", True)) as own:
            yield
        if own.owned:  # (a step without the cores, e.g. on one thread, teaches nothing)
            self._steps_split = own.asked

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History`` (``history.history[name]``)."""
        from ..callbacks import CallbackList
        self._require_compiled("fit")
        verbose = _checks.check_fit_arguments(epochs, initial_epoch, batch_size, validation_batch_size,
                                              steps_per_epoch, validation_steps, validation_freq,
                                              shuffle, verbose)
        _checks.require_data(x, y, "fit", needs_y=self._loss_arg is not None)
        x = _checks.standardize_inputs(self, x, "fit")
        y = _checks.standardize_targets(self, y, "fit")
        epochs = _config.capped_epochs(epochs)  # keras.config.set_max_epochs, for debugging
        if validation_split and validation_data is None:
            if not isinstance(x, (np.ndarray, Tensor, list, dict)):
                raise ValueError("validation_split only works with array inputs; pass validation_data "
                                 "for generators and datasets")
            (x, y, sample_weight), validation_data = split_validation(x, y, sample_weight, validation_split)
        if class_weight is not None:
            sample_weight = _checks.class_weights_to_sample_weight(y, class_weight, sample_weight,
                                                                   self._num_classes(x))
        data = make_adapter(x, y, sample_weight, batch_size, shuffle=shuffle,
                            steps=_config.capped_steps(steps_per_epoch))
        if hasattr(data, "x"):
            self._check_data(data.x, data.y, "fit", data.sample_weight)
        val = self._check_validation_data(validation_data, data, validation_batch_size or batch_size)
        self._build_from_data(data)
        strategy = get_strategy(self)
        data = strategy.distribute_data(data, self)
        verbose, callbacks = strategy.verbose(verbose), strategy.callbacks(callbacks)
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=data.num_batches)
        self.stop_training = False
        strategy.on_train_begin(self)
        callbacks.on_train_begin()
        resume = _resume.take_resume(self, initial_epoch)  # left by a checkpoint load
        if resume is not None:
            _resume.restore_callbacks(callbacks, resume)
            initial_epoch = resume["epoch"]
        self._callbacks = callbacks  # model.save during fit stores their state
        logs = {}
        with _resume.StopOnInterrupt() as interrupt:  # Ctrl-C stops after the step
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                self._completed_epochs, self._steps_done = epoch, 0
                callbacks.on_epoch_begin(epoch)
                self._epoch_start_rng = _resume.global_rng_state()  # draws the epoch's order
                batches = enumerate(data)
                if resume is not None and resume["step"]:  # skip the steps already done
                    logs = _resume.replay_steps(self, batches, resume)
                resume = None
                for step, (xb, yb, swb) in batches:
                    callbacks.on_train_batch_begin(step)
                    with self._owning_cores():
                        logs = strategy.reduce_logs(self, self.train_step(_step_data(xb, yb, swb)))
                    self._steps_done = step + 1
                    callbacks.on_train_batch_end(step, logs)
                    if self.stop_training or interrupt.requested:
                        break
                if interrupt.requested and self._steps_done:
                    break  # a part of an epoch: no validation, no on_epoch_end
                if self._steps_done == 0:  # the data is spent: no phantom epoch with old logs
                    if not interrupt.requested:
                        warn_ran_out(f"epoch {epoch + 1} got no batch, so training stops after "
                                     f"{epoch} epoch(s)")
                    break
                epoch_logs = dict(logs)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    vx, vy, vsw = val
                    # As in Keras, the callbacks see the validation pass (on_test_begin, ...,
                    # on_test_end): TensorBoard logs it, SwapEMAWeights swaps around it.
                    val_logs = self.evaluate(vx, vy, sample_weight=vsw,
                                             batch_size=validation_batch_size or batch_size,
                                             steps=validation_steps, verbose=0, return_dict=True,
                                             callbacks=callbacks, _internal=True)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                self._completed_epochs, self._steps_done = epoch + 1, 0  # a checkpoint resumes after it
                callbacks.on_epoch_end(epoch, epoch_logs)
                logs = epoch_logs
                if self.stop_training or interrupt.requested:
                    break
                if getattr(data, "ran_out", False) and epoch + 1 < epochs:
                    warn_ran_out(f"epoch {epoch + 1} ran {self._steps_done or 'its'} step(s) "
                                 f"before the data ended, so training stops after it")
                    break
            self._fit_interrupted = interrupt.requested
            if interrupt.requested:
                print(f"\nTraining interrupted (Ctrl-C) after {self._completed_epochs} epoch(s) "
                      f"and {self._steps_done} step(s); returning the History so far")
            callbacks.on_train_end(logs)
        finalize = getattr(self.optimizer, "finalize_variable_values", None)
        if finalize is not None and epochs > 0:  # use_ema: the weights take their averages
            finalize(self.trainable_weights)
        self._callbacks = None
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, _internal=False):
        """Loss and metrics over the data: a scalar (loss only), a list, or a dict."""
        from ..callbacks import CallbackList
        self._require_compiled("evaluate")
        verbose = _checks.check_verbose(verbose)
        _checks.require_data(x, y, "evaluate", needs_y=self._loss_arg is not None)
        x = _checks.standardize_inputs(self, x, "evaluate")
        y = _checks.standardize_targets(self, y, "evaluate")
        data = make_adapter(x, y, sample_weight, batch_size, shuffle=False,
                            steps=_config.capped_steps(steps))
        if hasattr(data, "x") and not _internal:
            self._check_data(data.x, data.y, "evaluate", data.sample_weight)
        strategy = get_strategy(self)
        data = strategy.distribute_data(data, self)
        verbose = strategy.verbose(verbose)
        if isinstance(callbacks, CallbackList):  # fit's own list (already filtered by the strategy)
            cbs = callbacks
        else:
            callbacks = strategy.callbacks(callbacks)
            cbs = CallbackList(callbacks, add_history=False,
                               add_progbar=verbose != 0 and not _internal, model=self,
                               verbose=verbose, epochs=1, steps=data.num_batches)
        if self._metrics_built:
            self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        for step, (xb, yb, swb) in enumerate(data):
            cbs.on_test_batch_begin(step)
            with self._owning_cores():
                logs = strategy.reduce_logs(self, self.test_step(_step_data(xb, yb, swb)))
            cbs.on_test_batch_end(step, logs)
        if getattr(data, "ran_out", False):
            warn_ran_out(f"evaluate got fewer batches than steps={steps}")
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[name] for _, name, _ in self._compiled_metrics] + \
                 [logs[t.name] for t in self._output_loss_trackers] + \
                 [logs[m.name] for m in self._tracked_metrics() if m.name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` as NumPy arrays (one per output), computed without gradients."""
        from ..callbacks import CallbackList
        verbose = _checks.check_verbose(verbose)
        _checks.require_data(x, None, "predict", needs_y=False)
        x = _checks.standardize_inputs(self, x, "predict")
        data = make_adapter(x, None, None, batch_size, shuffle=False,
                            steps=_config.capped_steps(steps))
        if hasattr(data, "x"):
            self._check_data(data.x, None, "predict")
        cbs = CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=1, steps=data.num_batches)
        cbs.on_predict_begin()
        outs = []
        for step, (xb, _, _) in enumerate(data):
            cbs.on_predict_batch_begin(step)
            with no_grad(), self._owning_cores():
                out = self.predict_step((xb,))
            outs.append([t.data for t in _flatten(out)])
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        if getattr(data, "ran_out", False):
            warn_ran_out(f"predict got fewer batches than steps={steps}")
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the data yielded no batches")
        joined = [np.concatenate(parts, axis=0) for parts in zip(*outs)]
        return joined[0] if len(joined) == 1 else joined

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._require_compiled("train_on_batch")
        _checks.require_data(x, y, "train_on_batch", needs_y=self._loss_arg is not None)
        x = _checks.standardize_inputs(self, x, "train_on_batch")
        y = _checks.standardize_targets(self, y, "train_on_batch")
        if class_weight is not None:
            sample_weight = _checks.class_weights_to_sample_weight(y, class_weight, sample_weight,
                                                                   self._num_classes(x))
        self._check_data(x, y, "train_on_batch", sample_weight, shapes=False)
        if self._metrics_built:
            self.reset_metrics()
        with self._owning_cores():
            logs = self.train_step(_step_data(_arrays(x), _arrays(y), sample_weight))
        return logs if return_dict else _logs_to_list(self, logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        _checks.require_data(x, y, "test_on_batch", needs_y=self._loss_arg is not None)
        x = _checks.standardize_inputs(self, x, "test_on_batch")
        y = _checks.standardize_targets(self, y, "test_on_batch")
        self._check_data(x, y, "test_on_batch", sample_weight, shapes=False)
        if self._metrics_built:
            self.reset_metrics()
        with self._owning_cores():
            logs = self.test_step(_step_data(_arrays(x), _arrays(y), sample_weight))
        return logs if return_dict else _logs_to_list(self, logs)

    def predict_on_batch(self, x):
        _checks.require_data(x, None, "predict_on_batch", needs_y=False)
        x = _checks.standardize_inputs(self, x, "predict_on_batch")
        with no_grad(), self._owning_cores():
            out = self(_arrays(x), training=False)
        flat = [t.data for t in _flatten(out)]
        return flat[0] if len(flat) == 1 else flat

    # ---- building before the first step -----------------------------------------------------
    def _build_from_data(self, data):
        """Build every layer, then the optimizer, before fit's first callback (as Keras).

        A layer built lazily (a Sequential nested without an input shape, a subclassed
        model's sublayers) then has its weights when ``BackupAndRestore`` restores them
        and when the optimizer makes its slots. The layers are built by one inference
        pass over the first sample; its side effects are undone (activity losses, the
        states of stateful RNNs). A plain generator cannot be peeked at: its model is
        built by the first step, which reads the weights after its forward pass.
        """
        if not all(layer.built for layer in self._all_layers()):
            sample = _first_sample(data)
            if sample is not None:
                stateful = [(layer, layer.states) for layer in self._all_layers()
                            if getattr(layer, "stateful", False)]
                with no_grad():
                    self(sample, training=False)
                for layer, states in stateful:
                    layer.states = states
                self._clear_activity_losses()
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_weights)

    # ---- checks before the first step --------------------------------------------------------
    def _check_data(self, x, y, method, sample_weight=None, shapes=True):
        """Data that cannot train fails before any step: non-numeric or non-finite inputs,
        targets or weights, then (with ``shapes``; the per-batch calls skip it, since it
        may trace the model) targets that cannot match the outputs and misshapen weights."""
        for part, label in ((x, "x"), (y, "y"), (sample_weight, "sample_weight")):
            if part is not None:
                _checks.check_numeric(part, label, method)
                _checks.check_finite(part, label, method)
        if y is None or method == "predict" or self._loss_arg is None or not shapes:
            return
        outs = self._known_output_shapes(x)
        if outs is None:
            return
        if len(flatten_arrays(y)) != len(outs):
            raise ValueError(f"{method}: model '{self.name}' has {len(outs)} output(s) "
                             f"{self._output_names(len(outs))}, but {len(flatten_arrays(y))} "
                             f"target array(s) were given")
        if self._loss_fns is None:
            self._resolve_losses(len(outs))
        for k, (yt, os_) in enumerate(zip(flatten_arrays(y), outs)):
            _check_targets(np.asarray(_checks.as_array(yt)), tuple(os_), self._loss_fns[k], method,
                           self._output_names(len(outs))[k])
        _checks.check_sample_weight(sample_weight, outs, method)

    def _known_output_shapes(self, x):
        """The output shapes (batch None) for inputs like ``x``, or None when the model
        cannot tell them without running (its first step then checks)."""
        try:
            in_shapes = [(None,) + tuple(np.shape(_checks.as_array(a))[1:]) for a in flatten_arrays(x)]
            out_shape = self._static_output_shapes(in_shapes if len(in_shapes) > 1 else in_shapes[0])
        except Exception:  # noqa: BLE001 - a model we cannot trace is checked by its first step
            return None
        if out_shape is None:
            return None
        return [tuple(s) for s in (out_shape if isinstance(out_shape, list) else [out_shape])]

    def _num_classes(self, x):
        """The number of classes of a single classifier output (2 for one sigmoid unit)."""
        outs = self._known_output_shapes(x) if x is not None else None
        if not outs or len(outs) != 1 or not outs[0] or outs[0][-1] is None:
            return None
        return max(int(outs[0][-1]), 2)

    def _check_validation_data(self, validation_data, data, batch_size):
        """``validation_data`` checked as the training data is, before the first epoch trains
        (not at its end): its form, its arrays, and sample shapes equal to the training data's."""
        if validation_data is None:
            return None
        vx, vy, vsw = _validation_tuple(validation_data)
        method = "fit (validation_data)"
        _checks.require_data(vx, vy, method, needs_y=self._loss_arg is not None)
        vx = _checks.standardize_inputs(self, vx, method)
        vy = _checks.standardize_targets(self, vy, method)
        val = make_adapter(vx, vy, vsw, batch_size, shuffle=False)
        if hasattr(val, "x"):
            if hasattr(data, "x"):
                _checks.same_sample_shapes(val.x, data.x, "x", "fit")
                if val.y is not None and data.y is not None:
                    _checks.same_sample_shapes(val.y, data.y, "y", "fit")
            self._check_data(val.x, val.y, method, val.sample_weight)
        return vx, vy, vsw

    def _static_output_shapes(self, input_shape):
        shape = self.compute_output_shape(input_shape)
        if isinstance(shape, dict):
            return list(shape.values())
        return shape


def _first_sample(data):
    """The inputs of the first sample of array data (or the first batch of an indexable
    sequence), read without drawing a shuffle; None for a generator."""
    if hasattr(data, "x"):
        return _take(data.x, slice(0, 1))
    if getattr(data, "is_sequence", False) and len(data.data):
        return unpack(data.data[0])[0]
    return None


def _check_targets(y, out_shape, loss_fn, method, output_name):
    name = getattr(loss_fn, "name", getattr(loss_fn, "__name__", ""))
    fn = getattr(loss_fn, "fn", loss_fn)
    if fn in (_losses.binary_crossentropy, _losses.binary_focal_crossentropy):
        _losses.check_binary_targets(y, f"{method}: the loss {fn.__name__} of output '{output_name}'")
    if fn in _ELEMENTWISE_LOSSES:
        _checks.check_target_shape(y, out_shape, method, output_name)
        return
    classes = out_shape[-1] if out_shape else None
    sparse_like = y.dtype.kind in "iu" and (y.ndim == len(out_shape) - 1 or
                                           (y.ndim == len(out_shape) and y.shape[-1] == 1 and classes != 1))
    if "crossentropy" in str(name).replace("_", "") and "binary" not in str(name) and classes:
        if sparse_like:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= classes:
                bad = hi if hi >= classes else lo
                raise ValueError(f"{method}: label {bad} in the targets of '{output_name}' is out of range "
                                 f"for an output of {classes} classes (labels must be in [0, {classes - 1}])")
            return
        if y.ndim == len(out_shape) and y.shape[-1] != classes:
            raise ValueError(f"{method}: targets of shape {y.shape} do not match the output "
                             f"'{output_name}' of shape {out_shape} (last dimensions {y.shape[-1]} != {classes})")


def _step_data(x, y, sample_weight):
    """A step's ``data`` as Keras passes it: ``(x, y)``, or ``(x, y, sample_weight)`` when
    there are sample weights (so a custom ``train_step`` can write ``x, y = data``)."""
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _as_loss_object(fn, activation=None):
    """A Loss instance (which takes sample_weight and reduces) for a loss function or object."""
    if fn is None or isinstance(fn, _losses.Loss):
        obj = fn
    else:
        obj = _losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", None))
    if obj is not None and activation is not None:
        obj.logits_activation = activation
    return obj


def _logits_of(y_pred, fused):
    """The input of the softmax/sigmoid that produced ``y_pred``, when a fused loss can use
    it: from the graph in training, from what the activation kept under no_grad (so
    train and validation losses are computed the same way)."""
    kind = getattr(fused, "logits_activation", None)
    if kind is None:
        return None
    node = y_pred._ctx
    if node is None:
        kept = getattr(y_pred, "_logits", None)
        return kept[1] if kept is not None and kept[0] == kind else None
    from ..ops.activation import Sigmoid, Softmax
    if kind == "softmax" and isinstance(node, Softmax) and \
            tuple(np.atleast_1d(node.axis)) == (y_pred.ndim - 1,):
        return node.inputs[0]
    if kind == "sigmoid" and isinstance(node, Sigmoid):
        return node.inputs[0]
    return None


def _arrays(x):
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (np.ndarray, Tensor)):
        return [np.asarray(v.data if isinstance(v, Tensor) else v) for v in x]
    if isinstance(x, dict):
        return x
    return None if x is None else (x.data if isinstance(x, Tensor) else np.asarray(x))


def _logs_to_list(model, logs):
    values = [logs["loss"]] + [logs[name] for _, name, _ in model._compiled_metrics] + \
        [logs[m.name] for m in model._tracked_metrics() if m.name in logs]
    return values[0] if len(values) == 1 else values


def _validation_tuple(validation_data):
    if isinstance(validation_data, list):
        validation_data = tuple(validation_data)  # Keras reads a list as a tuple
    if isinstance(validation_data, tuple):
        if len(validation_data) == 2:
            return validation_data[0], validation_data[1], None
        if len(validation_data) == 3:
            return validation_data
        raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight); "
                         f"received a tuple of {len(validation_data)}")
    return validation_data, None, None


# Built-in losses that compare y with the output element by element: y must broadcast
# against the output (after Keras's reconciling of a trailing 1).
_ELEMENTWISE_LOSSES = (_losses.mean_squared_error, _losses.mean_absolute_error,
                       _losses.mean_absolute_percentage_error, _losses.mean_squared_logarithmic_error,
                       _losses.huber, _losses.log_cosh, _losses.binary_crossentropy,
                       _losses.binary_focal_crossentropy, _losses.hinge, _losses.squared_hinge,
                       _losses.poisson, _losses.kl_divergence, _losses.cosine_similarity,
                       _losses.categorical_hinge)

