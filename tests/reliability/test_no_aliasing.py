"""Nothing a user holds changes when the library runs again.

Each model is run once and everything a user can keep is kept: the output of
``model(x)`` and its ``.numpy()``, each layer's output when the layers are called one by
one, a multi-output model's intermediate outputs, ``.grad`` after a PyTorch-style
backward, ``get_weights()``, ``Variable.numpy()``, ``predict`` and ``predict_on_batch``
results, and the input itself. Then the library runs again with other data (a forward
pass, a backward pass, a ``fit`` step, ``predict``, ``predict_on_batch``), and every kept
array must still hold what it held. The buffer pool lends memory to the arrays it
returns and takes it back only when they are garbage (kernels/workspace.py), so a
kept array is never a buffer that a later op writes.

Also: predictions never alias the caller's input (an identity-like model used to return
the input array itself from ``predict_on_batch``).
"""
import numpy as np
import pytest

import shendu as keras
from shendu import layers, ops

rng = np.random.default_rng(7)


def _dense():
    return [keras.Input((6,)), layers.Dense(300, activation="relu"), layers.Dense(3)]


def _conv_pool():  # the fused conv + bias + ReLU + pool path
    return [keras.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)]


def _conv_batchnorm():
    return [keras.Input((8, 8, 2)), layers.Conv2D(4, 3, padding="same"),
            layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(3)]


def _batchnorm_relu():
    return [keras.Input((6,)), layers.Dense(300), layers.BatchNormalization(),
            layers.Activation("relu"), layers.Dense(3)]


def _lstm():
    return [keras.Input((20, 4)), layers.LSTM(32, return_sequences=True), layers.LSTM(32),
            layers.Dense(3)]


def _dropout():
    return [keras.Input((6,)), layers.Dense(300, activation="relu"), layers.Dropout(0.5),
            layers.Dense(3)]


def _big_conv():
    return [keras.Input((24, 24, 3)), layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2), layers.Conv2D(16, 3, activation="relu"),
            layers.BatchNormalization(), layers.Activation("relu"), layers.Dropout(0.25),
            layers.Flatten(), layers.Dense(3)]


# (sizes such that the activations come from the pool, at 64 samples)
MODELS = {"dense": _dense, "conv_pool": _conv_pool, "conv_batchnorm": _conv_batchnorm,
          "batchnorm_relu": _batchnorm_relu, "lstm": _lstm, "dropout": _dropout,
          "big_conv": _big_conv}


def _data(stack, n=32):
    shape = stack[0].shape[1:]
    return rng.standard_normal((n,) + tuple(shape)).astype(np.float32)


class Kept:
    """Arrays a user kept, with the values they had when kept."""

    def __init__(self):
        self.items = []

    def keep(self, name, array):
        array = array.numpy() if isinstance(array, keras.Tensor) else array
        assert isinstance(array, np.ndarray), name
        self.items.append((name, array, array.copy()))

    def check(self, after):
        changed = [name for name, array, value in self.items if not np.array_equal(array, value)]
        assert not changed, f"changed by {after}: {changed}"


def _run_and_keep(model, stack, x, kept, tag):
    out = model(x)
    kept.keep(f"{tag}: model(x).numpy()", out.numpy())
    kept.keep(f"{tag}: model(x) as a Tensor", out)
    h = keras.Tensor(x)
    for layer in model.layers:  # intermediate outputs, one layer at a time
        h = layer(h)
        kept.keep(f"{tag}: {layer.name}(...)", h)
    kept.keep(f"{tag}: predict", model.predict(x, batch_size=16, verbose=0))
    kept.keep(f"{tag}: predict_on_batch", model.predict_on_batch(x))
    for v in model.trainable_weights:
        v.grad = None
    loss = ops.mean(ops.square(model(x, training=True)))
    loss.backward()
    for v in model.trainable_weights:
        kept.keep(f"{tag}: {v.path}.grad", v.grad)
        kept.keep(f"{tag}: {v.path}.numpy()", v.numpy())
    for i, w in enumerate(model.get_weights()):
        kept.keep(f"{tag}: get_weights()[{i}]", w)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_nothing_a_user_holds_changes_when_the_library_runs_again(name):
    keras.utils.set_random_seed(0)
    stack = MODELS[name]()
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="mse")
    x1, x2 = _data(stack, n=64), _data(stack, n=64)
    kept = Kept()
    kept.keep("x1", x1)
    _run_and_keep(model, stack, x1, kept, "first")
    kept.check("nothing")  # (the check itself can tell)

    model(x2)
    kept.check("another forward pass")
    model(x2, training=True)
    kept.check("a training forward pass")
    ops.mean(ops.square(model(x2, training=True))).backward()
    kept.check("another backward pass")
    model.fit(x2, np.ones((len(x2), 3), np.float32), batch_size=16, epochs=1, verbose=0)
    kept.check("a fit step")
    model.predict(x2, batch_size=16, verbose=0)
    kept.check("predict with other data")
    model.predict_on_batch(x2)
    kept.check("predict_on_batch with other data")
    _run_and_keep(model, stack, x2, Kept(), "second")
    kept.check("everything again")


