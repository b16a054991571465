"""Keras losses: functions, classes, reductions, the registry, and PyTorch parity."""
import warnings

import numpy as np
import pytest

import shendu
from shendu import losses
from shendu.losses import losses as losses_module
from shendu.testing import gradcheck

RNG = np.random.default_rng(11)
EPS = 1e-7


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ---- gradients of every function ----------------------------------------------------------

def _grad_cases():
    y = RNG.standard_normal((2, 3))
    p = y + RNG.uniform(0.2, 0.6, (2, 3)) * RNG.choice([-1, 1], (2, 3))  # no kink at p == y
    pos_t, pos_p = RNG.uniform(0.2, 2, (2, 3)), RNG.uniform(0.2, 2, (2, 3))
    prob_t, prob_p = RNG.dirichlet(np.ones(3), 2), RNG.uniform(0.1, 0.9, (2, 3))
    signs = np.array([[1.0, -1, 1], [-1, -1, 1]])
    margins = np.array([[0.3, 0.2, -0.4], [0.5, -1.7, 0.1]])  # 1 - t p away from 0
    onehot = np.eye(3)[[2, 0]]
    return {
        "mean_squared_error": (losses.mean_squared_error, y, p),
        "mean_absolute_error": (losses.mean_absolute_error, y, p),
        "mean_absolute_percentage_error": (losses.mean_absolute_percentage_error, y, p),
        "mean_squared_logarithmic_error": (losses.mean_squared_logarithmic_error, pos_t, pos_p),
        "huber": (lambda a, b: losses.huber(a, b, delta=0.5), y, p),
        "log_cosh": (losses.log_cosh, y, p),
        "cosine_similarity": (losses.cosine_similarity, y, p),
        "kl_divergence": (losses.kl_divergence, prob_t, prob_p),
        "poisson": (losses.poisson, pos_t, pos_p),
        "hinge": (losses.hinge, signs, margins),
        "squared_hinge": (losses.squared_hinge, signs, margins),
        "categorical_hinge": (losses.categorical_hinge, onehot, margins),
        "binary_crossentropy": (lambda a, b: losses.binary_crossentropy(a, b, label_smoothing=0.1),
                                prob_t, prob_p),
        "binary_crossentropy_logits": (
            lambda a, b: losses.binary_crossentropy(a, b, from_logits=True), prob_t, y),
        "binary_focal": (lambda a, b: losses.binary_focal_crossentropy(
            a, b, apply_class_balancing=True), prob_t, prob_p),
        "binary_focal_logits": (lambda a, b: losses.binary_focal_crossentropy(
            a, b, from_logits=True, gamma=1.5), prob_t, y),
        "categorical_crossentropy": (
            lambda a, b: losses.categorical_crossentropy(a, b, label_smoothing=0.2), prob_t,
            prob_p),
        "categorical_crossentropy_logits": (
            lambda a, b: losses.categorical_crossentropy(a, b, from_logits=True), prob_t, y),
        "sparse_categorical_crossentropy": (
            lambda b: losses.sparse_categorical_crossentropy(np.array([2, 0]), b), prob_p),
        "sparse_categorical_crossentropy_logits": (
            lambda b: losses.sparse_categorical_crossentropy(np.array([[1], [2]]), b,
                                                             from_logits=True), y),
    }


@pytest.mark.parametrize("name", list(_grad_cases()))
def test_gradcheck_every_loss_function(name):
    fn, *inputs = _grad_cases()[name]
    errors = gradcheck(fn, *inputs, atol=1e-7, rtol=1e-6)
    assert max(e for e in errors if e is not None) < 1e-6


# ---- forward values against NumPy formulas ---------------------------------------------------

def test_regression_values():
    y, p = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    d = p - y
    np.testing.assert_allclose(losses.mean_squared_error(y, p).numpy(), (d ** 2).mean(-1))
    np.testing.assert_allclose(losses.mean_absolute_error(y, p).numpy(), np.abs(d).mean(-1))
    np.testing.assert_allclose(losses.mean_absolute_percentage_error(y, p).numpy(),
                               100 * np.abs(d / np.maximum(np.abs(y), EPS)).mean(-1))
    np.testing.assert_allclose(
        losses.mean_squared_logarithmic_error(y, p).numpy(),
        ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2).mean(-1))
    np.testing.assert_allclose(losses.log_cosh(y, p).numpy(), np.log(np.cosh(d)).mean(-1))
    np.testing.assert_allclose(losses.huber(y, p, delta=0.7).numpy(), np.where(
        np.abs(d) <= 0.7, d ** 2 / 2, 0.7 * np.abs(d) - 0.245).mean(-1))
    cos = (y * p).sum(-1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1)
    np.testing.assert_allclose(losses.cosine_similarity(y, p).numpy(), -cos)
    # (N,) targets against (N, 1) predictions are reconciled, as Keras
    np.testing.assert_allclose(losses.mean_squared_error(y[:, 0], p[:, :1]).numpy(), d[:, 0] ** 2)


