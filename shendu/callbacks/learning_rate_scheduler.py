"""``LearningRateScheduler``: set the learning rate from a function of the epoch."""
import numbers

import numpy as np

from .callback import Callback
from .reduce_lr_on_plateau import _get_lr


class LearningRateScheduler(Callback):
    """At the start of every epoch sets
    ``model.optimizer.learning_rate = schedule(epoch, current_lr)``.

    Args:
        schedule: a function ``(epoch: int, lr: float) -> float`` (epoch is 0-based).
        verbose: 1 prints the new rate each epoch.

    The rate in force is added to the epoch logs as ``learning_rate``.

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> cb = LearningRateScheduler(schedule)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler expected a callable schedule(epoch, lr); "
                            f"received {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _get_lr(self.model, "LearningRateScheduler")
        new_lr = self.schedule(epoch, lr)
        if isinstance(new_lr, bool) or not isinstance(new_lr, (numbers.Real, np.floating)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {new_lr!r}")
        new_lr = float(new_lr)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new_lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model, "LearningRateScheduler")
