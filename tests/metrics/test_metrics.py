"""Stateful metrics against hand-computed values over several batches."""
import numpy as np
import pytest

import shendu
from shendu import metrics

RNG = np.random.default_rng(5)


def test_mean_and_sum_with_weights_and_reset():
    m = metrics.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state(np.array([[4.0, 6.0]]))             # one sample whose value is 5
    m.update_state([10.0, 20.0], sample_weight=[0.5, 0.0])
    assert float(m.result()) == pytest.approx((1 + 2 + 3 + 5 + 5) / 4.5)
    assert m.result().dtype == np.float32
    m.reset_state()
    assert float(m.result()) == 0.0
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7])
    s.update_state([[1.0, 1.0]], sample_weight=[2.0])
    assert float(s.result()) == 20.0
    s.reset_state()
    assert float(s.result()) == 0.0


def test_mean_metric_wrapper_of_a_tensor_function_builds_no_graph():
    y = shendu.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    m = metrics.MeanMetricWrapper(shendu.losses.mean_squared_error, name="mse")
    m.update_state(np.zeros((4, 3)), y)
    assert float(m.result()) == pytest.approx(float((y.numpy() ** 2).mean()), rel=1e-6)
    assert m.result()._ctx is None and not any(v.requires_grad for v in m.variables)


def test_accuracies_over_batches():
    acc = metrics.Accuracy()
    acc.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    acc.update_state([1, 2], [1, 0])
    assert float(acc.result()) == pytest.approx(4 / 6)

    b = metrics.BinaryAccuracy()
    b.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    b.update_state([1, 0], [0.4, 0.3], sample_weight=[1.0, 3.0])
    assert float(b.result()) == pytest.approx((3 + 3) / (4 + 4))
    b2 = metrics.BinaryAccuracy(threshold=0.9)
    b2.update_state(shendu.tensor([[1.0, 0.0]]), shendu.tensor([[0.95, 0.92]]))
    assert float(b2.result()) == 0.5

    probs = RNG.dirichlet(np.ones(5), 12)
    labels = RNG.integers(0, 5, 12)
    hits = probs.argmax(-1) == labels
    c, sc = metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy()
    for lo, hi in [(0, 5), (5, 12)]:
        c.update_state(np.eye(5)[labels[lo:hi]], probs[lo:hi])
        sc.update_state(labels[lo:hi, None], shendu.tensor(probs[lo:hi]))
    assert float(c.result()) == pytest.approx(hits.mean())
    assert float(sc.result()) == pytest.approx(hits.mean())
    c.reset_state()
    c.update_state(labels, probs)  # integer labels work here too
    assert float(c.result()) == pytest.approx(hits.mean())
    w = RNG.uniform(size=12)
    sc.reset_state()
    sc.update_state(labels, probs, sample_weight=w)
    assert float(sc.result()) == pytest.approx((hits * w).sum() / w.sum(), rel=1e-6)


def test_top_k():
    y_pred = np.array([[0.1, 0.5, 0.4, 0.0], [0.3, 0.3, 0.2, 0.2], [0.7, 0.1, 0.1, 0.1]])
    labels = np.array([2, 1, 3])
    # ranks of the true class: 2nd; tied 1st; tied 2nd..4th (ties at the boundary count)
    for k, expected in [(1, [0, 1, 0]), (2, [1, 1, 1]), (3, [1, 1, 1])]:
        np.testing.assert_array_equal(
            metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=k).numpy(), expected)
    m = metrics.TopKCategoricalAccuracy(k=1)
    m.update_state(np.eye(4)[labels], y_pred)
    m.update_state(np.eye(4)[[0]], y_pred[2:])
    assert float(m.result()) == pytest.approx(2 / 4)
    s = metrics.SparseTopKCategoricalAccuracy(k=2)
    s.update_state(labels, y_pred)
    assert float(s.result()) == 1.0


def test_regression_metrics():
    y, p = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 3))
    mse, mae, rmse = metrics.MeanSquaredError(), metrics.MeanAbsoluteError(), \
        metrics.RootMeanSquaredError()
    for m in (mse, mae, rmse):
        m.update_state(y[:2], p[:2])
        m.update_state(shendu.tensor(y[2:]), shendu.tensor(p[2:]))
    assert float(mse.result()) == pytest.approx(((p - y) ** 2).mean(), rel=1e-6)
    assert float(mae.result()) == pytest.approx(np.abs(p - y).mean(), rel=1e-6)
    assert float(rmse.result()) == pytest.approx(np.sqrt(((p - y) ** 2).mean()), rel=1e-6)


def test_precision_recall():
    y = np.array([0, 1, 1, 1, 0, 1])
    p = np.array([0.6, 0.2, 0.7, 0.9, 0.1, 0.55])
    prec, rec = metrics.Precision(), metrics.Recall()
    for lo, hi in [(0, 3), (3, 6)]:
        prec.update_state(y[lo:hi], p[lo:hi])
        rec.update_state(y[lo:hi], p[lo:hi])
    tp, fp, fn = 3, 1, 1
    assert float(prec.result()) == pytest.approx(tp / (tp + fp))
    assert float(rec.result()) == pytest.approx(tp / (tp + fn))
    multi = metrics.Precision(thresholds=[0.0, 0.5, 0.8])
    multi.update_state(y, p, sample_weight=[1, 1, 1, 1, 2, 1])
    np.testing.assert_allclose(multi.result().numpy(), [4 / 7, 3 / 4, 1.0], rtol=1e-6)
    per_class = metrics.Recall(class_id=1)
    per_class.update_state(np.eye(3)[[1, 1, 0]],
                           [[0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1]])
    assert float(per_class.result()) == 0.5
    top1 = metrics.Precision(top_k=1)
    top1.update_state([[0, 1, 1]], [[0.3, 0.5, 0.2]])
    assert float(top1.result()) == 1.0
    empty = metrics.Precision()
    assert float(empty.result()) == 0.0


