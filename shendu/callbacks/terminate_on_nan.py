"""``TerminateOnNaN``: stop training as soon as the loss is NaN or infinite."""
import math

from .callback import Callback


class TerminateOnNaN(Callback):
    """Sets ``model.stop_training = True`` when a batch's ``loss`` is NaN or inf.

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}: "
                                   f"loss={loss}. Training terminated.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
