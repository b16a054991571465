"""Dot / dot: every axes form against real Keras, shapes, gradcheck, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import gradcheck


CASES = [((4, 3), (4, 3), 1), ((4, 3), (4, 3), -1), ((2, 3, 5), (2, 5, 4), (2, 1)),
         ((2, 3, 5), (2, 3, 4), 1), ((2, 5), (2, 5, 4), (1, 1)), ((2, 3, 5), (2, 5), (2, 1)),
         ((2, 3, 4, 5), (2, 5, 6), (3, 1)), ((2, 3, 4), (2, 3, 4), (2, 2))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("s1, s2, axes", CASES)
def test_matches_keras(s1, s2, axes, normalize):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal(s1).astype("float32"), rng.standard_normal(s2).astype("float32")
    layer = layers.Dot(axes=axes, normalize=normalize)
    out = layer([x1, x2])
    ref = np.asarray(keras.layers.Dot(axes=axes, normalize=normalize)([x1, x2]))
    assert out.shape == ref.shape == layer.compute_output_shape([s1, s2])
    assert np.linalg.norm(out.numpy() - ref) <= 1e-5 * np.linalg.norm(ref)
    sym = layers.Dot(axes=axes)([shendu.Input(s1[1:]), shendu.Input(s2[1:])])
    assert sym.shape == (None,) + ref.shape[1:]


@pytest.mark.parametrize("normalize", [False, True])
def test_gradcheck_and_config(normalize):
    rng = np.random.default_rng(1)
    layer = layers.Dot(axes=(2, 1), normalize=normalize, dtype="float64")
    gradcheck(lambda a, b: layer([a, b]), rng.standard_normal((2, 3, 4)),
              rng.standard_normal((2, 4, 2)))
    clone = layers.Dot.from_config(layer.get_config())
    assert clone.axes == (2, 1) and clone.normalize is normalize


def test_functional_dot_and_training():
    a, b = shendu.Input((3,)), shendu.Input((3,))
    model = shendu.Model([a, b], layers.Dense(1)(layers.dot([a, b], axes=1, normalize=True)))
    x1 = np.random.default_rng(2).standard_normal((8, 3)).astype("float32")
    assert model.predict([x1, x1], verbose=0).shape == (8, 1)
    model.compile("sgd", "mse")
    hist = model.fit([x1, -x1], np.zeros((8, 1)), epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


@pytest.mark.parametrize("kw, inputs, err, match", [
    ({"axes": "x"}, None, TypeError, r"Dot: `axes`.*Received: axes='x'"),
    ({"axes": (1, 2, 3)}, None, ValueError, r"Dot: `axes`.*Received: axes=\(1, 2, 3\)"),
    ({"axes": 1}, [(2, 3), (2, 4)], ValueError, r"Dot: incompatible.*3 \(at axis 1\) != 4"),
    ({"axes": 0}, [(2, 3), (2, 3)], ValueError, r"Dot: `axes` must name a non-batch axis"),
    ({"axes": 1}, [(2, 3)], ValueError, r"Dot:.*list of 2 inputs"),
])
def test_errors(kw, inputs, err, match):
    with pytest.raises(err, match=match):
        layer = layers.Dot(**kw)
        layer([np.zeros(s, "float32") for s in inputs])
