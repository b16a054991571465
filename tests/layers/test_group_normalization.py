"""GroupNormalization and UnitNormalization: shared layer check, real Keras with the same
weights, errors."""
import numpy as np
import pytest

from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("kw, shape", [
    ({"groups": 2}, (2, 5, 4)), ({"groups": -1}, (2, 3, 4)), ({"groups": 1}, (3, 6)),
    ({"groups": 3, "axis": 1}, (2, 6, 2, 2)), ({"groups": 2, "center": False}, (2, 2, 2, 4)),
    ({"groups": 4, "scale": False, "epsilon": 1e-5}, (2, 3, 8)),
])
def test_group_norm_shared_check_and_keras(kw, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32") * 2 + 1
    n_train = int(kw.get("center", True)) + int(kw.get("scale", True))
    layer = run_layer_test(layers.GroupNormalization, kw, shape, shape, input_data=x,
                           expected_num_trainable_weights=n_train)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref = keras.layers.GroupNormalization(**kw)
    ref.build(shape)
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(w.shape).astype("float32") for w in ref.weights]
    ref.set_weights(ws)
    layer.set_weights(ws)
    assert [w.path.split("/")[-1] for w in layer.weights] == [w.path.split("/")[-1] for w in ref.weights]
    want = np.asarray(ref(x))
    assert np.linalg.norm(layer(x).numpy() - want) <= 1e-5 * np.linalg.norm(want)
    assert layer.get_config()["groups"] == ref.get_config()["groups"]


@pytest.mark.parametrize("kw, shape, match", [
    ({"groups": 4}, (2, 3), r"GroupNormalization: the number of groups \(4\) cannot be more"),
    ({"groups": 2}, (2, 3), r"GroupNormalization: the number of channels \(3\) must be a multiple"),
    ({"groups": 0}, None, r"Received: groups=0"),
    ({"axis": 0}, (2, 4), r"GroupNormalization: `axis` must be a non-batch axis"),
])
def test_group_norm_errors(kw, shape, match):
    with pytest.raises(ValueError, match=match):
        layers.GroupNormalization(**kw)(np.zeros(shape, "float32"))


@pytest.mark.parametrize("kw, shape", [({}, (3, 4)), ({"axis": [1, 2]}, (2, 3, 4)),
                                       ({"axis": 1}, (2, 3, 4))])
def test_unit_norm_shared_check_and_keras(kw, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = run_layer_test(layers.UnitNormalization, kw, shape, shape, input_data=x,
                           expected_num_trainable_weights=0)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    np.testing.assert_allclose(layer(x).numpy(), np.asarray(keras.layers.UnitNormalization(**kw)(x)),
                               rtol=1e-6, atol=1e-7)
    assert layer.get_config()["axis"] == keras.layers.UnitNormalization(**kw).get_config()["axis"]
    with pytest.raises(TypeError, match=r"UnitNormalization: `axis`.*Received: axis='x'"):
        layers.UnitNormalization(axis="x")


@pytest.mark.parametrize("kw, shape", [({}, (3, 4)), ({"axis": [1, 2]}, (2, 3, 4)),
                                       ({"axis": -1, "epsilon": 1e-3}, (2, 3, 4))])
def test_rms_norm_shared_check_and_keras(kw, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = run_layer_test(layers.RMSNormalization, kw, shape, shape, input_data=x,
                           expected_num_trainable_weights=1)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ref = keras.layers.RMSNormalization(**kw)
    ref.build(shape)
    scale = np.random.default_rng(1).standard_normal(ref.scale.shape).astype("float32")
    ref.set_weights([scale])
    layer.set_weights([scale])
    want = np.asarray(ref(x))
    assert np.linalg.norm(layer(x).numpy() - want) <= 1e-5 * np.linalg.norm(want)
    assert layer.get_config()["axis"] == ref.get_config()["axis"]
    assert layer.weights[0].path.endswith("scale")
    with pytest.raises(ValueError, match=r"RMSNormalization: axis 3 is out of bounds"):
        layers.RMSNormalization(axis=3)(x)
