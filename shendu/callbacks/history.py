"""``History``: records every epoch's logs; ``fit`` returns it."""
from .callback import Callback, check_state, decode_float, decode_int, encode_float


class History(Callback):
    """Collects the epoch-end logs of ``fit``.

    ``CallbackList(add_history=True)`` adds one automatically and attaches it
    to the model as ``model.history``.

    Attributes:
        history: dict mapping each log key (``loss``, ``val_accuracy``, ...) to
            the list of its per-epoch values.
        epoch: the list of epoch indices (0-based) seen.

    Example:
        >>> h = History()
        >>> h.on_train_begin()
        >>> h.on_epoch_end(0, {"loss": 0.9}); h.on_epoch_end(1, {"loss": 0.7})
        >>> h.history, h.epoch
        ({'loss': [0.9, 0.7]}, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        # A callback added by hand (not through CallbackList) still ends up on
        # the model, as in Keras.
        if self.model is not None:
            self.model.history = self

    def get_state(self):
        """The epochs recorded so far, so a resumed fit returns the whole run's History."""
        return {"epoch": list(self.epoch),
                "history": {k: [encode_float(v) if isinstance(v, (int, float)) else None
                                for v in vals] for k, vals in self.history.items()}}

    def set_state(self, state):
        check_state(state, ("epoch", "history"), "History")
        epochs, history = state["epoch"], state["history"]
        if not isinstance(epochs, list) or not isinstance(history, dict) or not all(
                isinstance(k, str) and isinstance(v, list) for k, v in history.items()):
            raise ValueError("History.set_state: expected a list of epochs and a dict of lists")
        self.epoch = [decode_int(e, "History epoch") for e in epochs]
        self.history = {k: [decode_float(v, f"History {k}") for v in vals]
                        for k, vals in history.items()}
