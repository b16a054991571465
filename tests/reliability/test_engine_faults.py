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


def _two_input_model():
    a, b = shendu.Input((3,), name="a"), shendu.Input((3,), name="b")
    return shendu.Model([a, b], layers.Add()([layers.Dense(2)(a), layers.Dense(2)(b)]))


def _backward_twice():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _stale_graph():
    w = shendu.Variable(np.ones(2, np.float32), name="w")
    loss = (w * w).sum()
    w.assign_add(np.ones(2, np.float32))
    loss.backward()


# (id, call, exception type, words the message must contain, words it must not contain)
CASES = [
    # -- constructor arguments: refused at once, quoting what was received
    ("Dense(0)", lambda: layers.Dense(0), ValueError, ["Dense", "units=0"], []),
    ("Dense(-3)", lambda: layers.Dense(-3), ValueError, ["units=-3"], []),
    ("Dense(2.5)", lambda: layers.Dense(2.5), ValueError, ["units=2.5"], []),
    ("Dense('a')", lambda: layers.Dense("a"), ValueError, ["units='a'"], []),
    ("Conv2D(kernel_size=0)", lambda: layers.Conv2D(2, kernel_size=0), ValueError,
     ["Conv2D", "kernel_size=0"], []),
    ("Conv2D(filters=0)", lambda: layers.Conv2D(0, 3), ValueError, ["filters=0"], []),
    ("Conv2D(strides=0)", lambda: layers.Conv2D(2, 3, strides=0), ValueError, ["strides=0"], []),
    ("Conv2D(padding='full')", lambda: layers.Conv2D(2, 3, padding="full"), ValueError,
     ["padding='full'", "valid"], []),
    ("Dropout(rate=1.5)", lambda: layers.Dropout(1.5), ValueError, ["Dropout", "rate=1.5"], []),
    ("Dropout(rate=-0.1)", lambda: layers.Dropout(-0.1), ValueError, ["rate=-0.1"], []),
    ("Embedding(input_dim=0)", lambda: layers.Embedding(0, 2), ValueError, ["input_dim=0"], []),
    ("MaxPooling2D(pool_size=0)", lambda: layers.MaxPooling2D(pool_size=0), ValueError,
     ["MaxPooling2D", "pool_size=0"], []),
    ("LSTM(units=0)", lambda: layers.LSTM(0), ValueError, ["units=0"], []),
    ("LSTM(dropout=2.0)", lambda: layers.LSTM(3, dropout=2.0), ValueError, ["dropout=2.0"], []),
    ("unknown activation", lambda: layers.Dense(2, activation="nope"), ValueError,
     ["activation", "'nope'", "relu"], []),
    ("unknown initializer", lambda: layers.Dense(2, kernel_initializer="nope"), ValueError,
     ["initializer", "'nope'"], []),
    ("unknown layer keyword", lambda: layers.Dense(2, foo=1), TypeError, ["Dense", "foo"], []),
    ("Input(shape=(-1,))", lambda: shendu.Input((-1,)), ValueError, ["shape=(-1,)"], []),
    ("Input(shape=3)", lambda: shendu.Input(3), ValueError, ["shape=3", "tuple"], []),
    ("Input(shape=(2.5,))", lambda: shendu.Input((2.5,)), ValueError, ["shape=(2.5,)"], []),
    ("Sequential of a non-layer", lambda: shendu.Sequential([3]), TypeError,
     ["Sequential", "int"], []),
    # -- input shapes: the layer, what it expects and what it received
    ("LSTM on rank-2 input", lambda: layers.LSTM(4)(f32(2, 3)), ValueError,
     ["'lstm", "LSTM", "3-D", "(2, 3)"], []),
    ("GRU on rank-2 input", lambda: layers.GRU(4)(f32(2, 3)), ValueError,
     ["GRU", "3-D", "(2, 3)"], []),
    ("SimpleRNN on rank-2 input", lambda: layers.SimpleRNN(4)(f32(2, 3)), ValueError,
     ["SimpleRNN", "3-D", "(2, 3)"], []),
    ("LSTM with another feature count", lambda: _built(layers.LSTM(4), f32(2, 5, 3))(f32(2, 5, 4)),
     ValueError, ["LSTM", "(batch, timesteps, 3)", "(2, 5, 4)"], ["(10, 4)", "kernel"]),
    ("GRU with another feature count", lambda: _built(layers.GRU(4), f32(2, 5, 3))(f32(2, 5, 4)),
     ValueError, ["GRU", "(batch, timesteps, 3)", "(2, 5, 4)"], ["(10, 4)"]),
    ("SimpleRNN with another feature count",
     lambda: _built(layers.SimpleRNN(4), f32(2, 5, 3))(f32(2, 5, 4)),
     ValueError, ["SimpleRNN", "(batch, timesteps, 3)", "(2, 5, 4)"], ["(10, 4)"]),
    ("Conv2D on rank-3 input", lambda: layers.Conv2D(2, 3)(f32(2, 5, 5)), ValueError,
     ["Conv2D", "rank-4", "(2, 5, 5)"], []),
    ("Conv2D on rank-5 input", lambda: layers.Conv2D(2, 3)(f32(2, 5, 5, 1, 1)), ValueError,
     ["rank-4", "(2, 5, 5, 1, 1)"], []),
    ("Conv2D input smaller than its kernel", lambda: layers.Conv2D(2, 5)(f32(2, 3, 3, 1)),
     ValueError, ["Conv2D", "(2, 3, 3, 1)"], []),
    ("Conv2D with another channel count",
     lambda: _built(layers.Conv2D(2, 3), f32(1, 5, 5, 1))(f32(1, 5, 5, 2)), ValueError,
     ["1 channels", "(1, 5, 5, 2)"], []),
    ("Conv1D on rank-2 input", lambda: layers.Conv1D(2, 3)(f32(2, 5)), ValueError,
     ["Conv1D", "rank-3", "(2, 5)"], []),
    ("Dense on rank-1 input", lambda: layers.Dense(2)(f32(3)), ValueError,
     ["Dense", "rank >= 2", "(3,)"], []),
    ("Dense with another feature count", lambda: _built(layers.Dense(2), f32(2, 3))(f32(2, 4)),
     ValueError, ["Dense", "last dimension 3", "(2, 4)"], []),
    ("MaxPooling2D on rank-3 input", lambda: layers.MaxPooling2D()(f32(2, 4, 4)), ValueError,
     ["MaxPooling2D", "rank-4", "(2, 4, 4)"], []),
    ("AveragePooling2D on rank-2 input", lambda: layers.AveragePooling2D()(f32(2, 4)),
     ValueError, ["AveragePooling2D", "rank-4", "(2, 4)"], []),
    ("GlobalAveragePooling2D on rank-2 input", lambda: layers.GlobalAveragePooling2D()(f32(2, 4)),
     ValueError, ["GlobalAveragePooling2D", "(2, 4)"], []),
    ("BatchNormalization(axis=5) on rank-2 input",
     lambda: layers.BatchNormalization(axis=5)(f32(2, 3)), ValueError,
     ["BatchNormalization", "axis 5", "(2, 3)"], []),
    ("Reshape to an incompatible size", lambda: layers.Reshape((5,))(f32(2, 3)), ValueError,
     ["Reshape", "(5,)", "(2, 3)"], []),
    ("Concatenate of mismatched shapes",
     lambda: layers.Concatenate()([f32(2, 3), f32(3, 3)]), ValueError,
     ["Concatenate", "(2, 3)", "(3, 3)"], []),
    ("Add of mismatched shapes", lambda: layers.Add()([f32(2, 3), f32(2, 4)]), ValueError,
     ["Add", "(2, 3)", "(2, 4)"], []),
    ("Sequential model with another feature count",
     lambda: shendu.Sequential([shendu.Input((3,)), layers.Dense(2, name="d")])(f32(2, 4)),
     ValueError, ["'d'", "last dimension 3", "(2, 4)"], []),
    ("Functional model given one input of two", lambda: _two_input_model()(f32(2, 3)),
     ValueError, ["expects 2 input", "received 1"], []),
    ("Functional model given a dict without a key",
     lambda: _two_input_model()({"a": f32(2, 3)}), ValueError, ["missing inputs", "'b'"], []),
    ("Model(inputs, outputs) of arrays", lambda: shendu.Model(f32(2, 3), f32(2, 3)), TypeError,
     ["KerasTensor", "ndarray"], []),
    # -- input values
    ("Embedding index out of range",
     lambda: layers.Embedding(5, 2)(np.array([[1, 7]])), IndexError, ["index 7", "size 5"], []),
    ("Embedding negative index",
     lambda: layers.Embedding(5, 2)(np.array([[1, -1]])), IndexError, ["index -1", "[0, 5)"], []),
    ("string input", lambda: layers.Dense(2, name="d")(np.array([["a", "b"]])), TypeError,
     ["'d'", "Dense", "numeric", "<U1", "strings"], ["ufunc"]),
    ("complex input", lambda: layers.Dense(2, name="d")(np.ones((2, 3), complex)), TypeError,
     ["'d'", "complex128", ".real"], []),
    ("object input", lambda: layers.Dense(2)(np.array([[None, 1]], dtype=object)), TypeError,
     ["Dense", "object", "numeric"], []),
    ("complex input to a Functional model",
     lambda: shendu.Model(*(lambda i: (i, layers.Dense(2)(i)))(shendu.Input((3,))))(
         np.ones((2, 3), complex)), TypeError, ["complex"], []),
    # -- weights
    ("a weight too large for memory", lambda: layers.Dense(10 ** 6, name="huge")(f32(1, 10 ** 6)),
     MemoryError, ["'huge'", "Dense", "'kernel'", "(1000000, 1000000)", "float32",
                   "4000000000000 bytes", "3.64 TiB"], ["float64"]),
    ("set_weights with too few arrays",
     lambda: _built(layers.Dense(2, name="d"), f32(1, 3)).set_weights([np.zeros((3, 2))]),
     ValueError, ["'d'", "expects 2", "received 1"], []),
    ("set_weights with a wrong shape",
     lambda: _built(layers.Dense(2, name="d"), f32(1, 3)).set_weights(
         [np.zeros((3, 3)), np.zeros(2)]), ValueError, ["'d'", "d/kernel", "(3, 2)", "(3, 3)"], []),
    ("Variable.assign of a wrong shape",
     lambda: shendu.Variable(np.zeros(3, np.float32), name="v").assign(np.zeros(4)), ValueError,
     ["'v'", "(4,)", "(3,)"], []),
    # -- autograd
    ("backward of a non-scalar without a seed",
     lambda: (shendu.tensor([1.0, 2.0], requires_grad=True) * 2).backward(), RuntimeError,
     ["non-scalar", "(2,)"], []),
    ("backward twice", _backward_twice, RuntimeError, ["second time", "retain_graph"], []),
    ("backward of a tensor without grad", lambda: shendu.tensor([1.0]).sum().backward(),
     RuntimeError, ["does not require grad"], []),
    ("requires_grad on an int tensor",
     lambda: shendu.tensor([1, 2], requires_grad=True), TypeError, ["float", "int64"], []),
    ("backward after an in-place change of a saved weight", _stale_graph, RuntimeError,
     ["Multiply", "version 0 -> 1", "'w'"], []),
]


@pytest.mark.parametrize("build, exc, words, absent", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_engine_fault_gives_a_clear_error(build, exc, words, absent):
    with pytest.raises(exc) as info:
        build()
    message = str(info.value)
    for word in words:
        assert word in message, message
    for word in absent:
        assert word not in message, message


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