def test_probabilistic_and_hinge_values():
    t, p = RNG.dirichlet(np.ones(3), 4), RNG.uniform(0.05, 0.95, (4, 3))
    np.testing.assert_allclose(losses.kl_divergence(t, p).numpy(), (t * np.log(t / p)).sum(-1))
    np.testing.assert_allclose(losses.poisson(t, p).numpy(), (p - t * np.log(p + EPS)).mean(-1))
    labels01 = (t > 0.3).astype(float)
    s = 2 * labels01 - 1
    np.testing.assert_allclose(losses.hinge(labels01, p - 0.5).numpy(),
                               np.maximum(1 - s * (p - 0.5), 0).mean(-1))
    np.testing.assert_allclose(losses.squared_hinge(s, p).numpy(),
                               (np.maximum(1 - s * p, 0) ** 2).mean(-1))
    onehot = np.eye(3)[[0, 2, 1, 1]]
    pos, neg = (onehot * p).sum(-1), ((1 - onehot) * p).max(-1)
    np.testing.assert_allclose(losses.categorical_hinge(onehot, p).numpy(),
                               np.maximum(neg - pos + 1, 0))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(losses.binary_crossentropy(t, p).numpy(), bce.mean(-1))
    ts = t * 0.8 + 0.1
    np.testing.assert_allclose(losses.binary_crossentropy(t, p, label_smoothing=0.2).numpy(),
                               (-(ts * np.log(p) + (1 - ts) * np.log(1 - p))).mean(-1))
    pt = t * p + (1 - t) * (1 - p)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(t, p, gamma=2.0).numpy(),
                               ((1 - pt) ** 2 * bce).mean(-1))
    q = p / p.sum(-1, keepdims=True)
    tc = t * 0.7 + 0.1
    np.testing.assert_allclose(
        losses.categorical_crossentropy(t, p, label_smoothing=0.3).numpy(),
        -(tc * np.log(q)).sum(-1))
    z = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(losses.categorical_crossentropy(t, z, from_logits=True).numpy(),
                               -(t * np.log(_softmax(z))).sum(-1))
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(np.array([0, 2, 1, 1]), z, from_logits=True)
        .numpy(), -np.log(_softmax(z))[np.arange(4), [0, 2, 1, 1]])


