"""Categorical focal / generalized cross-entropy, Dice, Tversky, Circle and CTC: values
against real Keras (and PyTorch for CTC), float64 gradchecks, configs and errors."""
import numpy as np
import pytest

import shendu
from shendu import losses
from shendu.testing import gradcheck


def _probs(shape, seed=0):
    x = np.random.default_rng(seed).uniform(0.05, 1, shape)
    return x / x.sum(-1, keepdims=True)


def _onehot(shape, seed=1):
    idx = np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])
    return np.eye(shape[-1])[idx]


def _embeddings(n=8, d=4, seed=3):
    e = np.random.default_rng(seed).standard_normal((n, d))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def _cases():
    p, t = _probs((6, 4)), _onehot((6, 4))
    labels = np.random.default_rng(2).integers(0, 4, 6)
    seg_t = (np.random.default_rng(4).random((3, 5, 5)) > 0.5).astype(float)
    seg_p = np.random.default_rng(5).uniform(0.01, 0.99, (3, 5, 5))
    circ_lab = np.array([0, 1, 0, 2, 1, 2, 0, 3])
    return [
        ("CategoricalFocalCrossentropy", {}, t, p),
        ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.1}, t, p),
        ("CategoricalFocalCrossentropy", {"from_logits": True}, t, np.log(p) * 2),
        ("CategoricalGeneralizedCrossEntropy", {}, labels, p),
        ("CategoricalGeneralizedCrossEntropy", {"q": 0.2}, labels, p),
        ("Dice", {}, seg_t, seg_p), ("Dice", {"axis": (1, 2)}, seg_t, seg_p),
        ("Tversky", {}, seg_t, seg_p), ("Tversky", {"alpha": 0.7, "beta": 0.3, "axis": (1, 2)},
                                        seg_t, seg_p),
        ("Circle", {}, circ_lab, _embeddings()),
        ("Circle", {"gamma": 10.0, "margin": 0.2, "remove_diagonal": False}, circ_lab,
         _embeddings()),
    ]


@pytest.mark.parametrize("name, kw, y_true, y_pred", _cases())
def test_matches_keras(name, kw, y_true, y_pred):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    yt, yp = y_true.astype("float32"), y_pred.astype("float32")
    ours = getattr(losses, name)(**kw)
    ref = getattr(keras.losses, name)(**kw)
    np.testing.assert_allclose(float(ours(yt, yp)), float(ref(yt, yp)), rtol=2e-5, atol=1e-6)
    w = np.linspace(0.5, 1.5, len(yt)).astype("float32")
    if name not in ("Dice", "Tversky") or "axis" in kw:  # axis=None gives one scalar
        np.testing.assert_allclose(float(ours(yt, yp, sample_weight=w)),
                                   float(ref(yt, yp, sample_weight=w)), rtol=2e-5, atol=1e-6)
    cfg = ours.get_config()
    for key, value in ref.get_config().items():
        if key not in ("dtype",):
            assert cfg[key] == (list(value) if isinstance(value, tuple) and
                                isinstance(cfg[key], list) else value), (name, key)
    clone = losses.deserialize(losses.serialize(ours))
    assert float(clone(yt, yp)) == float(ours(yt, yp))


@pytest.mark.parametrize("name, kw, y_true, y_pred", _cases())
def test_gradcheck(name, kw, y_true, y_pred):
    fn = getattr(losses, {"CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
                          "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
                          "Dice": "dice", "Tversky": "tversky", "Circle": "circle"}[name])
    if name == "CategoricalGeneralizedCrossEntropy":
        kw = {"q": 0.5, **kw}  # the function has no default q; the class's is 0.5
    gradcheck(lambda p: fn(y_true, p, **kw), y_pred)


def test_circle_without_positives_is_zero_and_differentiable():
    emb = shendu.tensor(_embeddings(4), requires_grad=True)
    out = losses.circle(np.array([0, 1, 2, 3]), emb)
    np.testing.assert_array_equal(out.numpy(), 0.0)
    out.sum().backward()
    assert np.isfinite(emb.grad).all()


def test_ctc_matches_torch_and_keras():
    torch = pytest.importorskip("torch", reason="PyTorch's ctc_loss is the reference")
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 7, 5)).astype("float32")
    labels = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [4, 1, 3, 2]])
    ours = losses.ctc(labels, logits).numpy()
    lengths = (labels != 0).sum(1)
    ref = torch.nn.functional.ctc_loss(
        torch.log_softmax(torch.tensor(logits), -1).transpose(0, 1), torch.tensor(labels),
        torch.full((3,), 7), torch.tensor(lengths), blank=0, reduction="none").numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    np.testing.assert_allclose(float(losses.CTC()(labels, logits)), ref.mean(), rtol=1e-5)
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    np.testing.assert_allclose(float(losses.CTC()(labels, logits)),
                               float(keras.losses.CTC()(labels, logits)), rtol=1e-5)
    gradcheck(lambda z: losses.ctc(labels, z), logits.astype("float64"))


def test_errors_and_string_lookup():
    with pytest.raises(ValueError, match=r"CategoricalGeneralizedCrossEntropy.*Received: q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"ctc: `y_true`.*Received: y_true.shape=\(3,\)"):
        losses.ctc(np.zeros(3), np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match=r"ctc: `y_pred`.*Received: y_pred.shape=\(3, 4\)"):
        losses.ctc(np.zeros((3, 2)), np.zeros((3, 4)))
    for name in ("dice", "tversky", "circle", "ctc", "categorical_focal_crossentropy",
                 "categorical_generalized_cross_entropy"):
        assert losses.get(name) is getattr(losses, name)
    assert isinstance(losses.get("Tversky"), losses.Tversky)
