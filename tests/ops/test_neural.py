"""keras.ops.nn compositions: cross-entropies, normalization, rearrangements, adaptive
pooling, unfold/fold and CTC; PyTorch cross-checks where PyTorch has the op."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, distinct, gradcheck, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _probs(rng, *shape):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


EPS = 1e-7


def _log_softmax(z, axis=-1):
    m = z.max(axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis, keepdims=True))


def _adaptive_ref(x, sizes, reduce):
    """A loop over windows of the (N, *spatial, C) input: slow and plain, for the reference."""
    spatial = x.shape[1:-1]
    out = np.zeros((x.shape[0],) + tuple(sizes) + (x.shape[-1],))
    for idx in np.ndindex(*sizes):
        win = tuple(slice((i * n) // m, -((-(i + 1) * n) // m)) for i, n, m in zip(idx, spatial, sizes))
        block = x[(slice(None),) + win + (slice(None),)]
        out[(slice(None),) + idx + (slice(None),)] = reduce(block, axis=tuple(range(1, 1 + len(sizes))))
    return out


LABELS = np.array([1, 0, 2, 1])

SPECS = [
    OpSpec("binary_crossentropy", lambda p, t: ops.binary_crossentropy(t, p),
           lambda r: [(r.uniform(0.05, 0.95, (3, 4)), r.uniform(0, 1, (3, 4)))],
           lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p))),
    OpSpec("binary_crossentropy_logits", lambda z, t: ops.binary_crossentropy(t, z, from_logits=True),
           lambda r: [(3 * _n(r, 3, 4), r.uniform(0, 1, (3, 4)))],
           lambda z, t: np.logaddexp(0, z) - t * z),
    OpSpec("categorical_crossentropy", lambda p, t: ops.categorical_crossentropy(t, p),
           lambda r: [(_probs(r, 3, 4) * 2, _probs(r, 3, 4))],
           lambda p, t: -(t * np.log(p / p.sum(-1, keepdims=True))).sum(-1)),
    OpSpec("categorical_crossentropy_logits_axis0",
           lambda z, t: ops.categorical_crossentropy(t, z, from_logits=True, axis=0),
           lambda r: [(_n(r, 4, 3), _probs(r, 3, 4).T)], lambda z, t: -(t * _log_softmax(z, 0)).sum(0)),
    OpSpec("sparse_categorical_crossentropy", lambda p: ops.sparse_categorical_crossentropy(LABELS, p),
           lambda r: [(_probs(r, 4, 3),)], lambda p: -np.log(p[np.arange(4), LABELS])),
    OpSpec("sparse_categorical_crossentropy_logits",
           lambda z: ops.sparse_categorical_crossentropy(LABELS[:, None], z, from_logits=True),
           lambda r: [(_n(r, 4, 3),)], lambda z: -_log_softmax(z)[np.arange(4), LABELS]),
    OpSpec("moments", lambda x: ops.moments(x, axes=(0, 2)), lambda r: [(_n(r, 2, 3, 4),)],
           lambda x: (x.mean((0, 2)), x.var((0, 2)))),
    OpSpec("normalize_l2", lambda x: ops.normalize(x, axis=0), lambda r: [(_n(r, 3, 4),)],
           lambda x: x / np.sqrt((x * x).sum(0, keepdims=True))),
    OpSpec("normalize_l1", lambda x: ops.normalize(x, order=1), lambda r: [(distinct(r, (3, 4)) + 0.01,)],
           lambda x: x / np.abs(x).sum(-1, keepdims=True)),
    OpSpec("layer_normalization", lambda x, g, b: ops.layer_normalization(x, g, b, epsilon=1e-3),
           lambda r: [(_n(r, 3, 5), _n(r, 5), _n(r, 5))],
           lambda x, g, b: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * g + b),
    OpSpec("layer_normalization_rms", lambda x, g: ops.layer_normalization(x, g, rms_scaling=True, axis=0),
           lambda r: [(_n(r, 3, 5), _n(r, 3))],
           lambda x, g: x / np.sqrt(x.var(0, keepdims=True) + EPS) * g[:, None]),
    OpSpec("rms_normalization", lambda x, s: ops.rms_normalization(x, s, epsilon=1e-5),
           lambda r: [(_n(r, 3, 5), _n(r, 5))],
           lambda x, s: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * s),
    OpSpec("psnr", lambda a, b: ops.psnr(a, b, 2.0), lambda r: [(_n(r, 3, 4), _n(r, 3, 4))],
           lambda a, b: 20 * np.log10(2.0) - 10 * np.log10(((a - b) ** 2).mean())),
    OpSpec("depth_to_space", lambda x: ops.depth_to_space(x, 2), lambda r: [(_n(r, 2, 2, 3, 8),)],
           lambda x: x.reshape(2, 2, 3, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(2, 4, 6, 2)),
    OpSpec("space_to_depth_roundtrip_cf",
           lambda x: ops.depth_to_space(ops.space_to_depth(x, 2, "channels_first"), 2, "channels_first"),
           lambda r: [(_n(r, 1, 3, 4, 2),)], lambda x: x),
    OpSpec("adaptive_average_pool_2d", lambda x: ops.adaptive_average_pool(x, (3, 2)),
           lambda r: [(_n(r, 2, 7, 5, 3),)], lambda x: _adaptive_ref(x, (3, 2), np.mean)),
    OpSpec("adaptive_max_pool_1d", lambda x: ops.adaptive_max_pool(x, 4),
           lambda r: [(distinct(r, (2, 9, 3)),)], lambda x: _adaptive_ref(x, (4,), np.max)),
    OpSpec("unfold_fold", lambda x: ops.fold(ops.unfold(x, 2, padding=1, stride=2, dilation=1) * 2.0,
                                             (5, 4), 2, padding=1, stride=2),
           lambda r: [(_n(r, 2, 3, 5, 4),)], lambda x: 2 * x),  # non-overlapping blocks: fold undoes unfold
    OpSpec("ctc_loss", lambda z: ops.ctc_loss(np.array([[1, 2, 2], [3, 0, 0]]), z, np.array([3, 1]),
                                              np.array([6, 4]), mask_index=0),
           lambda r: [(_n(r, 2, 6, 4),)], None),
]
SPECS[-1].reference = None  # compared with PyTorch below; its spec drives gradcheck and dtype checks


def _ctc_reference(z):
    torch = pytest.importorskip("torch", reason="the CTC reference is PyTorch's ctc_loss")
    lp = torch.log_softmax(torch.tensor(z), -1).transpose(0, 1)
    return torch.nn.functional.ctc_loss(lp, torch.tensor([[1, 2, 2], [3, 0, 0]]), torch.tensor([6, 4]),
                                        torch.tensor([3, 1]), blank=0, reduction="none").numpy()


SPECS[-1].reference = _ctc_reference
SPECS[-1].tags = ("torch",)

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


@pytest.mark.torch
def test_unfold_fold_and_adaptive_pools_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    got = ops.unfold(x, (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)).numpy()
    want = torch.nn.functional.unfold(torch.tensor(x), (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12)
    cols = rng.standard_normal(want.shape)
    got = ops.fold(cols, (7, 6), (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)).numpy()
    want = torch.nn.functional.fold(torch.tensor(cols), (7, 6), (2, 3), dilation=(2, 1), padding=(1, 0),
                                    stride=(1, 2))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12)
    gradcheck(lambda c: ops.fold(c, (7, 6), (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)), cols)
    got = ops.adaptive_average_pool(x, (3, 4), data_format="channels_first").numpy()
    np.testing.assert_allclose(got, torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), (3, 4)).numpy(),
                               rtol=1e-12)
    got = ops.adaptive_max_pool(x, (4, 5), data_format="channels_first").numpy()
    np.testing.assert_allclose(got, torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), (4, 5)).numpy())


def test_ctc_greedy_decode():
    # time steps argmax: 1 1 0 2 2 0(blank) | past length -> ignored
    logits = np.full((1, 7, 3), -5.0)
    for t, k in enumerate([1, 1, 0, 2, 2, 0, 1]):
        logits[0, t, k] = 1.0
    decoded, scores = ops.ctc_decode(logits, np.array([6]))
    assert decoded.tolist() == [[[1, 2, -1, -1, -1, -1, -1]]]
    assert scores.tolist() == [[-6.0]]
    decoded, _ = ops.ctc_decode(logits, np.array([6]), merge_repeated=False)
    assert decoded.tolist()[0][0][:4] == [1, 1, 2, 2]


def test_ctc_beam_search_sums_paths_and_agrees_with_the_loss(rng):
    z = rng.standard_normal((2, 5, 4))
    decoded, scores = ops.ctc_decode(z, np.array([5, 3]), strategy="beam_search", beam_width=50, top_paths=2)
    assert decoded.shape == (2, 2, 5) and scores.shape == (2, 2)
    assert (scores.numpy()[:, 0] >= scores.numpy()[:, 1]).all()
    # the score of a decoded sequence is its log probability: -ctc_loss of that label sequence
    for b, length in enumerate([5, 3]):
        seq = [k for k in decoded.numpy()[0, b] if k >= 0]
        loss = ops.ctc_loss(np.array([seq or [0]]), z[b:b + 1], np.array([len(seq)]), np.array([length]))
        np.testing.assert_allclose(scores.numpy()[b, 0], -loss.numpy()[0], rtol=1e-10)


def test_errors_and_polar():
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="order"):
        ops.normalize(np.ones(3), order=0)
    with pytest.raises(ValueError, match="divisible"):
        ops.depth_to_space(np.ones((1, 2, 2, 3)), 2)
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(np.ones((1, 2, 3)), np.array([2]), strategy="best")
    z = ops.polar(np.array([2.0]), np.array([np.pi / 2]))
    np.testing.assert_allclose(z.numpy(), [2j], atol=1e-12)
    x = shendu.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    ops.binary_crossentropy(np.ones((2, 2)), x * 0.2).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
