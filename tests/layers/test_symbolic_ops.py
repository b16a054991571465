"""Arithmetic on symbolic tensors in a Functional model (``res = x + inputs``): the graph
records each op, replays it on real tensors, trains, clones; outputs equal Keras's."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def _residual(lib):
    inputs = lib.Input((4,), name="x")
    h = lib.layers.Dense(4, name="d")(inputs)
    res = (h + inputs) * 0.5 - 1.0
    head = -res[:, :2]
    out = 2.0 / (abs(head) + 1.0)
    return lib.Model(inputs, [h + inputs, out ** 2, 1.0 + out])


def test_operators_build_a_graph_that_runs_and_matches_keras():
    keras_ = pytest.importorskip("keras", reason="compares with real Keras 3")
    ours, theirs = _residual(keras), _residual(keras_)
    assert [o.shape for o in ours.outputs] == [tuple(o.shape) for o in theirs.outputs]
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for a, b in zip(ours.predict(x, verbose=0), theirs.predict(x, verbose=0)):
        assert np.linalg.norm(a - np.asarray(b)) <= 1e-5 * np.linalg.norm(b)


def test_graph_with_operators_trains_and_clones():
    shendu.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    h = layers.Dense(3, name="d")(inputs)
    model = keras.Model(inputs, layers.Dense(1, name="out")(h + inputs))
    assert keras.utils.get_source_inputs(model.output) == [inputs]
    shifted = np.ones(3, np.float32) + h  # an array on the left defers to the tensor
    assert shifted.shape == (None, 3)
    kernel = model.get_layer("d").kernel.numpy()
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32), epochs=2, verbose=0)
    assert not np.array_equal(kernel, model.get_layer("d").kernel.numpy())
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    x = np.random.default_rng(1).random((2, 3), dtype=np.float32)
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_saving_the_architecture_names_the_op():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(3)(inputs) + inputs)
    with pytest.raises(Exception, match="applies 'add' to symbolic tensors"):
        model.to_json()


def test_symbolic_tensors_stay_identity_compared():
    a = keras.Input((2,))
    assert a == a and a != keras.Input((2,)) and len({a, a}) == 1
    with pytest.raises(TypeError):
        a < 1  # noqa: B015 - comparisons are not graph ops
