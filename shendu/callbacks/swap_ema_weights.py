"""``SwapEMAWeights``: evaluate and predict with the optimizer's moving-average weights."""
from .callback import Callback


class SwapEMAWeights(Callback):
    """Put the optimizer's exponential moving average of the weights (``use_ema=True``) into
    the model for ``evaluate`` and ``predict``, and swap the training weights back after.

    Args:
        swap_on_epoch: also swap at the end of each epoch (so ``ModelCheckpoint`` and other
            ``on_epoch_end`` callbacks listed after this one see the averages) and back at
            the start of the next; after the last epoch the averages stay in the model.

    In ``fit`` the validation passes run with the averages; pass it to ``evaluate`` or
    ``predict`` (``callbacks=[SwapEMAWeights()]``) to use them there.

    Example:
        >>> import shendu
        >>> opt = shendu.optimizers.SGD(0.1, use_ema=True)   # model.compile(optimizer=opt, ...)
        >>> cb = SwapEMAWeights(swap_on_epoch=True)          # model.fit(..., callbacks=[cb])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if not getattr(optimizer, "use_ema", False) or \
                not hasattr(optimizer, "_model_variables_moving_average"):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                             f"optimizer. Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return optimizer

    def _swap(self):
        optimizer = self._optimizer()
        for v, average in zip(optimizer._trainable_variables,
                              optimizer._model_variables_moving_average):
            current = v.data.copy()
            v.data[...] = average
            average[...] = current
            v._version += 1

    def _finalize(self):
        optimizer = self._optimizer()
        for v, average in zip(optimizer._trainable_variables,
                              optimizer._model_variables_moving_average):
            average[...] = v.data

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True
            if epoch == self.params["epochs"] - 1:
                self._finalize()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end
