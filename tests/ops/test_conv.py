"""conv, conv_transpose, depthwise_conv: loop reference, gradcheck, PyTorch cross-checks."""
import itertools

import numpy as np
import pytest

import shendu.ops as ops
from shendu.autograd.tensor import Tensor
from shendu.testing import gradcheck


def rel_err(a, b):
    """Normwise relative error max|a - b| / max|b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def tf_pads(n, k, s, d, padding):
    """TensorFlow 'same': out = ceil(n/s), the odd padding element at the end."""
    if padding == "valid":
        return 0, 0
    keff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def ref_conv(x, w, s, padding, d, depthwise=False):
    """Direct nested-loop convolution (channels-last) over tiny shapes."""
    nsp = x.ndim - 2
    s = (s,) * nsp if isinstance(s, int) else s
    d = (d,) * nsp
    ksize = w.shape[:nsp]
    pads = [tf_pads(n, k, si, di, padding) for n, k, si, di in zip(x.shape[1:-1], ksize, s, d)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out = [(xp.shape[i + 1] - (k - 1) * di - 1) // si + 1 for i, (k, si, di) in enumerate(zip(ksize, s, d))]
    cout = w.shape[-2] * w.shape[-1] if depthwise else w.shape[-1]
    y = np.zeros((x.shape[0], *out, cout))
    for o in itertools.product(*map(range, out)):
        for t in itertools.product(*map(range, ksize)):
            pos = tuple(oi * si + ti * di for oi, ti, si, di in zip(o, t, s, d))
            v = xp[(slice(None),) + pos]  # (N, C)
            if depthwise:
                y[(slice(None),) + o] += (v[:, :, None] * w[t]).reshape(x.shape[0], -1)
            else:
                y[(slice(None),) + o] += v @ w[t]
    return y


# (x shape, kernel shape, strides, padding, dilation)
CONV_CASES = [
    ((2, 7, 3), (3, 3, 2), 1, "valid", 1),
    ((1, 8, 2), (3, 2, 3), 2, "same", 1),
    ((2, 9, 1), (2, 1, 2), 1, "same", 3),
    ((2, 5, 6, 3), (3, 2, 3, 4), 1, "valid", 1),
    ((1, 7, 5, 2), (3, 3, 2, 3), 2, "same", 1),
    ((2, 6, 7, 2), (2, 3, 2, 2), (2, 3), "valid", 1),
    ((1, 7, 7, 1), (3, 3, 1, 2), 1, "same", 2),
    ((1, 8, 6, 2), (2, 2, 2, 1), 3, "same", 2),
]


@pytest.mark.parametrize("xs,ks,s,p,d", CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_forward_matches_loop_reference(xs, ks, s, p, d, dtype):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ks).astype(dtype)
    y = ops.conv(x, w, strides=s, padding=p, dilation_rate=d)
    assert y.dtype == dtype
    ref = ref_conv(x.astype(np.float64), w.astype(np.float64), s, p, d)
    assert y.shape == ref.shape
    assert rel_err(y.numpy(), ref) < (1e-12 if dtype == np.float64 else 1e-6)


def test_conv_same_output_is_ceil_of_input_over_stride():
    y = ops.conv(np.ones((1, 7, 8, 1)), np.ones((4, 3, 1, 1)), strides=(2, 3), padding="SAME")
    assert y.shape == (1, 4, 3, 1)
    # Rows: total padding 3 = 1 top + 2 bottom; columns: 1 = 0 left + 1 right.
    # Top-left window: 3 real rows x 3 real columns; bottom-right: 2 x 2.
    assert y.numpy()[0, 0, 0, 0] == 9.0
    assert y.numpy()[0, 3, 2, 0] == 4.0


@pytest.mark.parametrize("xs,ks,s,p,d", CONV_CASES)
def test_conv_gradcheck(xs, ks, s, p, d):
    rng = np.random.default_rng(1)
    gradcheck(lambda x, w: ops.conv(x, w, s, p, dilation_rate=d),
              rng.standard_normal(xs), rng.standard_normal(ks))


@pytest.mark.parametrize("xs,ks,s,p,d", CONV_CASES)
def test_conv_bias_is_conv_plus_bias_and_gradcheck(xs, ks, s, p, d):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ks), rng.standard_normal(ks[-1])
    np.testing.assert_allclose(ops.conv_bias(x, w, b, s, p, dilation_rate=d).numpy(),
                               ops.conv(x, w, s, p, dilation_rate=d).numpy() + b,
                               rtol=1e-12, atol=1e-12)
    gradcheck(lambda x, w, b: ops.conv_bias(x, w, b, s, p, dilation_rate=d), x, w, b)


DEPTHWISE_CASES = [
    ((2, 5, 6, 2), (3, 2, 2, 2), 1, "valid", 1),
    ((1, 7, 5, 3), (3, 3, 3, 1), 2, "same", 1),
    ((1, 7, 7, 2), (2, 2, 2, 3), 1, "same", 2),
    ((2, 8, 3), (3, 3, 2), 2, "valid", 1),
]


@pytest.mark.parametrize("xs,ks,s,p,d", DEPTHWISE_CASES)
def test_depthwise_conv_forward_and_gradcheck(xs, ks, s, p, d):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    y = ops.depthwise_conv(x, w, s, p, dilation_rate=d)
    assert rel_err(y.numpy(), ref_conv(x, w, s, p, d, depthwise=True)) < 1e-12
    y32 = ops.depthwise_conv(x.astype(np.float32), w.astype(np.float32), s, p, dilation_rate=d)
    assert y32.dtype == np.float32
    gradcheck(lambda x, w: ops.depthwise_conv(x, w, s, p, dilation_rate=d), x, w)


# (x shape, kernel (*k, C_out, C_in), strides, padding, output_padding, dilation, expected spatial)
TRANSPOSE_CASES = [
    ((2, 5, 3), (3, 2, 3), 2, "valid", None, 1, (11,)),
    ((1, 5, 2), (3, 2, 2), 2, "same", None, 1, (10,)),
    ((1, 4, 2), (4, 3, 2), 3, "same", 2, 1, (11,)),
    ((1, 3, 1), (1, 2, 1), 3, "valid", None, 1, (9,)),
    ((1, 4, 3, 2), (3, 3, 2, 2), 2, "valid", None, 1, (9, 7)),
    ((2, 3, 4, 2), (3, 2, 3, 2), (2, 1), "same", None, 1, (6, 4)),
    ((1, 3, 3, 1), (3, 3, 2, 1), 2, "same", 1, 1, (6, 6)),
    ((1, 4, 3, 2), (2, 3, 2, 2), 1, "valid", None, 2, (6, 7)),
    ((1, 3, 4, 1), (2, 2, 2, 1), 2, "same", None, 2, (6, 8)),
]


@pytest.mark.parametrize("xs,ks,s,p,op,d,out", TRANSPOSE_CASES)
def test_conv_transpose_output_shape_and_gradcheck(xs, ks, s, p, op, d, out):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    f = lambda x, w: ops.conv_transpose(x, w, s, p, output_padding=op, dilation_rate=d)  # noqa: E731
    y = f(x, w)
    assert y.shape == (xs[0],) + out + (ks[-2],)
    assert f(x.astype(np.float32), w.astype(np.float32)).dtype == np.float32
    gradcheck(f, x, w)


@pytest.mark.parametrize("xs,ks,s,p,d", [((2, 7, 3), (3, 3, 2), 2, "valid", 1),
                                         ((1, 8, 6, 2), (3, 2, 2, 3), 2, "same", 1),
                                         ((1, 7, 7, 2), (3, 3, 2, 2), 1, "same", 2)])
def test_conv_transpose_is_the_adjoint_of_conv(xs, ks, s, p, d):
    # <conv(a, W), b> = <a, conv_transpose(b, W)>: Keras's transpose kernel layout
    # (*k, C_out, C_in) is conv's kernel (*k, C_in, C_out) read the other way.
    rng = np.random.default_rng(4)
    a, w = rng.standard_normal(xs), rng.standard_normal(ks)
    y = ops.conv(a, w, s, p, dilation_rate=d)
    b = rng.standard_normal(y.shape)
    at = ops.conv_transpose(b, w, s, p, dilation_rate=d)
    assert at.shape == a.shape
    assert abs((y.numpy() * b).sum() - (a * at.numpy()).sum()) < 1e-10 * np.abs(y.numpy()).sum()


def test_conv_channel_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"conv.*\(2, 5, 5, 3\).*\(3, 3, 4, 8\)"):
        ops.conv(np.zeros((2, 5, 5, 3)), np.zeros((3, 3, 4, 8)))


def test_conv_rank_and_size_errors():
    with pytest.raises(ValueError, match=r"conv.*rank.*\(2, 5, 3\).*\(3, 3, 3, 8\)"):
        ops.conv(np.zeros((2, 5, 3)), np.zeros((3, 3, 3, 8)))
    with pytest.raises(ValueError, match=r"conv.*larger than the padded input"):
        ops.conv(np.zeros((1, 3, 3, 1)), np.zeros((2, 2, 1, 1)), dilation_rate=3)
    with pytest.raises(ValueError, match=r"depthwise_conv.*\(1, 5, 5, 2\).*\(3, 3, 3, 1\)"):
        ops.depthwise_conv(np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 3, 1)))
    with pytest.raises(ValueError, match="padding"):
        ops.conv(np.zeros((1, 5, 1)), np.zeros((3, 1, 1)), padding="full")


# --- PyTorch cross-checks (float32, channels-first there) ----------------------------


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: cross-checks skipped")


def _to_cf(a):  # channels-last -> channels-first
    return np.moveaxis(a, -1, 1)


def _to_cl(a):
    return np.moveaxis(a, 1, -1)


def _torch_pad(torch, tx, pads, value=0.0):
    flat = []
    for lo, hi in reversed(pads):  # F.pad takes the last axis first
        flat += [lo, hi]
    return torch.nn.functional.pad(tx, flat, value=value)


def _shendu_fwd_bwd(f, x, w, gy_seed=0):
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    y = f(xt, wt)
    gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(np.float32)
    y.backward(Tensor(gy))
    return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), gy


TORCH_CONV_CASES = CONV_CASES + [((2, 5, 6, 4, 2), (2, 3, 2, 2, 3), 1, "same", 1),
                                 ((2, 12, 11, 3), (3, 3, 3, 8), 2, "valid", 1)]


@pytest.mark.torch
@pytest.mark.parametrize("xs,ks,s,p,d", TORCH_CONV_CASES)
def test_conv_matches_torch(xs, ks, s, p, d):
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ks).astype(np.float32)
    y, gx, gw, gy = _shendu_fwd_bwd(lambda a, b: ops.conv(a, b, s, p, dilation_rate=d), x, w)
    nsp = x.ndim - 2
    st = (s,) * nsp if isinstance(s, int) else s
    pads = [tf_pads(n, k, si, d, p) for n, k, si in zip(xs[1:-1], ks[:nsp], st)]
    tx = torch.tensor(_to_cf(x), requires_grad=True)
    # torch kernel (C_out, C_in, *k) from Keras (*k, C_in, C_out)
    tw = torch.tensor(np.ascontiguousarray(np.transpose(w, (nsp + 1, nsp) + tuple(range(nsp)))),
                      requires_grad=True)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nsp]
    ty = conv(_torch_pad(torch, tx, pads), tw, stride=st, dilation=d)
    ty.backward(torch.tensor(_to_cf(gy)))
    assert rel_err(y, _to_cl(ty.detach().numpy())) <= 1e-5
    assert rel_err(gx, _to_cl(tx.grad.numpy())) <= 1e-5
    assert rel_err(gw, np.transpose(tw.grad.numpy(), tuple(range(2, nsp + 2)) + (1, 0))) <= 1e-5


@pytest.mark.torch
@pytest.mark.parametrize("xs,ks,s,p,d", DEPTHWISE_CASES)
def test_depthwise_conv_matches_torch(xs, ks, s, p, d):
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ks).astype(np.float32)
    y, gx, gw, gy = _shendu_fwd_bwd(lambda a, b: ops.depthwise_conv(a, b, s, p, dilation_rate=d),
                                    x, w)
    nsp, C, M = x.ndim - 2, ks[-2], ks[-1]
    pads = [tf_pads(n, k, s, d, p) for n, k in zip(xs[1:-1], ks[:nsp])]
    tx = torch.tensor(_to_cf(x), requires_grad=True)
    # groups=C: torch output channel c*M + m reads input channel c, as Keras's does
    kperm = (nsp, nsp + 1) + tuple(range(nsp))
    tw = torch.tensor(np.ascontiguousarray(np.transpose(w, kperm).reshape((C * M, 1) + ks[:nsp])),
                      requires_grad=True)
    conv = {1: F.conv1d, 2: F.conv2d}[nsp]
    ty = conv(_torch_pad(torch, tx, pads), tw, stride=s, dilation=d, groups=C)
    ty.backward(torch.tensor(_to_cf(gy)))
    assert rel_err(y, _to_cl(ty.detach().numpy())) <= 1e-5
    assert rel_err(gx, _to_cl(tx.grad.numpy())) <= 1e-5
    gw_t = np.transpose(tw.grad.numpy().reshape((C, M) + ks[:nsp]), tuple(range(2, nsp + 2)) + (0, 1))
    assert rel_err(gw, gw_t) <= 1e-5


def keras_transpose_crop(n, k, s, p, op, d):
    """(start, length) of Keras's conv_transpose output inside the full (uncropped) one.

    From Keras's jax backend: the stride-dilated input is padded by `left` before a
    valid conv with the flipped kernel, so the full output (padding 0) starts
    k_eff - 1 - left earlier.
    """
    keff = (k - 1) * d + 1
    if p == "valid":
        length = n * s + max(keff - s, 0) if op is None else (n - 1) * s + keff + op
        return 0, length
    length = n * s if op is None else (n - 1) * s + keff - 2 * (keff // 2) + op
    pad_len = s + keff - 2 if op is None else keff + keff % 2 - 2 + op
    left = min(pad_len // 2 + pad_len % 2, keff - 1)
    return keff - 1 - left, length


@pytest.mark.torch
@pytest.mark.parametrize("xs,ks,s,p,op,d,out", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(xs, ks, s, p, op, d, out):
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ks).astype(np.float32)
    y, gx, gw, gy = _shendu_fwd_bwd(
        lambda a, b: ops.conv_transpose(a, b, s, p, output_padding=op, dilation_rate=d), x, w)
    nsp = x.ndim - 2
    st = (s,) * nsp if isinstance(s, int) else s
    ops_ = (op,) * nsp
    crops = [keras_transpose_crop(n, k, si, p, o, d) for n, k, si, o in zip(xs[1:-1], ks[:nsp], st, ops_)]
    assert tuple(c[1] for c in crops) == out
    tx = torch.tensor(_to_cf(x), requires_grad=True)
    # torch conv_transpose kernel (C_in, C_out, *k) from Keras (*k, C_out, C_in)
    tw = torch.tensor(np.ascontiguousarray(np.transpose(w, (nsp + 1, nsp) + tuple(range(nsp)))),
                      requires_grad=True)
    convt = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[nsp]
    full = convt(tx, tw, stride=st, dilation=d)  # no padding: every output position
    # Crop [start, start + length), zero-extending where Keras's output runs past the end.
    ext = [(0, max(st_ + ln - m, 0)) for (st_, ln), m in zip(crops, full.shape[2:])]
    full = _torch_pad(torch, full, ext)
    ty = full[(slice(None), slice(None)) + tuple(slice(a, a + ln) for a, ln in crops)]
    ty.backward(torch.tensor(_to_cf(gy)))
    assert rel_err(y, _to_cl(ty.detach().numpy())) <= 1e-5
    assert rel_err(gx, _to_cl(tx.grad.numpy())) <= 1e-5
    assert rel_err(gw, np.transpose(tw.grad.numpy(), tuple(range(2, nsp + 2)) + (1, 0))) <= 1e-5
