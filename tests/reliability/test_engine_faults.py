"""Reliability: faults in the engine and the layers give clear errors, never silent wrong results.

The first part is a table of cases: a builder of the failing call, the exception type
it must raise and words its message must contain (the layer, the argument, what was
expected and what was received). The second part checks the silent bugs one by one:
a build race between threads, float64 models computing in float64, and tensors saved
for backward that are changed in place.
"""
import threading
import time

import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import gradcheck


def f32(*shape):
    return np.zeros(shape, np.float32)


def _built(layer, x):
    layer(x)
    return layer


# ---- silent bugs ------------------------------------------------------------------------------
class _SlowDense(layers.Dense):
    """A Dense whose build yields the interpreter mid-way, as a big initialiser does."""

    def build(self, input_shape):
        time.sleep(0.02)
        super().build(input_shape)


def _call_from_threads(model, x, n=4):
    barrier = threading.Barrier(n)
    errors = []

    def go():
        try:
            barrier.wait()
            model(x)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_first_call_build_is_thread_safe(tmp_path):
    """Bug 1: threads calling an unbuilt model built a layer once each (4 weights, not 2)."""
    model = shendu.Sequential([_SlowDense(2)])
    _call_from_threads(model, f32(4, 3))
    assert len(model.weights) == 2
    model.save(tmp_path / "m.keras")
    loaded = shendu.models.load_model(tmp_path / "m.keras", custom_objects={"_SlowDense": _SlowDense})
    assert len(loaded.weights) == 2


def test_first_call_build_of_a_subclassed_model_is_thread_safe():
    class Net(shendu.Model):
        def __init__(self):
            super().__init__()
            self.a = _SlowDense(3)
            self.b = _SlowDense(1)

        def call(self, x):
            return self.b(self.a(x))
    model = Net()
    _call_from_threads(model, f32(4, 2))
    assert [tuple(w.shape) for w in model.weights] == [(2, 3), (3,), (3, 1), (1,)]


def _float64_models():
    inp = shendu.Input((3,), dtype="float64")
    h = layers.Dense(4, activation="tanh", dtype="float64")(inp)
    functional = shendu.Model(inp, layers.Dense(2, dtype="float64")(h))
    sequential = shendu.Sequential([shendu.Input((3,), dtype="float64"),
                                    layers.Dense(4, activation="tanh", dtype="float64"),
                                    layers.Dense(2, dtype="float64")])
    return {"functional": functional, "sequential": sequential}


def _reference(model, x):
    (k1, b1), (k2, b2) = [(l.kernel.numpy(), l.bias.numpy()) for l in model.layers
                          if isinstance(l, layers.Dense)]
    return np.tanh(x @ k1 + b1) @ k2 + b2


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_float64_model_computes_in_float64(kind):
    """Bug 2: the model itself (a float32 Layer) rounded float64 inputs to float32."""
    model = _float64_models()[kind]
    x = np.random.default_rng(0).standard_normal((5, 3))
    want = _reference(model, x)
    for got in (model(x).numpy(), model.predict(x, verbose=0), model.predict_on_batch(x)):
        assert got.dtype == np.float64
        assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_float64_model_passes_gradcheck_end_to_end(kind):
    model = _float64_models()[kind]
    x = np.random.default_rng(1).standard_normal((3, 3))
    gradcheck(lambda t: model(t), x, atol=1e-8, rtol=1e-6)


def test_set_floatx_float64_gives_a_float64_model():
    shendu.config.set_floatx("float64")
    try:
        model = shendu.Sequential([shendu.Input((3,)), layers.Dense(4, activation="tanh"),
                                   layers.Dense(2)])
    finally:
        shendu.config.set_floatx("float32")
    x = np.random.default_rng(2).standard_normal((5, 3))
    assert all(w.dtype == np.float64 for w in model.weights)
    got = model(x).numpy()
    want = _reference(model, x)
    assert got.dtype == np.float64
    assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()
    gradcheck(lambda t: model(t), x[:2], atol=1e-8, rtol=1e-6)


def test_a_float32_layer_still_autocasts_float64_data():
    """Keras's rule: a layer casts float inputs to its own compute dtype."""
    layer = layers.Dense(2)
    assert layer(np.ones((2, 3))).dtype == np.float32
    model = shendu.Sequential([shendu.Input((3,), dtype="float64"), layers.Dense(2)])
    assert model(np.ones((2, 3))).dtype == np.float32


# ---- bug 8: a tensor saved for backward and changed in place ------------------------------------
def _weight(values):
    return shendu.Variable(np.asarray(values, np.float32), name="w")


def _assign(w):
    w.assign(np.full(w.shape, 5.0, np.float32))


def _assign_add(w):
    w.assign_add(np.ones(w.shape, np.float32))


def _assign_sub(w):
    w.assign_sub(np.ones(w.shape, np.float32))


def _optimizer_step(w):
    w.grad = shendu.tensor(np.ones(w.shape, np.float32))
    shendu.optimizers.SGD(0.1).step([w])


def _adam_apply(w):
    shendu.optimizers.Adam(0.1).apply([np.ones(w.shape, np.float32)], [w])


IN_PLACE_CHANGES = {"assign": _assign, "assign_add": _assign_add, "assign_sub": _assign_sub,
                    "SGD.step": _optimizer_step, "Adam.apply": _adam_apply}


@pytest.mark.parametrize("change", sorted(IN_PLACE_CHANGES))
def test_in_place_change_of_a_saved_tensor_raises_at_backward(change):
    """Bug 8: the gradient was computed with the new values, silently."""
    w = _weight([1.0, 2.0, 3.0])
    x = shendu.tensor([4.0, 5.0, 6.0], requires_grad=True)
    loss = (x * w).sum()  # Multiply saves both inputs: gx = w
    IN_PLACE_CHANGES[change](w)
    with pytest.raises(RuntimeError, match=r"saved by Multiply for backward was modified in "
                                           r"place \(version 0 -> 1\).*'w'"):
        loss.backward()


def test_optimizer_update_between_forward_and_backward_raises_naming_the_op():
    layer = layers.Dense(2, name="head")
    out = layer(np.ones((4, 3), np.float32))
    loss = (out * out).mean()
    opt = shendu.optimizers.SGD(0.1)
    opt.apply([np.ones(w.shape, np.float32) for w in layer.trainable_weights],
              layer.trainable_weights)
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    message = str(info.value)
    assert "modified in place" in message and "head/kernel" in message
    assert "Linear" in message or "MatMul" in message


def test_set_weights_between_forward_and_backward_raises():
    layer = layers.Dense(2, name="probe")
    out = layer(np.ones((4, 3), np.float32)).sum()
    layer.set_weights([np.zeros((3, 2)), np.zeros(2)])
    with pytest.raises(RuntimeError, match="probe/kernel"):
        out.backward()


def test_changes_that_do_not_touch_saved_values_are_allowed():
    # Add saves nothing: its gradient does not depend on w's value.
    w = _weight([1.0, 2.0])
    x = shendu.tensor([3.0, 4.0], requires_grad=True)
    loss = (x + w).sum()
    _assign(w)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    # The usual loop: forward, backward, update, forward again.
    w = _weight([1.0, 2.0])
    for _ in range(3):
        loss = (x * w).sum()
        loss.backward()
        _optimizer_step(w)
        x.grad = None


def test_a_graph_kept_with_retain_graph_sees_a_later_change():
    w = _weight([1.0, 2.0])
    x = shendu.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    loss.backward(retain_graph=True)
    _assign_add(w)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
