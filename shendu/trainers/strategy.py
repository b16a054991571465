"""``Strategy``: where a training loop's work runs, as a handful of hooks the trainer calls.

The trainer is written once, against these hooks; this base class is the plain
single-process strategy, in which every hook does nothing. A distribution strategy
(``shendu.distributed.DataParallel``) overrides them to shard the data, average the
gradients and reduce the metrics across processes.

A strategy is active inside ``with strategy:`` or when given to
``compile(..., distribute=strategy)``; ``Trainer`` asks ``get_strategy(model)``.
"""
import contextlib

_active = []  # strategies entered with `with`, innermost last


class Strategy:
    """The single-process strategy: every hook is the identity."""

    def __enter__(self):
        _active.append(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        _active.remove(self)
        return False

    def distribute_data(self, adapter, model):
        """The batches this process runs (an adapter with ``num_batches`` and ``__iter__``)."""
        return adapter

    def verbose(self, verbose):
        """The verbosity of this process's progress bar."""
        return verbose

    def callbacks(self, callbacks):
        """The callbacks that run in this process."""
        return callbacks

    def on_train_begin(self, model):
        """Called by ``fit`` before the first step (after the data and callbacks are set)."""

    def synchronize_gradients(self, variables):
        """A context around ``loss.backward()``; on exit ``v.grad`` is what to apply."""
        return contextlib.nullcontext()

    def reduce_logs(self, model, logs):
        """The logs of a step as the callbacks should see them."""
        return logs


_LOCAL = Strategy()


def get_strategy(model=None):
    """The strategy for ``model``: its ``compile(distribute=...)``, else the innermost
    ``with`` block's, else the single-process one."""
    chosen = getattr(model, "_distribute", None)
    if chosen is not None:
        return chosen
    return _active[-1] if _active else _LOCAL