def _direct_auc(y, p, w, thresholds, curve="ROC"):
    """The ROC trapezoid (or PR lower sum) written out threshold by threshold."""
    tpr, fpr, prec = [], [], []
    for h in thresholds:
        pos = p > h
        tp, fp = (w * (pos & y)).sum(), (w * (pos & ~y)).sum()
        fn, tn = (w * (~pos & y)).sum(), (w * (~pos & ~y)).sum()
        tpr.append(tp / (tp + fn) if tp + fn else 0.0)
        fpr.append(fp / (fp + tn) if fp + tn else 0.0)
        prec.append(tp / (tp + fp) if tp + fp else 0.0)
    if curve == "ROC":
        return sum((fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2
                   for i in range(len(thresholds) - 1))
    return sum((tpr[i] - tpr[i + 1]) * min(prec[i], prec[i + 1])
               for i in range(len(thresholds) - 1))


def test_auc_against_direct_trapezoid():
    y = RNG.integers(0, 2, 300).astype(bool)
    p = np.clip(0.35 * y + 0.65 * RNG.uniform(size=300), 0, 1)
    p[:5] = [0.0, 1.0, 0.5, 1 / 199, 198 / 199]  # on the thresholds themselves
    w = RNG.uniform(0.1, 2, 300)
    thresholds = [-1e-7] + [(i + 1) / 199 for i in range(198)] + [1 + 1e-7]
    m = metrics.AUC()
    for lo, hi in [(0, 100), (100, 250), (250, 300)]:
        m.update_state(y[lo:hi], shendu.tensor(p[lo:hi]), sample_weight=w[lo:hi])
    assert float(m.result()) == pytest.approx(_direct_auc(y, p, w, thresholds), abs=1e-6)
    # with many thresholds the trapezoid approaches the exact (Mann-Whitney) AUC
    pos, neg = p[y], p[~y]
    exact = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    unweighted = metrics.AUC(num_thresholds=2000)
    unweighted.update_state(y, p)
    assert float(unweighted.result()) == pytest.approx(exact, abs=2e-3)
    pr = metrics.AUC(curve="PR", summation_method="minoring", num_thresholds=50)
    pr.update_state(y, p)
    t50 = [-1e-7] + [(i + 1) / 49 for i in range(48)] + [1 + 1e-7]
    assert float(pr.result()) == pytest.approx(
        _direct_auc(y, p, np.ones(300), t50, "PR"), abs=1e-6)
    interp = metrics.AUC(curve="PR")
    interp.update_state(y, p)
    assert 0.5 < float(interp.result()) <= 1.0
    logits = metrics.AUC(from_logits=True)
    logits.update_state(y, np.log(p + 1e-9) - np.log1p(-p + 1e-9))
    assert float(logits.result()) == pytest.approx(float(unweighted.result()), abs=1e-2)
    m.reset_state()
    assert float(m.result()) == 0.0


def test_get_accuracy_resolution():
    get = metrics.get
    assert type(get("accuracy", loss="binary_crossentropy")) is metrics.BinaryAccuracy
    assert type(get("accuracy", output_shape=(None, 1))) is metrics.BinaryAccuracy
    assert type(get("acc", loss=shendu.losses.SparseCategoricalCrossentropy())) is \
        metrics.SparseCategoricalAccuracy
    assert type(get("accuracy", loss="categorical_crossentropy", output_shape=(None, 10),
                    y_true=np.zeros(4, np.int64))) is metrics.SparseCategoricalAccuracy
    assert type(get("accuracy", loss=shendu.losses.categorical_crossentropy,
                    output_shape=(None, 10))) is metrics.CategoricalAccuracy
    assert get("acc").name == "acc"
    assert get("accuracy", loss=shendu.losses.BinaryCrossentropy(from_logits=True)) \
        .get_config()["threshold"] == 0.0
    assert type(get("crossentropy", loss="sparse_categorical_crossentropy")) is \
        metrics.SparseCategoricalCrossentropy


def test_get_names_and_errors():
    assert type(metrics.get("mse")) is metrics.MeanSquaredError and metrics.get("mse").name == "mse"
    assert type(metrics.get("mae")) is metrics.MeanAbsoluteError
    assert type(metrics.get("AUC")) is metrics.AUC
    assert type(metrics.get("sparse_categorical_accuracy")) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get(metrics.Precision)) is metrics.Precision
    wrapped = metrics.get(metrics.binary_accuracy)
    wrapped.update_state([1, 0], [0.9, 0.8])
    assert float(wrapped.result()) == 0.5
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        metrics.get("acuracy")
    back = metrics.deserialize(metrics.serialize(metrics.AUC(num_thresholds=50, curve="PR")))
    assert type(back) is metrics.AUC and back.num_thresholds == 50 and back.curve == "PR"
    cfg = metrics.BinaryAccuracy(threshold=0.3, name="ba").get_config()
    assert metrics.BinaryAccuracy.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError):
        metrics.deserialize({"class_name": "subprocess.run", "config": {}})