def test_extreme_logits_and_saturated_probabilities_are_finite():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 0.0, 1000.0]], np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for fn, target in [
            (lambda t, a: losses.categorical_crossentropy(t, a, from_logits=True),
             np.eye(3)[[1, 0]]),
            (lambda t, a: losses.sparse_categorical_crossentropy(t, a, from_logits=True), [1, 0]),
            (lambda t, a: losses.binary_crossentropy(t, a, from_logits=True), np.eye(3)[[1, 0]]),
            (lambda t, a: losses.binary_focal_crossentropy(t, a, from_logits=True),
             np.eye(3)[[1, 0]]),
            (lambda t, a: losses.categorical_crossentropy(t, shendu.ops.softmax(a)),
             np.eye(3)[[1, 0]]),
            (lambda t, a: losses.binary_crossentropy(t, shendu.ops.sigmoid(a)), np.eye(3)[[1, 0]]),
        ]:
            x = shendu.tensor(z, requires_grad=True)
            loss = fn(np.asarray(target), x)
            loss.sum().backward()
            assert np.all(np.isfinite(loss.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    # from probabilities the clip bounds the loss at -log(eps), as Keras
    loss = losses.categorical_crossentropy(np.eye(3)[[1]], shendu.ops.softmax(z[:1]))
    assert float(loss.numpy()[0]) == pytest.approx(-np.log(np.float32(EPS)), rel=1e-3)


# ---- the categorical-crossentropy-with-integer-labels rule ------------------------------------

def test_categorical_crossentropy_with_integer_labels(monkeypatch):
    monkeypatch.setattr(losses_module, "_warned_integer_labels", False)
    z = RNG.standard_normal((5, 4))
    probs = _softmax(z)
    k = np.array([0, 3, 1, 2, 3])
    sparse = losses.sparse_categorical_crossentropy(k, probs).numpy()
    with pytest.warns(UserWarning, match="sparse_categorical_crossentropy") as record:
        a = losses.categorical_crossentropy(k, probs).numpy()
        b = losses.categorical_crossentropy(k[:, None], probs).numpy()
        c = losses.CategoricalCrossentropy()(k, probs)
        d = losses.CategoricalCrossentropy(from_logits=True)(k[:, None].astype(np.int32), z)
    assert len([w for w in record if "integer labels" in str(w.message)]) == 1
    np.testing.assert_allclose(a, sparse)
    np.testing.assert_allclose(b, sparse)
    assert float(c) == pytest.approx(sparse.mean())
    assert float(d) == pytest.approx(-np.log(probs[np.arange(5), k]).mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses.categorical_crossentropy(k, probs)  # once per process: silent now
        # integer one-hot of the prediction's shape is an ordinary dense target
        np.testing.assert_allclose(
            losses.categorical_crossentropy(np.eye(4, dtype=np.int64)[k], probs).numpy(), sparse)
    smoothed = losses.categorical_crossentropy(k, probs, label_smoothing=0.2).numpy()
    np.testing.assert_allclose(
        smoothed, losses.categorical_crossentropy(np.eye(4)[k] * 0.8 + 0.05, probs).numpy())


def test_sparse_labels_validation():
    with pytest.raises(ValueError, match="non-integer"):
        losses.sparse_categorical_crossentropy(np.array([0.5, 1.0]), np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match=r"label 3 .*3 classes"):
        losses.sparse_categorical_crossentropy(np.array([0, 3]), np.ones((2, 3)) / 3)
    np.testing.assert_allclose(  # float labels with whole values are accepted
        losses.sparse_categorical_crossentropy(np.array([0.0, 2.0]), np.ones((2, 3)) / 3).numpy(),
        [np.log(3)] * 2)


# ---- reductions, sample weights, classes --------------------------------------------------

def test_reductions_and_sample_weight():
    y, p = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    per = ((p - y) ** 2).mean(-1)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    assert float(losses.MeanSquaredError()(y, p)) == pytest.approx(per.mean())
    assert float(losses.MeanSquaredError(reduction="mean")(y, p)) == pytest.approx(per.mean())
    assert float(losses.MeanSquaredError(reduction="sum")(y, p)) == pytest.approx(per.sum())
    for none in (None, "none"):
        np.testing.assert_allclose(losses.MeanSquaredError(reduction=none)(y, p, w).numpy(),
                                   per * w)
    assert float(losses.MeanSquaredError()(y, p, w)) == pytest.approx((per * w).sum() / 4)
    assert float(losses.MeanSquaredError()(y, p, w[:, None])) == pytest.approx((per * w).sum() / 4)
    assert float(losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, w)) == \
        pytest.approx((per * w).sum() / w.sum())
    assert float(losses.MeanSquaredError()(y, p, 2.0)) == pytest.approx(2 * per.mean())
    # per-timestep losses (N, T) with per-sample weights (N,)
    y3, p3 = RNG.standard_normal((4, 2, 3)), RNG.standard_normal((4, 2, 3))
    per3 = ((p3 - y3) ** 2).mean(-1)
    assert float(losses.MeanSquaredError()(y3, p3, w)) == pytest.approx(
        (per3 * w[:, None]).sum() / 8)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")


def test_loss_object_gradient_and_dtype():
    z = shendu.tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([1, 0, 3]), z)
    assert loss.shape == () and loss.dtype == np.float32
    loss.backward()
    g = (_softmax(z.numpy().astype(np.float64)) - np.eye(4)[[1, 0, 3]]) / 3
    np.testing.assert_allclose(z.grad.numpy(), g, rtol=1e-5, atol=1e-7)
    assert losses.MeanSquaredError(dtype="float64")(np.zeros(2), z[0, :2]).dtype == np.float64


def test_ignore_class():
    z = RNG.standard_normal((4, 3))
    k = np.array([0, 2, -1, 1])
    per = -np.log(_softmax(z))[np.arange(4), np.where(k < 0, 0, k)]
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert float(loss(k, z)) == pytest.approx(per[[0, 1, 3]].mean())
    w = np.array([1.0, 2.0, 3.0, 0.5])
    assert float(loss(k, z, w)) == pytest.approx((per * w)[[0, 1, 3]].sum() / 3)


def test_config_round_trip_and_serialization():
    objs = [losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="b"),
            losses.CategoricalCrossentropy(label_smoothing=0.2, reduction="sum"),
            losses.SparseCategoricalCrossentropy(ignore_class=0), losses.Huber(delta=2.0),
            losses.CosineSimilarity(axis=0), losses.BinaryFocalCrossentropy(gamma=3.0),
            losses.MeanSquaredError(reduction=None), losses.KLDivergence(), losses.LogCosh()]
    for obj in objs:
        again = type(obj).from_config(obj.get_config())
        assert again.get_config() == obj.get_config()
        back = losses.deserialize(losses.serialize(obj))
        assert type(back) is type(obj) and back.get_config() == obj.get_config()
    assert losses.deserialize(losses.serialize(losses.mean_squared_error)) is \
        losses.mean_squared_error
    wrapper = losses.LossFunctionWrapper(losses.huber, name="h", delta=0.5)
    again = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert again.fn is losses.huber and again.get_config() == wrapper.get_config()
    with pytest.raises(ValueError):
        losses.deserialize({"class_name": "os.system", "config": {}})