def test_intermediate_outputs_of_a_functional_model_are_kept_safe():
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 3))
    a = layers.Conv2D(8, 3, activation="relu")(inp)
    b = layers.MaxPooling2D(2)(a)
    c = layers.BatchNormalization()(b)
    d = layers.Dense(4)(layers.Flatten()(c))
    model = keras.Model(inp, [a, b, c, d])
    x1, x2 = (rng.standard_normal((40, 12, 12, 3)).astype(np.float32) for _ in range(2))
    kept = Kept()
    for i, out in enumerate(model(x1)):
        kept.keep(f"model(x)[{i}]", out)
    for i, out in enumerate(model.predict(x1, verbose=0)):
        kept.keep(f"predict[{i}]", out)
    for i, out in enumerate(model.predict_on_batch(x1)):
        kept.keep(f"predict_on_batch[{i}]", out)
    for _ in range(3):
        model(x2)
        model.predict_on_batch(x2)
        ops.sum(model(x2, training=True)[-1]).backward()
    kept.check("three more forward and backward passes")


def test_a_variable_numpy_is_a_snapshot_and_a_tensor_numpy_is_shared():
    """Keras semantics for weights, PyTorch semantics for tensors (bug 5)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    dense = model.layers[0]
    before = dense.kernel.numpy()
    model.fit(rng.standard_normal((16, 4)).astype(np.float32), np.ones((16, 2), np.float32),
              epochs=1, verbose=0)
    after = dense.kernel.numpy()
    assert not np.array_equal(before, after)  # the everyday Keras check sees the update
    after[...] = 0  # a snapshot: editing it does not edit the weight
    assert not np.array_equal(dense.kernel.numpy(), after)

    t = keras.Tensor(np.arange(3, dtype=np.float32))
    t.numpy()[0] = 10  # a Tensor's numpy() shares its memory, as torch.Tensor.numpy() does
    assert t.numpy()[0] == 10


def test_a_frozen_layer_check_written_the_keras_way_works():
    keras.utils.set_random_seed(0)
    frozen, trained = layers.Dense(3, name="frozen"), layers.Dense(2, name="trained")
    model = keras.Sequential([keras.Input((4,)), frozen, trained])
    frozen.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    f0, t0 = frozen.kernel.numpy(), trained.kernel.numpy()
    model.fit(rng.standard_normal((16, 4)).astype(np.float32), np.ones((16, 2), np.float32),
              epochs=2, verbose=0)
    assert np.array_equal(frozen.kernel.numpy(), f0)
    assert not np.array_equal(trained.kernel.numpy(), t0)


IDENTITY_LIKE = {
    "Dropout": lambda: [keras.Input((6,)), layers.Dropout(0.5)],
    "Flatten": lambda: [keras.Input((2, 3)), layers.Flatten()],
    "linear Activation": lambda: [keras.Input((6,)), layers.Activation("linear")],
    "Identity": lambda: [keras.Input((6,)), layers.Identity()],
    "Reshape": lambda: [keras.Input((6,)), layers.Reshape((2, 3))],
    "Dropout, Flatten": lambda: [keras.Input((2, 3)), layers.Dropout(0.3), layers.Flatten()],
}


@pytest.mark.parametrize("name", sorted(IDENTITY_LIKE))
def test_predictions_never_alias_the_input(name):
    """Bug 11: editing a prediction must not edit x (nor x a prediction)."""
    stack = IDENTITY_LIKE[name]()
    model = keras.Sequential(stack)
    x = _data(stack, n=5)
    original = x.copy()
    results = {"predict_on_batch": model.predict_on_batch(x),
               "predict": model.predict(x, verbose=0),
               "model(x).numpy()": model(x).numpy(),
               "model(x, training=True).numpy()": model(x, training=True).numpy()}
    for how, y in results.items():
        assert not np.shares_memory(y, x), f"{how} aliases the input"
        if "training" not in how:  # (training=True drops units)
            np.testing.assert_array_equal(y.reshape(x.shape), original, err_msg=how)
        y[...] = -1
    np.testing.assert_array_equal(x, original)
