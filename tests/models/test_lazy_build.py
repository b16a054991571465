"""Layers built lazily (nested models without an input shape, subclassed models, a new head
on a trained base) train from the first ``fit`` call: fit builds the model before its
first callback, the first step reads the weights after its forward pass, and an
optimizer takes variables that appear after it was built."""
import numpy as np
import pytest

import shendu as keras
from shendu import layers
from shendu.optimizers import SGD, Adam


def _data(n=64, shape=(6,), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + shape).astype("float32")
    return x, rng.integers(0, classes, n)


class _FirstWeights(keras.callbacks.Callback):
    """The weights as on_train_begin sees them (the model must be built by then)."""

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()
        self.optimizer_built = self.model.optimizer.built


def _fit_from_scratch(model, x, y, epochs=5, **kwargs):
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy")
    first = _FirstWeights()
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[first], **kwargs)
    return first, history


def _assert_trained(model, first, history):
    assert first.optimizer_built and first.weights  # built before the first callback, as Keras
    after = model.get_weights()
    assert len(after) == len(first.weights) == len(model.optimizer._trainable_variables)
    for before, now in zip(first.weights, after):
        assert not np.array_equal(before, now)  # every weight was updated
    loss = history.history["loss"]
    assert loss[-1] < loss[0]


def test_issue_snippet_sequential_nested_in_a_sequential_trains():
    x, y = _data(48, (8, 8, 1), classes=5)
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3), layers.Flatten()],
                            name="base")
    model = keras.Sequential([base, layers.Dense(5, activation="softmax")])
    assert not model.built
    first, history = _fit_from_scratch(model, x, y)
    _assert_trained(model, first, history)


def test_unbuilt_sequential_nested_in_an_unbuilt_sequential_trains():
    x, y = _data()
    keras.utils.set_random_seed(1)
    inner = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(8, activation="relu")])
    model = keras.Sequential([inner, layers.Dense(3, activation="softmax")])
    first, history = _fit_from_scratch(model, x, y)
    _assert_trained(model, first, history)
    assert len(model.weights) == 6


def test_functional_models_nested_both_ways_train():
    x, y = _data()
    keras.utils.set_random_seed(2)
    # a Functional model wrapping an unbuilt Sequential ...
    unbuilt = keras.Sequential([layers.Dense(8, activation="relu")])
    inp = keras.Input((6,))
    functional = keras.Model(inp, layers.Dense(8, activation="relu")(unbuilt(inp)))
    # ... nested in a Sequential without an input shape, under a new head
    model = keras.Sequential([functional, layers.Dense(3, activation="softmax")])
    first, history = _fit_from_scratch(model, x, y)
    _assert_trained(model, first, history)
    assert len(model.weights) == 6


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


class _BuildsItsHead(keras.Model):
    """A subclassed model whose head is made in build(), once the input size is known."""

    def __init__(self):
        super().__init__()
        self.body = keras.Sequential([layers.Dense(8, activation="tanh")])

    def build(self, input_shape):
        self.head = layers.Dense(input_shape[-1] // 2)

    def call(self, inputs, training=None):
        return self.head(self.body(inputs))


def test_subclassed_models_train_from_the_first_fit():
    x, y = _data()
    keras.utils.set_random_seed(3)
    model = _Subclassed()
    first, history = _fit_from_scratch(model, x, y)
    _assert_trained(model, first, history)
    model = _BuildsItsHead()
    model.compile(optimizer=Adam(0.01), loss="mse")
    first = _FirstWeights()
    history = model.fit(x, x[:, :3] * 0.5, epochs=5, batch_size=16, verbose=0, callbacks=[first])
    _assert_trained(model, first, history)


def test_a_generator_builds_the_model_in_the_first_step():
    # A generator cannot be peeked at before training: the first step builds the layers
    # and reads the weights after its forward pass.
    x, y = _data()
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Sequential([layers.Dense(8, activation="relu")]),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy")
    batches = ((x[i:i + 16], y[i:i + 16]) for _ in range(4) for i in range(0, 64, 16))
    history = model.fit(batches, epochs=4, steps_per_epoch=4, verbose=0)
    assert len(model.optimizer._trainable_variables) == len(model.trainable_weights) == 4
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert int(model.optimizer.iterations) == 16


def test_evaluate_and_predict_before_fit_then_train_on_batch():
    x, y = _data()
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Sequential([layers.Dense(8, activation="relu")]),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy")
    assert model.evaluate(x, y, verbose=0) > 0
    assert model.predict(x, verbose=0).shape == (64, 3)
    before = model.get_weights()
    first = model.train_on_batch(x, y)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_train_on_batch_builds_a_lazy_model_in_its_first_step():
    x, y = _data()
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.Sequential([layers.Dense(8, activation="relu")]),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(0.1), loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    assert len(model.optimizer._trainable_variables) == 4
    assert int(model.optimizer.iterations) == 1


def test_a_new_head_on_a_trained_base_with_the_same_optimizer():
    x, y = _data()
    keras.utils.set_random_seed(7)
    base = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu")])
    base.compile(optimizer=Adam(0.01), loss="mse")
    base.fit(x, np.zeros((64, 8), "float32"), epochs=1, batch_size=16, verbose=0)
    opt = base.optimizer
    base_slots = {k: v for k, v in opt.get_state().items() if "/" in k}
    model = keras.Sequential([base, layers.Dense(3, activation="softmax")])
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    first = _FirstWeights()
    model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[first])
    # the base kept its slots (same keys: the model's order puts the base first), the
    # head got fresh ones, and the step counter went on
    assert len(opt._trainable_variables) == 4 and int(opt.iterations) == 5
    state = opt.get_state()
    assert sorted(k for k in state if "/" in k) == sorted(
        list(base_slots) + ["2/momentum", "2/velocity", "3/momentum", "3/velocity"])


