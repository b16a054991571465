"""shendu.explain against the methods' own promises: closed forms on linear models, the axioms
of integrated gradients (completeness, sensitivity, implementation invariance), Grad-CAM on
hand-built conv models whose answer is known, occlusion against finite differences, and
Captum on the same small convnet."""
import numpy as np
import pytest

import shendu
from shendu import explain, layers, ops


def _linear(w, b=0.0):
    """f(x) = x @ w + b, with w of shape (d, k)."""
    m = shendu.Sequential([shendu.Input((w.shape[0],)), layers.Dense(w.shape[1])])
    m.set_weights([w.astype(np.float32), np.full(w.shape[1], b, np.float32)])
    return m


def _smooth_convnet(seed=0, classes=3):
    shendu.utils.set_random_seed(seed)
    return shendu.Sequential([
        shendu.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="tanh", name="conv"),
        layers.Conv2D(3, 3, activation="softplus"), layers.Flatten(), layers.Dense(classes)])


# ---- linear closed forms ------------------------------------------------------------------------
def test_linear_model_closed_forms(rng):
    w = rng.normal(size=(6, 3))
    model, x = _linear(w, b=0.7), rng.normal(size=(5, 6)).astype(np.float32)
    cls = np.array([0, 2, 1, 1, 0])
    np.testing.assert_allclose(explain.saliency(model, x, cls), np.abs(w.T[cls]), rtol=1e-6)
    np.testing.assert_allclose(explain.saliency(model, x, cls, abs=False), w.T[cls], rtol=1e-6)
    np.testing.assert_allclose(explain.gradient_x_input(model, x, cls), w.T[cls] * x,
                               rtol=1e-6, atol=1e-7)
    for method in ("gausslegendre", "riemann_left", "riemann_trapezoid"):
        ig, delta = explain.integrated_gradients(model, x, cls, steps=4, method=method)
        np.testing.assert_allclose(ig, w.T[cls] * x, rtol=1e-5, atol=1e-6)
        assert np.abs(delta).max() < 1e-5
    # smoothgrad of a linear model is the constant gradient, whatever the noise
    np.testing.assert_allclose(explain.smoothgrad(model, x, cls, samples=7, seed=0), w.T[cls],
                               rtol=1e-6)


def test_smoothgrad_closed_forms_on_a_quadratic(rng):
    # f(x) = sum x^2: E[grad] = 2x, E[grad^2] = 4x^2 + 4 sigma^2 (per feature)
    model = shendu.Sequential([shendu.Input((4,)), layers.Activation("linear")])
    x = rng.normal(size=(3, 4)).astype(np.float32)
    f = lambda out: (out * out).sum(axis=1)  # noqa: E731
    sg = explain.smoothgrad(model, x, f, samples=20000, stdev=0.5, seed=1)
    sq = explain.smoothgrad_squared(model, x, f, samples=20000, stdev=0.5, seed=1)
    se = 2 * 0.5 / np.sqrt(20000)  # standard error of the mean of 2 e
    assert np.abs(sg - 2 * x).max() < 5 * se
    np.testing.assert_allclose(sq, 4 * x ** 2 + 4 * 0.25, rtol=0.05, atol=0.05)
    again = explain.smoothgrad(model, x, f, samples=20000, stdev=0.5, seed=1)
    np.testing.assert_array_equal(sg, again)  # a seed fixes the noise


# ---- integrated gradients axioms ----------------------------------------------------------------
def test_completeness_and_delta_shrinking_with_steps(rng):
    model = _smooth_convnet()
    x = rng.normal(size=(4, 8, 8, 2)).astype(np.float32)
    base = np.full_like(x, -0.5)
    f = np.asarray(model(x)).astype(np.float64)[np.arange(4), [0, 1, 2, 0]]
    fb = np.asarray(model(base)).astype(np.float64)[np.arange(4), [0, 1, 2, 0]]
    ig, delta = explain.integrated_gradients(model, x, np.array([0, 1, 2, 0]), baseline=base,
                                             steps=64)
    assert ig.shape == x.shape
    sums = ig.reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(sums - (f - fb), delta, atol=1e-4)
    assert np.all(np.abs(delta) <= 0.01 * np.abs(f - fb))  # within 1% at 64 steps
    worst = [np.abs(explain.integrated_gradients(model, x, 1, baseline=base, steps=s,
                                                 method="riemann_trapezoid")[1]).max()
             for s in (4, 16, 64)]
    assert worst[0] > worst[1] > worst[2], worst
    assert worst[2] < 0.1 * worst[0]  # O(1/s^2): x16 points, far more than x10 smaller


