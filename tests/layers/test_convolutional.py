"""Convolution layers: the shared layer check, shape arithmetic, hand cases, errors, PyTorch parity."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import normwise_error as rel_err  # ||a - b|| / ||b||
from shendu.testing import run_layer_test


# --- the shared check (output shape, config round trip, training step, float64 gradcheck) ----

@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, gc_shape, n_train", [
    (layers.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 7, 2), (2, 5, 3), (1, 5, 2), 2),
    (layers.Conv1D, {"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2},
     (2, 6, 3), (2, 6, 2), (1, 5, 2), 2),
    (layers.Conv1D, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "groups": 2,
                     "activation": "tanh"}, (2, 7, 4), (2, 4, 4), (1, 5, 4), 2),
    (layers.Conv2D, {"filters": 3, "kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 3), (1, 4, 4, 2), 2),
    (layers.Conv2D, {"filters": 2, "kernel_size": (3, 2), "strides": 2, "padding": "same",
                     "use_bias": False}, (2, 7, 6, 3), (2, 4, 3, 2), (1, 5, 4, 2), 1),
    (layers.Conv2D, {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same",
                     "activation": "tanh", "kernel_regularizer": "l2"}, (2, 5, 5, 2), (2, 5, 5, 2),
     (1, 4, 4, 1), 2),
    (layers.Conv2D, {"filters": 4, "kernel_size": 2, "groups": 2}, (2, 4, 4, 2), (2, 3, 3, 4),
     (1, 3, 3, 2), 2),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 4, 3), (2, 9, 2),
     (1, 3, 2), 2),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 3, 4, 3), (2, 6, 8, 2), (1, 2, 3, 2), 2),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1},
     (2, 3, 3, 2), (2, 8, 8, 2), (1, 2, 2, 2), 2),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 3), (2, 3, 3, 6),
     (1, 4, 4, 2), 2),
    (layers.DepthwiseConv1D, {"kernel_size": 2, "strides": 2, "padding": "same"}, (2, 5, 3),
     (2, 3, 3), (1, 5, 2), 2),
    (layers.SeparableConv2D, {"filters": 3, "kernel_size": 2, "depth_multiplier": 2,
                              "activation": "tanh"}, (2, 5, 5, 2), (2, 4, 4, 3), (1, 3, 3, 2), 3),
    (layers.SeparableConv1D, {"filters": 2, "kernel_size": 3, "padding": "same"}, (2, 6, 3),
     (2, 6, 2), (1, 4, 2), 3),
])
def test_conv_layers_shared_check(cls, kwargs, in_shape, out_shape, gc_shape, n_train):
    run_layer_test(cls, kwargs, in_shape, out_shape, expected_num_trainable_weights=n_train,
                   expected_num_non_trainable_weights=0, gradcheck_shape=gc_shape)


def test_keras_aliases():
    assert layers.Convolution2D is layers.Conv2D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


# --- shape inference without data ---------------------------------------------

@pytest.mark.parametrize("kwargs, in_shape, expected", [
    ({"filters": 4, "kernel_size": 3}, (None, 28, 28, 1), (None, 26, 26, 4)),
    ({"filters": 4, "kernel_size": 3, "strides": 2}, (None, 28, 27, 1), (None, 13, 13, 4)),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 28, 27, 1),
     (None, 14, 14, 4)),
    ({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (None, 10, 9, 1), (None, 6, 5, 4)),
    ({"filters": 4, "kernel_size": 3}, (None, None, None, 2), (None, None, None, 4)),
])
def test_conv2d_output_shape_arithmetic(kwargs, in_shape, expected):
    layer = layers.Conv2D(**kwargs)
    assert layer.compute_output_shape(in_shape) == expected
    assert layers.Conv2D(**kwargs)(shendu.Input(shape=in_shape[1:])).shape == expected


@pytest.mark.parametrize("kwargs, in_shape, expected", [
    ({"filters": 2, "kernel_size": 3}, (None, 5, 5, 1), (None, 7, 7, 2)),
    ({"filters": 2, "kernel_size": 2, "strides": 3}, (None, 4, 4, 1), (None, 12, 12, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 5, 4, 1),
     (None, 10, 8, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
     (None, 5, 4, 1), (None, 10, 8, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (0, 1)}, (None, 5, 4, 1),
     (None, 11, 10, 2)),
])
def test_conv2d_transpose_output_shape(kwargs, in_shape, expected):
    layer = layers.Conv2DTranspose(**kwargs)
    assert layer.compute_output_shape(in_shape) == expected
    x = np.zeros((1,) + in_shape[1:], np.float32)
    assert layer(x).shape == (1,) + expected[1:]


# --- hand-computed case -------------------------------------------------------

def test_conv2d_hand_computed():
    conv = layers.Conv2D(1, 2)
    conv.build((None, 3, 3, 1))
    conv.set_weights([np.ones((2, 2, 1, 1), np.float32), np.array([1.0], np.float32)])
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    y = conv(x)
    # windows [[1,2],[4,5]] -> 12 (+1), [[2,3],[5,6]] -> 16, [[4,5],[7,8]] -> 24, [[5,6],[8,9]] -> 28
    np.testing.assert_allclose(y.numpy()[0, :, :, 0], [[13, 17], [25, 29]])
    assert y.dtype == np.float32


def test_conv2d_kernel_layout_and_weights():
    conv = layers.Conv2D(5, (3, 2), name="c")
    conv(np.zeros((1, 4, 4, 3), np.float32))
    assert [w.path for w in conv.weights] == ["c/kernel", "c/bias"]
    assert conv.kernel.shape == (3, 2, 3, 5) and conv.bias.shape == (5,)
    t = layers.Conv2DTranspose(5, 3)
    t(np.zeros((1, 4, 4, 2), np.float32))
    assert t.kernel.shape == (3, 3, 5, 2)
    d = layers.DepthwiseConv2D(3, depth_multiplier=4)
    d(np.zeros((1, 4, 4, 2), np.float32))
    assert d.kernel.shape == (3, 3, 2, 4) and d.bias.shape == (8,)
    s = layers.SeparableConv2D(6, 3, depth_multiplier=2)
    s(np.zeros((1, 4, 4, 3), np.float32))
    assert s.depthwise_kernel.shape == (3, 3, 3, 2) and s.pointwise_kernel.shape == (1, 1, 6, 6)


def test_conv1d_causal_sees_only_the_past():
    conv = layers.Conv1D(1, 3, padding="causal", use_bias=False, kernel_initializer="ones")
    x = np.zeros((1, 6, 1), np.float32)
    x[0, 3, 0] = 1.0
    np.testing.assert_array_equal(conv(x).numpy()[0, :, 0], [0, 0, 0, 1, 1, 1])


def test_conv_config_has_every_argument():
    cfg = layers.Conv2D(4, 3).get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint"):
        assert key in cfg
    assert cfg["kernel_size"] == [3, 3] and cfg["strides"] == [1, 1] and cfg["padding"] == "valid"
    assert cfg["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["bias_initializer"]["class_name"] == "Zeros"


# --- argument and shape errors ------------------------------------------------

def test_conv_argument_errors():
    with pytest.raises(ValueError, match="Received: filters=0"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="Received: data_format='NCHW'"):
        layers.Conv2D(2, 3, data_format="NCHW")
    with pytest.raises(ValueError, match="divisible"):
        layers.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)


def test_conv2d_shape_errors_name_layer_and_shapes():
    conv = layers.Conv2D(2, 3, name="my_conv")
    with pytest.raises(ValueError) as e:
        conv(np.zeros((2, 5, 3), np.float32))
    msg = str(e.value)
    assert "my_conv" in msg and "Conv2D" in msg and "rank-4" in msg and "(2, 5, 3)" in msg
    conv(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError) as e:
        conv(np.zeros((1, 5, 5, 4), np.float32))
    msg = str(e.value)
    assert "my_conv" in msg and "3 channels" in msg and "(1, 5, 5, 4)" in msg
    with pytest.raises(ValueError) as e:
        layers.Conv2D(2, 5, name="big")(np.zeros((1, 3, 3, 1), np.float32))
    assert "big" in str(e.value) and "(1, 3, 3, 1)" in str(e.value)
    with pytest.raises(ValueError, match="groups=2"):
        layers.Conv2D(2, 1, groups=2)(np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="tconv"):
        layers.Conv2DTranspose(2, 3, name="tconv")(np.zeros((1, 3, 3), np.float32))


# --- PyTorch parity (float32, same weights) -----------------------------------

def _same_pads(n, k, s, d):
    """TensorFlow's 'same' padding (lo, hi): out = ceil(n / s), odd element at the end."""
    k_eff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def _nchw(x):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": (3, 2), "strides": 2},
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 4, "padding": "same"},
    {"kernel_size": 3, "dilation_rate": 2, "padding": "same"},
    {"kernel_size": 2, "dilation_rate": (2, 3)},
])
def test_conv2d_matches_torch(kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    conv = layers.Conv2D(5, **kwargs)
    y = conv(x)
    k, b = conv.get_weights()
    s, d = conv.strides, conv.dilation_rate
    xt = torch.tensor(_nchw(x))
    if conv.padding == "same":
        (t, bo), (le, r) = [_same_pads(n, kk, ss, dd) for n, kk, ss, dd in
                            zip(x.shape[1:3], conv.kernel_size, s, d)]
        xt = F.pad(xt, (le, r, t, bo))
    # Keras (kh, kw, in, out) -> torch (out, in, kh, kw)
    yt = F.conv2d(xt, torch.tensor(k.transpose(3, 2, 0, 1).copy()), torch.tensor(b), stride=s,
                  dilation=d)
    assert y.shape == _nhwc(yt).shape
    err = rel_err(y.numpy(), _nhwc(yt))
    print(f"Conv2D {kwargs}: rel err {err:.2e}")
    assert err <= 1e-5


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "strides": 2},
    {"kernel_size": 2, "strides": 3},
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 4, "strides": 2, "padding": "same"},
    {"kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
    {"kernel_size": 3, "strides": 2, "output_padding": (1, 0)},
    {"kernel_size": 3, "dilation_rate": 2},
    {"kernel_size": (3, 2), "strides": (1, 2), "padding": "same"},
])
def test_conv2d_transpose_matches_torch(kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    layer = layers.Conv2DTranspose(4, **kwargs)
    y = layer(x).numpy()
    k, b = layer.get_weights()
    s, d = layer.strides, layer.dilation_rate
    # Keras semantics (TensorFlow backend): the output is the input gradient of a conv
    # with the same padding rule applied to an input of the output's size, i.e. the
    # full transposed conv cropped from `lo` (0 for 'valid'; the 'same' pads' low half).
    los, extra = [], []
    for n, kk, ss, dd, length in zip(x.shape[1:3], layer.kernel_size, s, d, y.shape[1:3]):
        lo = _same_pads(length, kk, ss, dd)[0] if layer.padding == "same" else 0
        full = (n - 1) * ss + (kk - 1) * dd + 1
        los.append(lo)
        extra.append(max(lo + length - full, 0))
    # Keras (kh, kw, filters, in) -> torch ConvTranspose weight (in, filters, kh, kw)
    yt = F.conv_transpose2d(torch.tensor(_nchw(x)), torch.tensor(k.transpose(3, 2, 0, 1).copy()),
                            torch.tensor(b), stride=s, dilation=d, output_padding=tuple(extra))
    yt = _nhwc(yt)[:, los[0]:los[0] + y.shape[1], los[1]:los[1] + y.shape[2]]
    assert yt.shape == y.shape
    err = rel_err(y, yt)
    print(f"Conv2DTranspose {kwargs}: rel err {err:.2e}")
    assert err <= 1e-5


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "depth_multiplier": 2},
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 2, "dilation_rate": 2, "depth_multiplier": 3},
])
def test_depthwise_conv2d_matches_torch(kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    layer = layers.DepthwiseConv2D(**kwargs, bias_initializer="random_normal")
    y = layer(x).numpy()
    k, b = layer.get_weights()
    kh, kw, c, m = k.shape
    xt = torch.tensor(_nchw(x))
    if layer.padding == "same":
        (t, bo), (le, r) = [_same_pads(n, kk, ss, dd) for n, kk, ss, dd in
                            zip(x.shape[1:3], layer.kernel_size, layer.strides, layer.dilation_rate)]
        xt = F.pad(xt, (le, r, t, bo))
    # Keras (kh, kw, C, M), output channel c*M + m -> torch groups=C weight (C*M, 1, kh, kw)
    wt = k.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw).copy()
    yt = _nhwc(F.conv2d(xt, torch.tensor(wt), torch.tensor(b), stride=layer.strides,
                        dilation=layer.dilation_rate, groups=c))
    assert yt.shape == y.shape
    err = rel_err(y, yt)
    print(f"DepthwiseConv2D {kwargs}: rel err {err:.2e}")
    assert err <= 1e-5


