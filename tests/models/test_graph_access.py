"""The symbolic graph: ``layer.input``/``output``, ``model.inputs``/``outputs``/``input``/
``output``, and the sub-models Keras programs cut from them (Grad-CAM, feature extraction,
transfer learning), for Sequential and Functional bases; weight order as Keras 3."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def _convnet(sequential=True):
    shendu.utils.set_random_seed(0)
    stack = [layers.Conv2D(4, 3, activation="relu", name="conv"),
             layers.BatchNormalization(name="bn"), layers.Flatten(name="flat"),
             layers.Dense(5, activation="relu", name="hidden"), layers.Dense(2, name="head")]
    if sequential:
        return keras.Sequential([keras.Input((8, 8, 3))] + stack)
    x = inputs = keras.Input((8, 8, 3))
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def _data(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8, 8, 3)).astype(np.float32)


@pytest.mark.parametrize("sequential", [True, False])
def test_layers_and_model_expose_symbolic_inputs_and_outputs(sequential):
    model = _convnet(sequential)
    conv = model.get_layer("conv")
    assert conv.output.shape == (None, 6, 6, 4)
    assert conv.input is model.inputs[0] and model.input is model.inputs[0]
    assert model.get_layer("flat").output.shape == (None, 144)
    assert model.get_layer(index=-1).output is model.output is model.outputs[0]
    assert model.layers[-3].output is model.get_layer("flat").output
    assert model.get_layer("hidden").input is model.get_layer("flat").output


@pytest.mark.parametrize("sequential", [True, False])
def test_grad_cam_submodel_shares_weights_and_computes_both(sequential):
    model = _convnet(sequential)
    grad_model = keras.Model(inputs=model.inputs,
                             outputs=[model.get_layer("conv").output, model.output])
    x = _data()
    conv_out, preds = grad_model(x)
    assert conv_out.shape == (6, 6, 6, 4) and preds.shape == (6, 2)
    np.testing.assert_array_equal(preds.numpy(), model(x).numpy())
    conv = model.get_layer("conv")
    np.testing.assert_array_equal(conv_out.numpy(), conv(x).numpy())
    assert all(a is b for a, b in zip(grad_model.weights, model.weights))
    # Gradients of the sub-model's score reach the base model's own weights.
    conv.kernel.zero_grad()
    _, preds = grad_model(x)
    preds[:, 1].sum().backward()
    assert conv.kernel.grad is not None and np.abs(conv.kernel.grad).sum() > 0


@pytest.mark.parametrize("sequential", [True, False])
def test_feature_extractor_and_transfer_learning_train(sequential):
    base = _convnet(sequential)
    features = keras.Model(base.input, base.layers[-3].output)
    assert features(_data()).shape == (6, 144)
    # Transfer learning: freeze the base, train a new head on its features.
    base.trainable = False
    x = keras.layers.Dense(3, name="new_head")(base.get_layer("hidden").output)
    clf = keras.Model(base.input, x)
    assert [w.path for w in clf.trainable_weights] == ["new_head/kernel", "new_head/bias"]
    frozen = [w.numpy().copy() for w in base.weights]
    head = clf.get_layer("new_head").kernel.numpy().copy()
    clf.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    clf.fit(_data(), np.array([0, 1, 2, 0, 1, 2]), epochs=2, verbose=0)
    for before, w in zip(frozen, base.weights):
        np.testing.assert_array_equal(before, w.numpy())
    assert not np.array_equal(head, clf.get_layer("new_head").kernel.numpy())
    # Unfrozen, the shared weights train through the sub-model.
    base.trainable = True
    kernel = base.get_layer("conv").kernel.numpy().copy()
    features.compile(optimizer="sgd", loss="mse")
    features.fit(_data(), np.ones((6, 144), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(kernel, base.get_layer("conv").kernel.numpy())


def test_submodel_of_a_sequential_saves_and_loads(tmp_path):
    model = _convnet(sequential=True)
    sub = keras.Model(model.inputs, model.get_layer("hidden").output)
    x = _data()
    path = str(tmp_path / "sub.keras")
    sub.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), sub.predict(x, verbose=0))


def test_sequential_graph_appears_with_its_input_shape():
    model = keras.Sequential([layers.Dense(3, name="d1"), layers.Dense(2, name="d2")])
    with pytest.raises(AttributeError, match="no defined inputs"):
        model.inputs
    with pytest.raises(AttributeError, match="never been called"):
        model.get_layer("d1").output
    model(np.zeros((4, 5), np.float32))
    assert model.inputs[0].shape == (None, 5)
    assert model.get_layer("d1").output.shape == (None, 3)
    shaped = keras.Sequential([layers.Dense(3, input_shape=(7,)), layers.Dense(2)])
    assert shaped.input.shape == (None, 7) and shaped.output.shape == (None, 2)
    # Adding and popping rebuild the graph; the layers keep one node each.
    shaped.add(layers.Dense(4))
    assert shaped.output.shape == (None, 4)
    assert [len(l._inbound_nodes) for l in shaped.layers] == [1, 1, 1]
    shaped.pop()
    assert shaped.output.shape == (None, 2)


def test_input_dtype_of_a_sequential_is_kept():
    model = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(10, 3)])
    assert model.input.dtype == np.dtype("int32") and model.output.shape == (None, 5, 3)


def test_uncalled_and_shared_layers_answer_as_keras():
    keras_ = pytest.importorskip("keras", reason="the reference behaviour is real Keras 3's")
    for lib in (keras, keras_):
        with pytest.raises(AttributeError, match="never been called"):
            lib.layers.Dense(2).output
        with pytest.raises(AttributeError, match="never been called"):
            lib.layers.Dense(2).input
        # A shared layer answers from its first call (Keras 3; Keras 2 raised instead).
        dense = lib.layers.Dense(3)
        a, b = lib.Input((2,)), lib.Input((2,))
        first, _ = dense(a), dense(b)
        assert dense.output is first and dense.input is a
        # An InputLayer has no inputs; its output is the Input tensor.
        inp = lib.Input((4,))
        m = lib.Model(inp, lib.layers.Dense(1)(inp))
        assert m.layers[0].output is inp and list(m.layers[0].input) == []
        assert m.input is inp and lib.Model([inp], m.output).input == [inp]


def test_weight_order_matches_keras_and_takes_its_weights():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3")

    def build(lib):
        return lib.Sequential([lib.Input((6, 6, 2)), lib.layers.Conv2D(3, 3, name="conv"),
                               lib.layers.BatchNormalization(name="bn"),
                               lib.layers.Flatten(), lib.layers.Dense(2, name="dense")])
    ours, theirs = build(keras), build(keras_)
    assert [w.path for w in ours.weights] == [w.path.split("/", 1)[1] for w in theirs.weights]
    assert [w.path for w in ours.non_trainable_weights] == ["bn/moving_mean", "bn/moving_variance"]
    rng = np.random.default_rng(3)
    theirs.set_weights([(rng.uniform(0.5, 1.5, w.shape) if "variance" in w.path
                         else rng.standard_normal(w.shape)).astype(np.float32)
                        for w in theirs.weights])
    ours.set_weights(theirs.get_weights())
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    want = np.asarray(theirs(x, training=False))
    got = ours(x, training=False).numpy()
    assert np.linalg.norm(got - want) <= 1e-5 * np.linalg.norm(want)


def test_frozen_sublayer_moves_to_non_trainable_in_place():
    model = _convnet()
    model.get_layer("conv").trainable = False
    assert [w.path for w in model.weights][:2] == ["conv/kernel", "conv/bias"]
    assert "conv/kernel" in [w.path for w in model.non_trainable_weights]
    assert "conv/kernel" not in [w.path for w in model.trainable_weights]
    assert len(model.weights) == len(model.trainable_weights) + len(model.non_trainable_weights)