def test_get():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MSE") is losses.mean_squared_error
    assert losses.get("mae") is losses.mean_absolute_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert losses.get("binary_crossentropy") is losses.binary_crossentropy
    assert losses.get("kld") is losses.kl_divergence
    assert losses.get("logcosh") is losses.log_cosh
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert isinstance(losses.get(losses.Hinge), losses.Hinge)
    inst = losses.Poisson()
    assert losses.get(inst) is inst and losses.get(None) is None
    assert losses.get(np.sum) is np.sum
    assert isinstance(losses.get({"class_name": "MeanSquaredError", "config": {}}),
                      losses.MeanSquaredError)
    with pytest.raises(ValueError, match="Did you mean 'categorical_crossentropy'"):
        losses.get("categorical_crosentropy")
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("zzzz")


def test_fused_logits_loss():
    z = RNG.standard_normal((4, 3))
    k = np.array([0, 2, 1, 1])
    onehot = np.eye(3)[k]
    for loss, y in [("categorical_crossentropy", onehot),
                    (losses.categorical_crossentropy, onehot),
                    (losses.CategoricalCrossentropy(label_smoothing=0.1), onehot),
                    (losses.SparseCategoricalCrossentropy, k),
                    ("sparse_categorical_crossentropy", k)]:
        fused = losses.fused_logits_loss(loss)
        assert fused.logits_activation == "softmax"
        plain = losses.get(loss) if not isinstance(loss, type) else loss()
        a, b = fused(y, z), plain(y, shendu.ops.softmax(shendu.tensor(z)))
        np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6)
    t = (RNG.uniform(size=(4, 3)) > 0.5).astype(float)
    fused = losses.fused_logits_loss(losses.BinaryCrossentropy())
    assert fused.logits_activation == "sigmoid" and fused.from_logits
    assert float(fused(t, z)) == pytest.approx(
        float(losses.BinaryCrossentropy()(t, shendu.ops.sigmoid(shendu.tensor(z)))), rel=1e-6)
    for other in ("mse", losses.Huber(), losses.BinaryCrossentropy(from_logits=True),
                  losses.kl_divergence):
        assert losses.fused_logits_loss(other) is None


# ---- PyTorch parity (float32) --------------------------------------------------------------

def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


@pytest.mark.torch
def test_torch_parity():
    torch = pytest.importorskip("torch", reason="PyTorch cross-checks need torch")
    F = torch.nn.functional
    t = RNG.dirichlet(np.ones(6), 8).astype(np.float32)
    p = RNG.dirichlet(np.ones(6), 8).astype(np.float32)
    z = (RNG.standard_normal((8, 6)) * 3).astype(np.float32)
    k = RNG.integers(0, 6, 8)
    counts = RNG.poisson(2.0, (8, 6)).astype(np.float32)
    rate = RNG.uniform(0.5, 4, (8, 6)).astype(np.float32)
    cases = [
        (losses.kl_divergence, lambda a, b: F.kl_div(torch.log(b), a, reduction="none").sum(-1),
         t, p),
        (losses.poisson, lambda a, b: F.poisson_nll_loss(b, a, log_input=False, eps=EPS,
                                                         reduction="none").mean(-1), counts, rate),
        (losses.cosine_similarity, lambda a, b: -F.cosine_similarity(a, b, dim=-1), z, p),
        (lambda a, b: losses.categorical_crossentropy(a, b, from_logits=True),
         lambda a, b: F.cross_entropy(b, a, reduction="none"), t, z),
        (lambda a, b: losses.sparse_categorical_crossentropy(a, b, from_logits=True),
         lambda a, b: F.cross_entropy(b, a, reduction="none"), k, z),
        (lambda a, b: losses.binary_crossentropy(a, b, from_logits=True),
         lambda a, b: F.binary_cross_entropy_with_logits(b, a, reduction="none").mean(-1), t, z),
        (losses.binary_crossentropy,
         lambda a, b: F.binary_cross_entropy(b, a, reduction="none").mean(-1), t, p),
        (losses.huber, lambda a, b: F.huber_loss(b, a, reduction="none").mean(-1), z, p * 4),
    ]
    worst = 0.0
    for ours, theirs, a, b in cases:
        yb = shendu.tensor(b, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        yo, yt = ours(a, yb), theirs(torch.tensor(a), tb)
        gy = RNG.standard_normal(yo.shape).astype(np.float32)
        yo.backward(shendu.tensor(gy))
        yt.backward(torch.tensor(gy))
        assert yo.dtype == np.float32
        worst = max(worst, _rel(yo.numpy(), yt.detach().numpy()),
                    _rel(yb.grad.numpy(), tb.grad.numpy()))
    assert worst <= 1e-5
