"""``CallbackList``: dispatches every hook to a list of callbacks."""
import numbers
import warnings

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger


def _to_python(value):
    """A Python float for scalar tensors and arrays; anything else unchanged."""
    if isinstance(value, (str, bool)) or isinstance(value, numbers.Integral):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _normalize_logs(logs):
    """Flatten nested dicts, turn scalars into floats and sort the keys.

    Done in place, so keys that one callback adds (``learning_rate``) stay
    visible to the callbacks after it and to the trainer that passed ``logs``;
    sorted keys give the progress bar and CSV files a stable column order.
    """
    if logs is None:
        return {}
    flat = {}

    def visit(d):
        for key, value in d.items():
            if isinstance(value, dict):
                visit(value)
            else:
                flat[key] = _to_python(value)

    visit(logs)
    logs.clear()
    logs.update(sorted(flat.items()))
    return logs


class CallbackList(Callback):
    """Calls each hook on every callback of a list, in order.

    The trainer builds one per ``fit`` / ``evaluate`` / ``predict`` call::

        callbacks = CallbackList(callbacks, add_history=True,
                                 add_progbar=verbose != 0, model=model,
                                 verbose=verbose, epochs=epochs, steps=steps)

    Args:
        callbacks: a list of :class:`Callback` instances (or None).
        add_history: add a :class:`History` unless the list already has one.
        add_progbar: add a :class:`ProgbarLogger` unless the list already has one.
        model: the model; given to every callback, and ``model.history`` is
            set to the History callback.
        **params: run parameters handed to every callback's ``set_params``:
            ``verbose`` (0, 1, 2 or "auto"), ``epochs`` and ``steps`` (steps per
            epoch, or None when unknown).

    Raises:
        TypeError: if an element of ``callbacks`` is not a Callback.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks = list(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("CallbackList expected shendu.callbacks.Callback instances; "
                                f"received {cb!r} of type {type(cb).__name__}")
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)),
                             None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        # Checkpointing callbacks save after the others have seen the step or epoch, so the
        # state they write (History, EarlyStopping, ...) is the state a resumed run needs.
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "_saves_checkpoints", False)))
        self.set_model(model)
        self.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _state_keys(self):
        """(key, callback) for each callback: its class name, ``#k`` for the k-th repeat."""
        seen = {}
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, -1) + 1
            yield (name if seen[name] == 0 else f"{name}#{seen[name]}"), cb

    def get_state(self):
        """{key: state} of every callback that has state (see ``Callback.get_state``)."""
        states = {}
        for key, cb in self._state_keys():
            state = cb.get_state()
            if state is not None:
                states[key] = state
        return states

    def set_state(self, states):
        """Give each callback its saved state, matched by class name and position; a saved
        state with no callback in this run is reported and dropped."""
        if not isinstance(states, dict):
            raise ValueError("CallbackList.set_state expected a dict of callback states")
        states = dict(states)
        for key, cb in self._state_keys():
            if key in states:
                cb.set_state(states.pop(key))
        if states:
            warnings.warn("Resuming: no callback in this fit for the saved state of "
                          f"{sorted(states)}; that state is not restored", stacklevel=3)

    def _call(self, hook, *args, logs=None):
        logs = _normalize_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)
        return logs

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        # Predictions are arrays, not metrics: pass them through untouched.
        logs = logs if logs is not None else {}
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)