def test_completeness_on_an_lstm_classifier(rng):
    shendu.utils.set_random_seed(3)
    model = shendu.Sequential([shendu.Input((7, 3)), layers.LSTM(5), layers.Dense(4)])
    x = rng.normal(size=(3, 7, 3)).astype(np.float32)
    ig, delta = explain.integrated_gradients(model, x, steps=64)
    out = np.asarray(model(x)).astype(np.float64)
    pred = out.argmax(axis=1)
    gap = out[np.arange(3), pred] - np.asarray(model(np.zeros_like(x)))[np.arange(3), pred]
    assert np.all(np.abs(delta) <= 0.01 * np.abs(gap))
    np.testing.assert_allclose(ig.reshape(3, -1).sum(axis=1), gap, rtol=0.01)


def test_sensitivity(rng):
    model = _smooth_convnet(seed=1)
    x = rng.normal(size=(1, 8, 8, 2)).astype(np.float32)
    # (a) an input differing from the baseline in one feature only, with a different
    # prediction: that feature gets all of f(x) - f(b), every other gets 0.
    base = x.copy()
    base[0, 3, 4, 1] += 2.0
    ig, delta = explain.integrated_gradients(model, x, 2, baseline=base, steps=32)
    gap = float(np.asarray(model(x))[0, 2]) - float(np.asarray(model(base))[0, 2])
    assert abs(gap) > 1e-3
    assert np.count_nonzero(ig) == 1
    np.testing.assert_allclose(ig[0, 3, 4, 1], gap, rtol=1e-3)
    # (b) a feature the model ignores gets 0 from every method
    w = rng.normal(size=(5, 2))
    w[2] = 0.0
    lin, z = _linear(w), rng.normal(size=(4, 5)).astype(np.float32)
    for got in (explain.saliency(lin, z, 1), explain.gradient_x_input(lin, z, 1),
                explain.integrated_gradients(lin, z, 1)[0],
                explain.smoothgrad(lin, z, 1, samples=5, seed=0),
                explain.occlusion(lin, z, window=(1,), target=1)):
        np.testing.assert_array_equal(got[:, 2], 0.0)


class _TwiceWide(shendu.Model):
    """A subclassed network computing the same function as Dense(h, relu) -> Dense(1): every
    hidden unit appears twice, each copy with half the outgoing weight."""

    def __init__(self, hidden, out):
        super().__init__()
        self.hidden, self.out = hidden, out

    def call(self, x):
        return self.out(self.hidden(x))


