"""shendu.mixed_precision: dtype policies (checked against Keras's policy objects) and
LossScaleOptimizer."""
import numpy as np
import pytest

import shendu
from shendu import mixed_precision as mp


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    mp.set_global_policy("float32")


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16", "mixed_float16",
                                  "mixed_bfloat16", "int32"])
def test_policy_attributes_match_keras(name):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours, theirs = mp.DTypePolicy(name), keras.mixed_precision.DTypePolicy(name)
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, repr(ours), ours.get_config()) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, repr(theirs), theirs.get_config())
    assert mp.DTypePolicy.from_config(ours.get_config()) == ours


def test_policy_errors_and_aliases():
    with pytest.raises(ValueError, match="Cannot convert 'mixed_int8'"):
        mp.DTypePolicy("mixed_int8")
    with pytest.raises(ValueError, match="Invalid `policy` argument"):
        mp.set_global_policy(None)
    assert mp.Policy is mp.DTypePolicy and mp.DTypePolicy().name == "float32"
    assert mp.global_policy() == shendu.config.dtype_policy() == mp.DTypePolicy("float32")


def test_global_policy_sets_new_layers_dtype():
    mp.set_global_policy("float64")
    assert shendu.config.dtype_policy().name == "float64"
    dense = shendu.layers.Dense(2)
    y = dense(np.ones((1, 3)))
    assert dense.dtype == "float64" and dense.kernel.numpy().dtype == np.float64
    assert y.numpy().dtype == np.float64
    mp.set_global_policy(mp.DTypePolicy("float32"))
    assert shendu.layers.Dense(2).dtype == "float32"
    assert shendu.layers.Dense(2, dtype=mp.DTypePolicy("float64")).dtype == "float64"


def test_mixed_policy_trains_in_float32_and_says_so():
    with pytest.warns(UserWarning, match="float32 computation"):
        shendu.config._DTYPE_POLICY_WARNED = False
        mp.set_global_policy("mixed_float16")
    assert mp.global_policy().compute_dtype == "float16"  # Keras's value for the policy
    model = shendu.Sequential([shendu.Input((4,)), shendu.layers.Dense(3, activation="relu"),
                               shendu.layers.Dense(1)])
    assert all(layer.dtype == "float32" for layer in model.layers)
    model.compile(optimizer=mp.LossScaleOptimizer(shendu.optimizers.SGD(0.1)), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    history = model.fit(x, x[:, :1], epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x, verbose=0).dtype == np.float32


def _copy_model(seed, optimizer):
    shendu.utils.set_random_seed(seed)
    model = shendu.Sequential([shendu.Input((3,)), shendu.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_loss_scaling_gives_the_inner_optimizers_result():
    x = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32)
    y = np.ones((16, 2), np.float32)
    plain = _copy_model(5, shendu.optimizers.SGD(0.05))
    scaled = _copy_model(5, mp.LossScaleOptimizer(shendu.optimizers.SGD(0.05), initial_scale=1024))
    plain.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    scaled.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(plain.get_weights(), scaled.get_weights()):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(scaled.optimizer.iterations.numpy()) == 8


def test_dynamic_scale_skips_overflow_and_grows():
    opt = mp.LossScaleOptimizer(shendu.optimizers.SGD(1.0), initial_scale=8.0,
                                dynamic_growth_steps=2)
    w = shendu.Variable(np.array([1.0, 2.0], np.float32))
    opt.apply([np.array([np.inf, 0.0], np.float32)], [w])
    assert opt.dynamic_scale == 4.0 and np.array_equal(w.numpy(), [1.0, 2.0])
    opt.apply([np.array([4.0, 8.0], np.float32)], [w])  # unscaled: [1, 2]
    assert np.allclose(w.numpy(), [0.0, 0.0]) and opt.dynamic_scale == 4.0
    opt.apply([np.array([0.0, 0.0], np.float32)], [w])
    assert opt.dynamic_scale == 8.0
    assert float(opt.scale_loss(shendu.tensor(2.0)).numpy()) == 16.0
    opt.learning_rate = 0.5
    assert np.isclose(float(opt.inner_optimizer.learning_rate), 0.5)
    config = opt.get_config()
    back = mp.LossScaleOptimizer.from_config(config)
    assert back.dynamic_growth_steps == 2 and isinstance(back.inner_optimizer, shendu.optimizers.SGD)
    with pytest.raises(ValueError, match="initial_scale"):
        mp.LossScaleOptimizer(shendu.optimizers.SGD(), initial_scale=0)
