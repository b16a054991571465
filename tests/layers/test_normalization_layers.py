"""BatchNormalization and LayerNormalization: shared check, hand cases, Keras 3 modes, PyTorch parity."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import layer_gradcheck, run_layer_test


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


# --- BatchNormalization -------------------------------------------------------

@pytest.mark.parametrize("kwargs, in_shape, gc_shape, n_train", [
    ({}, (4, 3), (4, 3), 2),
    ({"momentum": 0.9, "epsilon": 1e-5}, (3, 4, 4, 2), (2, 3, 3, 2), 2),
    ({"axis": 1, "center": False}, (4, 3, 5), (3, 2, 4), 1),
    ({"scale": False, "gamma_regularizer": "l2"}, (2, 5, 3), (2, 4, 2), 1),
])
def test_batch_norm_shared_check(kwargs, in_shape, gc_shape, n_train):
    layer = run_layer_test(layers.BatchNormalization, kwargs, in_shape, in_shape,
                           expected_num_trainable_weights=n_train,
                           expected_num_non_trainable_weights=2, gradcheck_shape=gc_shape)
    names = [w.path.split("/")[-1] for w in layer.weights]
    assert names[-2:] == ["moving_mean", "moving_variance"]


@pytest.mark.parametrize("kwargs, shape", [({}, (4, 3)), ({"axis": 1}, (3, 2, 4))])
def test_batch_norm_training_mode_gradcheck(kwargs, shape):
    # run_layer_test checks inference mode; the fused training path is checked here.
    bn = layers.BatchNormalization(**kwargs, dtype="float64", gamma_initializer="random_normal",
                                   beta_initializer="random_normal")
    layer_gradcheck(bn, np.random.default_rng(0).standard_normal(shape), training=True)


def test_batch_norm_hand_computed():
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    bn.build((None, 1))
    # weights order: gamma, beta (trainable), moving_mean, moving_variance
    bn.set_weights([np.array([2.0]), np.array([1.0]), np.array([0.0]), np.array([1.0])])
    x = np.array([[0.0], [4.0]], np.float32)  # mean 2, biased variance 4
    y = bn(x, training=True)
    np.testing.assert_allclose(y.numpy()[:, 0], [2 * -2 / np.sqrt(4.001) + 1, 2 * 2 / np.sqrt(4.001) + 1],
                               rtol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.2], rtol=1e-6)  # 0.9*0 + 0.1*2
    np.testing.assert_allclose(bn.moving_variance.numpy(), [1.3], rtol=1e-6)  # 0.9*1 + 0.1*4 (biased)
    y = bn(x, training=False)
    np.testing.assert_allclose(y.numpy()[:, 0], 2 * (np.array([0.0, 4.0]) - 0.2) / np.sqrt(1.301) + 1,
                               rtol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.2], rtol=1e-6)  # inference: no update
    assert y.dtype == np.float32


def test_batch_norm_default_call_is_inference_and_frozen_layer_runs_in_inference_mode():
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) * 3 + 5
    bn = layers.BatchNormalization()
    y = bn(x)  # training=None: inference with the initial moving stats (0, 1)
    np.testing.assert_allclose(y.numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    bn.trainable = False
    y = bn(x, training=True)  # Keras 3: trainable=False means inference mode, no update
    np.testing.assert_allclose(y.numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), 1)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    bn.trainable = True
    bn(x, training=True)
    assert np.abs(bn.moving_mean.numpy()).min() > 0


def test_batch_norm_defaults_and_config():
    bn = layers.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (-1, 0.99, 1e-3, True, True)
    cfg = bn.get_config()
    for key in ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"):
        assert key in cfg
    assert cfg["moving_variance_initializer"]["class_name"] == "Ones"


def test_batch_norm_shape_errors():
    with pytest.raises(ValueError, match="Received: momentum=2"):
        layers.BatchNormalization(momentum=2)
    bn = layers.BatchNormalization(name="bn0")
    bn(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError) as e:
        bn(np.zeros((2, 4), np.float32))
    msg = str(e.value)
    assert "bn0" in msg and "BatchNormalization" in msg and "size 3" in msg and "(2, 4)" in msg
    with pytest.raises(ValueError) as e:
        layers.BatchNormalization(axis=3, name="bn1")(np.zeros((2, 4), np.float32))
    assert "bn1" in str(e.value) and "(2, 4)" in str(e.value)


@pytest.mark.torch
def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    rng = np.random.default_rng(0)
    C = 3
    bn = layers.BatchNormalization(momentum=0.9, gamma_initializer="random_normal",
                                   beta_initializer="random_normal")
    tbn = torch.nn.BatchNorm2d(C, eps=1e-3, momentum=0.1)  # torch momentum = 1 - Keras momentum
    xs = [(rng.standard_normal((4, 5, 6, C)) * 2 + 1).astype(np.float32) for _ in range(4)]
    bn.build((None, 5, 6, C))
    gamma, beta = bn.gamma.numpy(), bn.beta.numpy()
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(gamma))
        tbn.bias.copy_(torch.tensor(beta))
    # Keras updates the moving variance with the *biased* batch variance, PyTorch with the
    # unbiased one: the expected moving variance is tracked here with Keras's rule.
    mv = np.ones(C, np.float32)
    errs = {"train_out": 0.0, "grad_x": 0.0, "grad_gamma": 0.0, "grad_beta": 0.0,
            "moving_mean": 0.0, "moving_var": 0.0}
    tbn.train()
    for x in xs:
        xt = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        yt = tbn(xt)
        g = rng.standard_normal(x.shape).astype(np.float32)
        yt.backward(torch.tensor(g.transpose(0, 3, 1, 2).copy()))
        xs_ = shendu.tensor(x, requires_grad=True)
        for w in bn.trainable_weights:
            w.grad = None
        y = bn(xs_, training=True)
        (y * shendu.tensor(g)).sum().backward()
        mv = mv * np.float32(0.9) + np.float32(0.1) * torch.tensor(x).var(dim=(0, 1, 2), unbiased=False).numpy()
        errs["train_out"] = max(errs["train_out"], rel_err(y.numpy(), yt.detach().numpy().transpose(0, 2, 3, 1)))
        errs["grad_x"] = max(errs["grad_x"], rel_err(xs_.grad.numpy(), xt.grad.numpy().transpose(0, 2, 3, 1)))
        errs["grad_gamma"] = max(errs["grad_gamma"], rel_err(bn.gamma.grad.numpy(), tbn.weight.grad.numpy()))
        errs["grad_beta"] = max(errs["grad_beta"], rel_err(bn.beta.grad.numpy(), tbn.bias.grad.numpy()))
        tbn.weight.grad = tbn.bias.grad = None
        errs["moving_mean"] = max(errs["moving_mean"], rel_err(bn.moving_mean.numpy(), tbn.running_mean.numpy()))
        errs["moving_var"] = max(errs["moving_var"], rel_err(bn.moving_variance.numpy(), mv))
    # inference with the same moving statistics
    with torch.no_grad():
        tbn.running_var.copy_(torch.tensor(bn.moving_variance.numpy()))
    tbn.eval()
    x = rng.standard_normal((2, 5, 6, C)).astype(np.float32)
    y = bn(x, training=False).numpy()
    yt = tbn(torch.tensor(x.transpose(0, 3, 1, 2).copy())).detach().numpy().transpose(0, 2, 3, 1)
    errs["infer_out"] = rel_err(y, yt)
    print("BatchNormalization vs torch:", {k: f"{v:.2e}" for k, v in errs.items()})
    assert max(errs.values()) <= 1e-5


# --- LayerNormalization -------------------------------------------------------

@pytest.mark.parametrize("kwargs, in_shape, gc_shape, n_train", [
    ({}, (3, 5), (2, 4), 2),
    ({"axis": [1, 2], "epsilon": 1e-5}, (2, 3, 4), (2, 2, 3), 2),
    ({"center": False}, (2, 3, 4), (2, 2, 3), 1),
    ({"rms_scaling": True}, (3, 4), (2, 4), 1),
    ({"axis": 1}, (2, 3, 4), (2, 3, 2), 2),
])
def test_layer_norm_shared_check(kwargs, in_shape, gc_shape, n_train):
    run_layer_test(layers.LayerNormalization, kwargs, in_shape, in_shape,
                   expected_num_trainable_weights=n_train, expected_num_non_trainable_weights=0,
                   gradcheck_shape=gc_shape)


def test_layer_norm_hand_computed_and_weights():
    ln = layers.LayerNormalization(epsilon=1e-3)
    ln.build((None, 2))
    ln.set_weights([np.array([2.0, 1.0]), np.array([0.5, 0.0])])
    y = ln(np.array([[1.0, 3.0]], np.float32))  # mean 2, variance 1
    s = 1 / np.sqrt(1.001)
    np.testing.assert_allclose(y.numpy(), [[2 * -s + 0.5, s]], rtol=1e-6)
    ln2 = layers.LayerNormalization(axis=[1, 2])
    ln2(np.zeros((2, 3, 4), np.float32))
    assert ln2.gamma.shape == (3, 4) and ln2.beta.shape == (3, 4)
    rms = layers.LayerNormalization(rms_scaling=True, epsilon=1e-6)
    x = np.array([[3.0, 4.0]], np.float32)
    np.testing.assert_allclose(rms(x).numpy(), x / np.sqrt(12.5 + 1e-6), rtol=1e-6)


def test_layer_norm_shape_errors():
    ln = layers.LayerNormalization(name="ln0")
    ln(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError) as e:
        ln(np.zeros((2, 5), np.float32))
    assert "ln0" in str(e.value) and "(3,)" in str(e.value) and "(2, 5)" in str(e.value)
    with pytest.raises(ValueError) as e:
        layers.LayerNormalization(axis=2, name="ln1")(np.zeros((2, 3), np.float32))
    assert "ln1" in str(e.value) and "(2, 3)" in str(e.value)


@pytest.mark.torch
def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6)).astype(np.float32) * 3 + 1
    ln = layers.LayerNormalization(gamma_initializer="random_normal", beta_initializer="random_normal")
    y = ln(x).numpy()
    tln = torch.nn.LayerNorm(6, eps=1e-3)
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(ln.gamma.numpy()))
        tln.bias.copy_(torch.tensor(ln.beta.numpy()))
    err = rel_err(y, tln(torch.tensor(x)).detach().numpy())
    print(f"LayerNormalization vs torch: {err:.2e}")
    assert err <= 1e-5