def test_implementation_invariance_across_equivalent_models(rng):
    shendu.utils.set_random_seed(2)
    a = shendu.Sequential([shendu.Input((6,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
    w1, b1, w2, b2 = a.get_weights()
    # (keywords: shendu's Model.__new__ takes two positional arguments for (inputs, outputs))
    b = _TwiceWide(hidden=layers.Dense(10, activation="relu"), out=layers.Dense(2))
    b(np.zeros((1, 6), np.float32))
    b.set_weights([np.concatenate([w1, w1], 1), np.concatenate([b1, b1]),
                   np.concatenate([w2, w2]) / 2, b2])
    x = rng.normal(size=(8, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), rtol=1e-5, atol=1e-6)
    for method in (explain.saliency, explain.gradient_x_input,
                   lambda m, x, t: explain.integrated_gradients(m, x, t, steps=16)[0],
                   lambda m, x, t: explain.occlusion(m, x, (2,), target=t)):
        ga, gb = method(a, x, 1), method(b, x, 1)
        assert np.linalg.norm(ga - gb) <= 1e-5 * np.linalg.norm(ga)


def test_every_target_form_and_a_regression_output(rng):
    model = _smooth_convnet(seed=4)
    x = rng.normal(size=(3, 8, 8, 2)).astype(np.float32)
    pred = np.asarray(model(x)).argmax(axis=1)
    by_none = explain.saliency(model, x)
    np.testing.assert_array_equal(by_none, explain.saliency(model, x, pred))
    np.testing.assert_array_equal(explain.saliency(model, x, pred),
                                  explain.saliency(model, x, lambda o: ops.sum(
                                      o * np.eye(3, dtype=np.float32)[pred], axis=1)))
    one = explain.saliency(model, x, 1)
    np.testing.assert_array_equal(one, explain.saliency(model, x, np.array([1, 1, 1])))
    reg = shendu.Sequential([shendu.Input((8, 8, 2)), layers.Flatten(), layers.Dense(1)])
    g = explain.saliency(reg, x, abs=False)
    np.testing.assert_allclose(g, np.broadcast_to(reg.get_weights()[0][:, 0].reshape(8, 8, 2),
                                                  x.shape), rtol=1e-6)
    for bad in (1.5, np.array([0, 1]), np.array([0.0, 1.0, 2.0]), 3, np.array([0, 5, 1])):
        with pytest.raises(ValueError, match="target"):
            explain.saliency(model, x, bad)


def test_weights_keep_their_gradients_and_batching_changes_nothing(rng):
    model = _smooth_convnet(seed=5)
    x = rng.normal(size=(5, 8, 8, 2)).astype(np.float32)
    for v in model.trainable_weights:
        v.grad = None
    whole, d_whole = explain.integrated_gradients(model, x, 0, steps=8)
    parts, d_parts = explain.integrated_gradients(model, x, 0, steps=8, batch_size=7)
    assert all(v.grad is None for v in model.trainable_weights)
    assert np.linalg.norm(whole - parts) <= 1e-5 * np.linalg.norm(whole)
    np.testing.assert_allclose(d_whole, d_parts, atol=1e-5)
    with pytest.raises(ValueError, match="method must be one of"):
        explain.integrated_gradients(model, x, 0, method="simpson")
    with pytest.raises(ValueError, match="baseline"):
        explain.integrated_gradients(model, x, 0, baseline=np.zeros((3, 3)))


# ---- attributing to a layer's output (token ids through their Embedding) ----------------------
def test_layer_attribution_through_an_embedding_has_its_closed_form(rng):
    # f = mean over tokens of E[token] @ W: linear in the embedding vectors, so
    # IG(layer) = (E[tok] - E[0]) * W[:, c] / T exactly, and saliency(layer) = |W[:, c]| / T
    model = shendu.Sequential([shendu.Input((5,), dtype="int32"),
                               layers.Embedding(11, 3, name="emb"),
                               layers.GlobalAveragePooling1D(), layers.Dense(2)])
    E, W, _ = model.get_weights()
    tok = rng.integers(1, 11, size=(4, 5))
    ig, delta = explain.integrated_gradients(model, tok, 1, layer="emb", steps=3)
    want = (E[tok] - E[0]) * W[:, 1] / 5
    np.testing.assert_allclose(ig, want, rtol=1e-5, atol=1e-7)
    assert np.abs(delta).max() < 1e-5
    np.testing.assert_allclose(explain.saliency(model, tok, 1, layer=model.get_layer("emb")),
                               np.broadcast_to(np.abs(W[:, 1]) / 5, (4, 5, 3)), rtol=1e-6)
    np.testing.assert_allclose(explain.gradient_x_input(model, tok, 1, layer="emb"),
                               E[tok] * W[:, 1] / 5, rtol=1e-5, atol=1e-7)


def test_layer_integrated_gradients_on_an_lstm_over_tokens_is_complete(rng):
    shendu.utils.set_random_seed(7)
    model = shendu.Sequential([shendu.Input((6,), dtype="int32"),
                               layers.Embedding(20, 4, name="emb"), layers.LSTM(5),
                               layers.Dense(3)])
    tok = rng.integers(1, 20, size=(3, 6))
    fused = shendu.config.fusion_enabled()
    ig, delta = explain.integrated_gradients(model, tok, 1, layer="emb", steps=64, batch_size=50)
    gap = (np.asarray(model(tok)) - np.asarray(model(np.zeros_like(tok))))[:, 1].astype(float)
    assert ig.shape == (3, 6, 4)
    assert np.all(np.abs(delta) <= 0.01 * np.abs(gap))
    np.testing.assert_allclose(ig.reshape(3, -1).sum(axis=1) - gap, delta, atol=1e-6)
    assert shendu.config.fusion_enabled() == fused  # off only while the layer is replaced


# ---- Grad-CAM ------------------------------------------------------------------------------------
def _cam_model(subclassed=False):
    """conv 1x1 copying the 2 input channels (relu) -> mean over positions -> Dense(2, W)."""
    conv, dense = layers.Conv2D(2, 1, activation="relu", name="conv"), layers.Dense(2)
    if subclassed:
        class Net(shendu.Model):
            def __init__(self):
                super().__init__()
                self.conv, self.pool, self.dense = conv, layers.GlobalAveragePooling2D(), dense

            def call(self, x):
                return self.dense(self.pool(self.conv(x)))
        model = Net()
        model(np.zeros((1, 6, 6, 2), np.float32))
    else:
        model = shendu.Sequential([shendu.Input((6, 6, 2)), conv,
                                   layers.GlobalAveragePooling2D(), dense])
    W = np.array([[2.0, -1.0], [0.5, 3.0]], np.float32)
    conv.set_weights([np.eye(2, dtype=np.float32).reshape(1, 1, 2, 2), np.zeros(2, np.float32)])
    dense.set_weights([W, np.zeros(2, np.float32)])
    return model, W


@pytest.mark.parametrize("subclassed", [False, True])
def test_grad_cam_closed_form_on_a_hand_built_model(rng, subclassed):
    model, W = _cam_model(subclassed)
    x = rng.normal(size=(3, 6, 6, 2)).astype(np.float32)
    A = np.maximum(x, 0).astype(np.float64)
    for k in (0, 1):
        g = W[:, k] / 36.0  # dy_k/dA_c at every position
        want = np.maximum(A @ g, 0)
        got = explain.grad_cam(model, x, "conv", target=k, upsample=False)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)
        S = A.sum(axis=(1, 2))[:, None, None, :]
        alpha = g ** 2 / (2 * g ** 2 + S * g ** 3)
        w_pp = 36 * (alpha * np.maximum(g, 0))[:, 0, 0, :]  # the same at all 36 positions
        want_pp = np.maximum(np.einsum("nhwc,nc->nhw", A, w_pp), 0)
        got_pp = explain.grad_cam_plus_plus(model, x, model.get_layer("conv"), target=k,
                                            upsample=False)
        np.testing.assert_allclose(got_pp, want_pp, rtol=1e-5, atol=1e-8)
    assert explain.grad_cam(model, x, "conv", target=1).shape == (3, 6, 6)


def _planted_patches(rng, n):
    """Images of faint noise with a bright 4x4 patch at a random place, and a hand-built
    detector: 3x3 box filter (stride 2, "same"), relu, mean, Dense (class 1 = "patch")."""
    # "same" padding keeps the 8x8 grid aligned with the 16x16 input under a plain resize
    # (with "valid", a 7x7 grid stretched to 16x16 puts 27% of the peaks beside the patch).
    model = shendu.Sequential([shendu.Input((16, 16, 1)),
                               layers.Conv2D(1, 3, strides=2, padding="same", activation="relu",
                                             name="conv"),
                               layers.GlobalAveragePooling2D(), layers.Dense(2)])
    model.set_weights([np.ones((3, 3, 1, 1), np.float32), np.array([-2.0], np.float32),
                       np.array([[-1.0, 1.0]], np.float32), np.zeros(2, np.float32)])
    x = rng.uniform(0, 0.3, size=(n, 16, 16, 1)).astype(np.float32)
    rows, cols = rng.integers(0, 12, n), rng.integers(0, 12, n)
    inside = np.zeros(x.shape[:3], bool)
    for i in range(n):  # planting the patches (test data), not part of the method
        x[i, rows[i]:rows[i] + 4, cols[i]:cols[i] + 4] = 1.0
        inside[i, rows[i]:rows[i] + 4, cols[i]:cols[i] + 4] = True
    return model, x, inside


def test_grad_cam_finds_a_planted_patch(rng):
    n = 40
    model, x, inside = _planted_patches(rng, n)
    for method in (explain.grad_cam, explain.grad_cam_plus_plus):
        heat = method(model, x, "conv", target=1)
        assert heat.shape == (n, 16, 16)
        peak = heat.reshape(n, -1).argmax(axis=1)
        hits = inside.reshape(n, -1)[np.arange(n), peak]
        assert hits.mean() >= 0.9, hits.mean()


def _spearman(a, b):
    """Rank correlation with tied values given their average rank."""
    def ranks(v):
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    ra, rb = ranks(a) - ranks(a).mean(), ranks(b) - ranks(b).mean()
    return (ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum())


def test_occlusion_and_integrated_gradients_rank_regions_alike(rng):
    model, x, _ = _planted_patches(rng, 20)
    ig, _ = explain.integrated_gradients(model, x, 1, steps=32)
    occ = explain.occlusion(model, x, window=(4, 4), target=1)
    # totals over the 16 4x4 regions of each image
    by_ig = ig[..., 0].reshape(20, 4, 4, 4, 4).sum(axis=(2, 4)).reshape(20, 16)
    by_occ = occ[..., 0].reshape(20, 4, 4, 4, 4).sum(axis=(2, 4)).reshape(20, 16)
    credited = (by_ig != 0) | (by_occ != 0)  # regions a patch reaches (elsewhere both are 0)
    rho = [_spearman(i[c], o[c]) for i, o, c in zip(by_ig, by_occ, credited)]
    assert np.mean(rho) >= 0.8, rho  # measured 0.94
    top2 = np.argsort(-by_ig, axis=1)[:, :2]
    assert np.mean([o.argmax() in t for o, t in zip(by_occ, top2)]) >= 0.9


# ---- occlusion -----------------------------------------------------------------------------------
def test_occlusion_is_a_central_finite_difference_with_a_shifted_baseline(rng):
    model = _smooth_convnet(seed=6)
    x = rng.normal(size=(2, 8, 8, 2)).astype(np.float64)
    h = 1e-2
    down = explain.occlusion(model, x, window=(1, 1, 1), baseline=x - h, target=1)
    up = explain.occlusion(model, x, window=(1, 1, 1), baseline=x + h, target=1)
    fd = (down - up) / (2 * h)  # (f(x + h e_i) - f(x - h e_i)) / 2h
    g = explain.saliency(model, x, 1, abs=False)
    assert np.linalg.norm(fd - g) <= 1e-3 * np.linalg.norm(g)


def test_occlusion_averages_over_overlapping_windows_on_a_linear_model(rng):
    w = rng.normal(size=(5, 1))
    model, x = _linear(w), rng.normal(size=(3, 5)).astype(np.float32)
    got = explain.occlusion(model, x, window=(2,), strides=(1,), baseline=0.0, target=0)
    contrib = w[:, 0] * x  # what removing each feature costs
    want = np.zeros_like(x)
    for i in range(5):  # windows [s, s+2) for s = 0..3 that contain i
        starts = [s for s in range(4) if s <= i < s + 2]
        want[:, i] = np.mean([contrib[:, s:s + 2].sum(axis=1) for s in starts], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    tiles = explain.occlusion(model, x, window=2, target=0)  # stride = window; feature 4 uncovered
    np.testing.assert_allclose(tiles[:, :4], np.repeat(
        contrib[:, :4].reshape(3, 2, 2).sum(axis=2), 2, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tiles[:, 4], 0.0)
    with pytest.raises(ValueError, match="window"):
        explain.occlusion(model, x, window=(6,))


# ---- Captum ------------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_against_captum(rng):
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr", reason="captum is a test-only extra")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Tanh(),
                              torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    model = shendu.Sequential([shendu.Input((7, 7, 2)), layers.Conv2D(4, 3, activation="tanh",
                                                                      name="conv"),
                               layers.GlobalAveragePooling2D(), layers.Dense(3)])
    p = [t.detach().numpy() for t in net.parameters()]
    model.set_weights([p[0].transpose(2, 3, 1, 0), p[1], p[2].T, p[3]])
    x = rng.normal(size=(4, 7, 7, 2)).astype(np.float32)
    xt = torch.tensor(x.transpose(0, 3, 1, 2))
    cls = np.array([0, 1, 2, 1])
    tgt = torch.tensor(cls)

    def close(ours, theirs, nchw=True):
        theirs = theirs.detach().numpy()
        theirs = theirs.transpose(0, 2, 3, 1) if nchw else theirs
        assert np.linalg.norm(ours - theirs) <= 1e-4 * np.linalg.norm(theirs)

    close(explain.saliency(model, x, cls), captum_attr.Saliency(net).attribute(xt, target=tgt))
    close(explain.gradient_x_input(model, x, cls),
          captum_attr.InputXGradient(net).attribute(xt, target=tgt))
    # (not riemann_trapezoid: Captum weights its n points 1/n with halved ends, which sum
    # to 1 - 1/n; ours is the trapezoid rule, weights 1/(n - 1) with halved ends)
    for method in ("gausslegendre", "riemann_middle"):
        ours, delta = explain.integrated_gradients(model, x, cls, baseline=0.1, steps=20,
                                                   method=method)
        theirs, their_delta = captum_attr.IntegratedGradients(net).attribute(
            xt, baselines=0.1, target=tgt, n_steps=20, method=method,
            return_convergence_delta=True)
        close(ours, theirs)
        np.testing.assert_allclose(delta, their_delta.numpy(), atol=1e-4)
    close(explain.occlusion(model, x, window=(3, 2), strides=(2, 1), baseline=0.5, target=cls),
          captum_attr.Occlusion(net).attribute(xt, sliding_window_shapes=(2, 3, 2),
                                               strides=(2, 2, 1), baselines=0.5, target=tgt))
    # SmoothGrad with Captum's own noise: NoiseTunnel draws torch.normal(0, sigma) for the
    # inputs repeated sample-major; the same seed gives the same draws to hand to shendu.
    samples, sigma = 6, 0.3
    torch.manual_seed(5)
    drawn = torch.normal(0, torch.full((4 * samples, 2, 7, 7), sigma)).numpy() / sigma
    noise = drawn.reshape(4, samples, 2, 7, 7).transpose(1, 0, 3, 4, 2)
    tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(net))
    for ours_fn, nt_type in ((explain.smoothgrad, "smoothgrad"),
                             (explain.smoothgrad_squared, "smoothgrad_sq")):
        torch.manual_seed(5)
        theirs = tunnel.attribute(xt, nt_type=nt_type, nt_samples=samples, stdevs=sigma,
                                  target=tgt, abs=False)
        close(ours_fn(model, x, cls, samples=samples, stdev=sigma, noise=noise), theirs)
    close(explain.grad_cam(model, x, "conv", cls, upsample=False),
          captum_attr.LayerGradCam(net, net[1]).attribute(xt, target=tgt,
                                                        relu_attributions=True)[:, 0],
          nchw=False)


def test_a_multi_output_functional_model_and_a_sequence_grad_cam(rng):
    shendu.utils.set_random_seed(8)
    inp = shendu.Input((6, 6, 2))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 3, activation="tanh",
                                                           name="conv")(inp))
    model = shendu.Model(inp, [layers.Dense(2)(pooled), layers.Dense(1)(pooled)])
    single = shendu.Model(inp, model.outputs[1])  # the same weights, one output
    x = rng.normal(size=(3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(explain.saliency(model, x, lambda outs: outs[1][:, 0]),
                                  explain.saliency(single, x))
    cam = explain.grad_cam(model, x, "conv", lambda outs: outs[1][:, 0], upsample=False)
    np.testing.assert_allclose(cam, explain.grad_cam(single, x, "conv", upsample=False),
                               rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="several outputs"):
        explain.saliency(model, x)
    # Conv1D over a sequence: a (n, positions) map stretched linearly to the input's length
    seq = shendu.Sequential([shendu.Input((12, 2)), layers.Conv1D(2, 3, strides=3, name="c"),
                             layers.GlobalAveragePooling1D(), layers.Dense(1)])
    z = rng.normal(size=(2, 12, 2)).astype(np.float32)
    low = explain.grad_cam(seq, z, "c", upsample=False)
    high = explain.grad_cam(seq, z, "c")
    assert low.shape == (2, 4) and high.shape == (2, 12)
    np.testing.assert_allclose(high[:, 1::3], low, rtol=1e-5, atol=1e-7)  # centres kept


def test_results_and_inputs_stay_as_they_were_when_the_library_runs_again(rng):
    model = _smooth_convnet(seed=9)
    x = rng.normal(size=(2, 8, 8, 2)).astype(np.float32)
    x_before = x.copy()
    results = [explain.saliency(model, x, 0), explain.integrated_gradients(model, x, 0, steps=4)[0],
               explain.grad_cam(model, x, "conv", 0), explain.occlusion(model, x, 2, target=0)]
    kept = [r.copy() for r in results]
    for _ in range(2):  # the same calls again, and training, which reuses pooled buffers
        explain.saliency(model, x, 1), explain.integrated_gradients(model, x, 1, steps=4)
        explain.grad_cam(model, x, "conv", 1), explain.occlusion(model, x, 2, target=1)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((2, 3), np.float32), epochs=1, verbose=0)
    for r, k in zip(results, kept):
        np.testing.assert_array_equal(r, k)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.torch
def test_layer_integrated_gradients_against_captum(rng):
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr", reason="captum is a test-only extra")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.out = torch.nn.Embedding(12, 4), torch.nn.Linear(4, 3)

        def forward(self, ids):
            return self.out(torch.tanh(self.emb(ids)).mean(dim=1))

    torch.manual_seed(1)
    net = Net().eval()
    model = shendu.Sequential([shendu.Input((5,), dtype="int32"), layers.Embedding(12, 4, name="e"),
                               layers.Activation("tanh"), layers.GlobalAveragePooling1D(),
                               layers.Dense(3)])
    model.set_weights([net.emb.weight.detach().numpy(), net.out.weight.detach().numpy().T,
                       net.out.bias.detach().numpy()])
    ids = rng.integers(1, 12, size=(3, 5))
    cls = np.array([2, 0, 1])
    ours, delta = explain.integrated_gradients(model, ids, cls, layer="e", steps=16)
    theirs, their_delta = captum_attr.LayerIntegratedGradients(net, net.emb).attribute(
        torch.tensor(ids), baselines=torch.zeros(3, 5, dtype=torch.long), target=torch.tensor(cls),
        n_steps=16, return_convergence_delta=True)
    theirs = theirs.detach().numpy()
    assert np.linalg.norm(ours - theirs) <= 1e-4 * np.linalg.norm(theirs)
    np.testing.assert_allclose(delta, their_delta.detach().numpy(), atol=1e-5)


def test_grad_cam_on_a_sequential_built_by_its_first_call(rng):
    def build():
        shendu.utils.set_random_seed(10)
        return shendu.Sequential([layers.Conv2D(2, 3, activation="relu", name="conv"),
                                  layers.GlobalAveragePooling2D(), layers.Dense(2)])
    x = rng.uniform(size=(2, 8, 8, 1)).astype(np.float32)
    unbuilt = build()
    assert not unbuilt.built
    got = explain.grad_cam(unbuilt, x, "conv", 1)
    built = build()
    built(x)
    np.testing.assert_array_equal(got, explain.grad_cam(built, x, "conv", 1))
