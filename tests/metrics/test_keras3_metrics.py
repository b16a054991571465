"""The Keras 3 metrics added in loss_metrics, correlation_metrics, count_metrics,
f_score_metrics, iou_metrics and R2Score: several batches (with sample weights) against
real Keras, reset_state, configs, errors, function aliases."""
import numpy as np
import pytest

from shendu import losses, metrics

RNG = np.random.default_rng(0)


def _batches(kind, n=3, b=6, c=4):
    rng = np.random.default_rng({"bin": 1, "reg": 2, "cls": 3, "seg": 4, "prob": 5, "onehot": 6}[kind])
    out = []
    for _ in range(n):
        if kind == "bin":
            yt, yp = rng.integers(0, 2, (b, c)), rng.random((b, c))
        elif kind == "reg":
            yt = rng.standard_normal((b, c))
            yp = yt + 0.5 * rng.standard_normal((b, c))
        elif kind == "prob":
            yt, yp = rng.random((b, c)), rng.random((b, c)) + 0.05
            yt, yp = yt / yt.sum(-1, keepdims=True), yp / yp.sum(-1, keepdims=True)
        elif kind == "onehot":
            yt = np.eye(c)[rng.integers(0, c, b)]
            yp = rng.random((b, c))
        elif kind == "cls":
            yt, yp = rng.integers(0, c, (b, 5)), rng.integers(0, c, (b, 5))
        else:
            yt, yp = rng.integers(0, 2, (b, 5)), rng.random((b, 5))
        # IoU metrics (Keras) take one weight per label; the others one per sample.
        w = rng.integers(1, 4, yt.shape if kind in ("cls", "seg") else b).astype("float32")
        out.append((yt.astype("float32"), yp.astype("float32"), w))
    return out


CASES = [
    ("KLDivergence", {}, "prob"), ("Poisson", {}, "prob"), ("LogCoshError", {}, "reg"),
    ("Hinge", {}, "bin"), ("SquaredHinge", {}, "bin"), ("CategoricalHinge", {}, "onehot"),
    ("CosineSimilarity", {}, "reg"), ("CosineSimilarity", {"axis": 1}, "reg"),
    ("PearsonCorrelation", {}, "reg"), ("ConcordanceCorrelation", {}, "reg"),
    ("R2Score", {}, "reg"), ("R2Score", {"class_aggregation": None}, "reg"),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, "reg"),
    ("TruePositives", {}, "bin"), ("FalsePositives", {"thresholds": [0.2, 0.7]}, "bin"),
    ("TrueNegatives", {"thresholds": 0.3}, "bin"), ("FalseNegatives", {}, "bin"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "bin"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.6, "num_thresholds": 50}, "bin"),
    ("PrecisionAtRecall", {"recall": 0.7}, "bin"),
    ("RecallAtPrecision", {"precision": 0.55, "class_id": 2}, "bin"),
    ("F1Score", {}, "onehot"), ("F1Score", {"average": "macro", "threshold": 0.5}, "bin"),
    ("FBetaScore", {"average": "micro", "beta": 2.0, "threshold": 0.4}, "bin"),
    ("FBetaScore", {"average": "weighted", "beta": 0.5}, "onehot"),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "cls"),
    ("MeanIoU", {"num_classes": 4}, "cls"), ("MeanIoU", {"num_classes": 4, "ignore_class": 1}, "cls"),
    ("BinaryIoU", {}, "seg"), ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "seg"),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": 4}, "onehot"),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, kw, kind", CASES)
def test_matches_keras_over_batches(name, kw, kind, weighted):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours, ref = getattr(metrics, name)(**kw), getattr(keras.metrics, name)(**kw)
    for yt, yp, w in _batches(kind):
        sw = w if weighted else None
        ours.update_state(yt, yp, sample_weight=sw)
        ref.update_state(yt, yp, sample_weight=sw)
        a, b = np.asarray(ours.result().numpy(), np.float64), np.asarray(ref.result(), np.float64)
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    cfg, ref_cfg = ours.get_config(), ref.get_config()
    for key in set(ref_cfg) - {"dtype", "name"}:  # Keras numbers repeated names
        want = ref_cfg[key]
        got = cfg[key]
        assert (list(got) if isinstance(got, tuple) else got) == \
            (list(want) if isinstance(want, tuple) else want), (name, key)
    clone = type(ours).from_config(cfg)
    assert clone.get_config() == cfg
    ours.reset_state()
    yt, yp, _ = _batches(kind, n=1)[0]
    ours.update_state(yt, yp)
    fresh = getattr(metrics, name)(**kw)
    fresh.update_state(yt, yp)
    np.testing.assert_array_equal(ours.result().numpy(), fresh.result().numpy())


def test_iou_per_sample_weight_applies_to_each_label():
    yt, yp = np.array([[0, 1, 1], [1, 1, 0]]), np.array([[0, 1, 0], [1, 0, 0]])
    a = metrics.MeanIoU(2)
    a.update_state(yt, yp, sample_weight=np.array([2.0, 1.0]))
    b = metrics.MeanIoU(2)
    b.update_state(yt, yp, sample_weight=np.array([[2.0] * 3, [1.0] * 3]))
    assert float(a.result()) == float(b.result())


def test_function_aliases_are_the_losses():
    for name in ("binary_focal_crossentropy", "categorical_focal_crossentropy",
                 "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "poisson",
                 "squared_hinge"):
        assert getattr(metrics, name) is getattr(losses, name)


@pytest.mark.parametrize("fn", ["pearson_correlation", "concordance_correlation"])
def test_correlation_functions_match_keras(fn):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    (yt, yp, _), = _batches("reg", n=1)
    np.testing.assert_allclose(getattr(metrics, fn)(yt, yp).numpy(),
                               np.asarray(getattr(keras.metrics, fn)(yt, yp)), rtol=1e-5, atol=1e-6)


def test_pearson_against_numpy_corrcoef():
    (yt, yp, _), = _batches("reg", n=1)
    want = [np.corrcoef(a, b)[0, 1] for a, b in zip(yt.astype(float), yp.astype(float))]
    np.testing.assert_allclose(metrics.pearson_correlation(yt.astype(float), yp.astype(float)).numpy(),
                               want, rtol=1e-10)


def test_string_names_and_errors():
    assert isinstance(metrics.get("logcosh"), metrics.LogCoshError)
    assert isinstance(metrics.get("r2_score"), metrics.R2Score)
    with pytest.raises(ValueError, match=r"R2Score.*Received: class_aggregation='sum'"):
        metrics.R2Score(class_aggregation="sum")
    with pytest.raises(ValueError, match=r"R2Score expects 2D inputs"):
        metrics.R2Score().update_state(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"FBetaScore.*Received: beta=1"):
        metrics.FBetaScore(beta=1)
    with pytest.raises(ValueError, match=r"F1Score.*Received: average='mean'"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match=r"IoU.*Received: target_class_ids=\[0, 5\]"):
        metrics.IoU(num_classes=3, target_class_ids=[0, 5])
    with pytest.raises(ValueError, match=r"PrecisionAtRecall.*Received: recall=1.5"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match=r"Received: num_thresholds=0"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