@pytest.mark.torch
def test_separable_conv2d_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    layer = layers.SeparableConv2D(4, 3, depth_multiplier=2, bias_initializer="random_normal")
    y = layer(x).numpy()
    dk, pk, b = layer.get_weights()
    kh, kw, c, m = dk.shape
    h = F.conv2d(torch.tensor(_nchw(x)), torch.tensor(dk.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw).copy()),
                 groups=c)
    yt = _nhwc(F.conv2d(h, torch.tensor(pk.transpose(3, 2, 0, 1).copy()), torch.tensor(b)))
    err = rel_err(y, yt)
    print(f"SeparableConv2D: rel err {err:.2e}")
    assert err <= 1e-5


@pytest.mark.torch
def test_conv2d_gradients_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    conv = layers.Conv2D(4, 3, strides=2)
    xs = shendu.tensor(x, requires_grad=True)
    y = conv(xs)
    (y * y).sum().backward()
    k, b = conv.get_weights()
    xt = torch.tensor(_nchw(x), requires_grad=True)
    kt = torch.tensor(k.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    yt = F.conv2d(xt, kt, bt, stride=2)
    (yt * yt).sum().backward()
    errs = [rel_err(xs.grad.numpy(), _nhwc(xt.grad)),
            rel_err(conv.kernel.grad.numpy(), kt.grad.numpy().transpose(2, 3, 1, 0)),
            rel_err(conv.bias.grad.numpy(), bt.grad.numpy())]
    print(f"Conv2D gradients: rel errs {[f'{e:.2e}' for e in errs]}")
    assert max(errs) <= 1e-5