def test_optimizer_takes_new_variables_and_keeps_the_slots_it_has():
    a, b = keras.Variable(np.ones(3)), keras.Variable(np.ones(2))
    ga, gb = np.array([1.0, -2.0, 0.5]), np.array([0.25, -1.0])
    opt, ref = SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9)
    ref_a = keras.Variable(np.ones(3))
    opt.apply([ga], [a])
    ref.apply([ga], [ref_a])
    # b appears later, in front of a: the slots follow the order of this call
    opt.apply([gb, ga], [b, a])
    ref.apply([ga], [ref_a])
    np.testing.assert_array_equal(a.numpy(), ref_a.numpy())  # a's momentum carried on
    np.testing.assert_allclose(b.numpy(), 1.0 - 0.1 * gb)     # b's momentum started at zero
    state = opt.get_state()
    assert list(state) == ["iterations", "learning_rate", "0/momentum", "1/momentum"]
    np.testing.assert_allclose(state["0/momentum"], -0.1 * gb)
    np.testing.assert_array_equal(state["1/momentum"], ref.get_state()["0/momentum"])
    assert int(opt.iterations) == 2


@pytest.mark.parametrize("cls", keras.optimizers.ALL_OBJECTS, ids=lambda c: c.__name__)
def test_new_variables_keep_the_state_of_every_optimizer(cls):
    opt, ref = cls(learning_rate=0.01), cls(learning_rate=0.01)
    a, ref_a, b = (keras.Variable(np.full(3, 0.5)), keras.Variable(np.full(3, 0.5)),
                   keras.Variable(np.ones(2)))
    g = np.array([0.3, -0.2, 0.1])
    for step in range(3):
        ref.apply([g], [ref_a])
        if step == 0:
            opt.apply([g], [a])
        else:
            opt.apply([g, np.ones(2)], [a, b])  # b joins at the second step
    np.testing.assert_array_equal(a.numpy(), ref_a.numpy())
    own = {k: v for k, v in opt.get_state().items() if not k.startswith("1/")}
    assert own.keys() == ref.get_state().keys()
    for k, v in ref.get_state().items():
        np.testing.assert_array_equal(own[k], v)


def test_the_build_pass_leaves_no_state_behind():
    # fit builds a lazy model with one inference pass over one sample: a stateful RNN must
    # not keep that pass's states (of batch size 1), nor a layer its activity loss.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 5, 3)).astype("float32"), rng.integers(0, 2, 32)
    keras.utils.set_random_seed(8)
    lstm = layers.LSTM(4, stateful=True)
    model = keras.Sequential([lstm, layers.Dense(2, activation="softmax",
                                                 activity_regularizer="l2")])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy")
    seen = []
    probe = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append(
        (lstm.states, [list(l._losses) for l in model._all_layers()])))
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[probe])
    assert seen == [(None, [[] for _ in model._all_layers()])]
    assert [s.shape for s in lstm.states] == [(8, 4), (8, 4)]
