"""Resuming ``fit`` where a checkpoint left it, and stopping it cleanly on Ctrl-C.

A checkpoint written during ``fit`` records the epoch, the steps done in it, the global
generator as it was when that epoch began, the epoch's running metrics and the callbacks'
state (``shendu.saving.saving_lib``). Loading it (``load_model``, or ``BackupAndRestore``
at the start of ``fit``) leaves ``model._resume``; ``fit`` takes it after the callbacks'
``on_train_begin``:

* the callbacks get their saved state back (``CallbackList.set_state``);
* the interrupted epoch is replayed without training: the global generator is set back
  to the epoch's start, so the data draws the same shuffled order, the first ``step``
  batches are read and dropped, and the generator is put back where the checkpoint left
  it (the state the next dropout mask and so on are drawn from).

Array data and ``PyDataset`` sequences replay exactly. A plain Python generator cannot be
rewound: its first ``step`` batches are skipped, which is the right position only if the
script builds a fresh generator that restarts at the interrupted epoch.
"""
import signal
import threading

from ..autograd.grad_mode import no_grad
from ..layers.layer import _flatten
from ..ops import random as _random
from .data_adapters import flatten_arrays


def global_rng_state():
    """A copy of the state of shendu's global generator (what shuffling draws from)."""
    return _random.default_generator().bit_generator.state


def _set_global_rng_state(state):
    _random.default_generator().bit_generator.state = state


def take_resume(model, initial_epoch):
    """The resume point left by a checkpoint load, or None. ``BackupAndRestore`` always
    resumes; after ``load_model``, only a fit started at the saved epoch does."""
    resume = model.__dict__.pop("_resume", None)
    if resume is None or not (resume.get("from_backup") or resume["epoch"] == initial_epoch):
        return None
    return resume


def restore_callbacks(callbacks, resume):
    if resume.get("callbacks"):
        callbacks.set_state(resume["callbacks"])


def replay_steps(model, batches, resume):
    """Advance ``batches`` (an ``enumerate`` of the epoch's data) past the ``step`` batches
    the checkpoint had done, drawing the epoch's order as the interrupted run did; return
    the epoch's logs so far."""
    steps = resume["step"]
    where_saved = global_rng_state()
    _set_global_rng_state(resume["epoch_start_generator"])
    model._epoch_start_rng = resume["epoch_start_generator"]
    first = None
    for _ in range(steps):
        try:
            _, batch = next(batches)
        except StopIteration:
            break
        first = batch if first is None else first
    _set_global_rng_state(where_saved)
    model._steps_done = steps
    if resume.get("metrics") and first is not None:
        _ensure_metrics(model, first)
        variables = [v for m in model.metrics + list(model._output_loss_trackers)
                     for v in m.variables]
        if len(variables) == len(resume["metrics"]):
            for v, value in zip(variables, resume["metrics"]):
                v.data[...] = value
    return model._logs() if model._metrics_built else {}


def _ensure_metrics(model, batch):
    """Build the compiled metrics (normally done by the first train step) from one
    inference pass, so the saved running values can be put in them."""
    if model._metrics_built:
        return
    xb, yb, _ = batch
    with no_grad():
        y_pred_flat = _flatten(model(xb, training=False))
    model._clear_activity_losses()
    if model._loss_fns is None:
        model._resolve_losses(len(y_pred_flat))
    model._build_metrics(flatten_arrays(yb) if isinstance(yb, (list, dict)) else [yb], y_pred_flat)


class StopOnInterrupt:
    """While ``fit`` runs in the main thread, Ctrl-C (SIGINT) sets ``requested`` instead of
    raising, so the loop stops after the current step; a second Ctrl-C raises
    ``KeyboardInterrupt`` at once. Installed only over Python's default handler (a
    program's own handler, or SIGINT ignored, is left alone) and put back on exit."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
