"""use_ema on optimizers and the SwapEMAWeights callback, against a hand-computed average
and against real Keras's optimizer."""
import numpy as np
import pytest

import shendu
from shendu.callbacks import SwapEMAWeights


def test_moving_average_by_hand():
    opt = shendu.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    w = shendu.Variable(np.array([1.0, 2.0]))
    avg = None
    for step, g in enumerate([np.array([1.0, 1.0]), np.array([2.0, 0.0]), np.array([0.0, 4.0])]):
        opt.apply([g], [w])
        avg = w.numpy().copy() if step == 0 else 0.5 * avg + 0.5 * w.numpy()
        assert np.allclose(opt._model_variables_moving_average[0], avg)
    assert "0/average" in opt.get_state()
    before = w.numpy().copy()
    opt.finalize_variable_values([w])
    assert np.allclose(w.numpy(), avg) and not np.allclose(before, avg)


def test_matches_keras_optimizer():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    grads = [np.array([0.5, -1.0], np.float32), np.array([1.5, 0.25], np.float32),
             np.array([-2.0, 1.0], np.float32), np.array([0.1, 0.2], np.float32)]
    ours = shendu.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    theirs = keras.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    w = shendu.Variable(np.array([1.0, 2.0], np.float32))
    kw = keras.Variable(np.array([1.0, 2.0], np.float32))
    for g in grads:
        ours.apply([g], [w])
        theirs.apply([keras.ops.convert_to_tensor(g)], [kw])
        assert np.allclose(w.numpy(), np.asarray(kw.value), rtol=1e-5, atol=1e-6)
        assert np.allclose(ours._model_variables_moving_average[0],
                           np.asarray(theirs._model_variables_moving_average[0].value),
                           rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="ema_momentum"):
        shendu.optimizers.SGD(use_ema=True, ema_momentum=1.5)


def _model(use_ema=True):
    shendu.utils.set_random_seed(3)
    model = shendu.Sequential([shendu.Input((2,)), shendu.layers.Dense(1)])
    model.compile(optimizer=shendu.optimizers.SGD(0.1, use_ema=use_ema, ema_momentum=0.8),
                  loss="mse")
    return model


def test_fit_ends_with_the_averages_and_the_callback_swaps(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    y = x @ np.array([[1.0], [-1.0]], np.float32)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    averages = [a.copy() for a in model.optimizer._model_variables_moving_average]
    assert all(np.allclose(w, a) for w, a in zip(model.get_weights(), averages))

    model = _model()
    seen = []
    record = shendu.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()[0].copy()))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[SwapEMAWeights(swap_on_epoch=True), record])
    opt = model.optimizer
    # after the last epoch the averages stay in the model and the optimizer holds them too
    assert np.allclose(seen[-1], model.get_weights()[0])
    assert np.allclose(opt._model_variables_moving_average[0], model.get_weights()[0])

    model = _model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    opt = model.optimizer
    opt.apply([np.ones((2, 1), np.float32), np.ones(1, np.float32)])  # weights move off the average
    raw = [w.copy() for w in model.get_weights()]
    avg = [a.copy() for a in opt._model_variables_moving_average]
    ema_pred = model.predict(x, verbose=0, callbacks=[SwapEMAWeights()])
    assert np.allclose(ema_pred, x @ avg[0] + avg[1], rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), raw))
    loss = model.evaluate(x, y, verbose=0, callbacks=[SwapEMAWeights()])
    assert np.isclose(loss, np.mean((x @ avg[0] + avg[1] - y) ** 2), rtol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), raw))


def test_needs_use_ema():
    model = _model(use_ema=False)
    x = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.predict(x, verbose=0, callbacks=[SwapEMAWeights()])


def test_validation_during_fit_uses_the_averages():
    x = np.random.default_rng(1).normal(size=(40, 2)).astype(np.float32)
    y = x @ np.array([[2.0], [-1.0]], np.float32)
    vx, vy = x[:8], y[:8]
    with_swap = _model()
    history = with_swap.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(vx, vy),
                            callbacks=[SwapEMAWeights()])
    # fit ended with the averages in the model: the last validation saw the same weights
    assert np.isclose(history.history["val_loss"][-1], with_swap.evaluate(vx, vy, verbose=0),
                      rtol=1e-6)
    without = _model()
    history2 = without.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(vx, vy))
    assert not np.isclose(history2.history["val_loss"][-1], without.evaluate(vx, vy, verbose=0),
                          rtol=1e-4)
