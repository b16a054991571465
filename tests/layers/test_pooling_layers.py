"""Pooling layers: the shared layer check, shape arithmetic, hand cases, errors, PyTorch parity."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import distinct, run_layer_test


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def _distinct_input(shape, seed=0):
    # max pooling is differentiable only away from ties: every value distinct
    return distinct(np.random.default_rng(seed), shape).astype(np.float32)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, gc_shape", [
    (layers.MaxPooling1D, {}, (2, 7, 3), (2, 3, 3), (1, 6, 2)),
    (layers.MaxPooling1D, {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 5, 2), (2, 5, 2),
     (1, 5, 2)),
    (layers.MaxPooling2D, {}, (2, 5, 4, 3), (2, 2, 2, 3), (1, 4, 4, 2)),
    (layers.MaxPooling2D, {"pool_size": (3, 2), "strides": 2, "padding": "same"}, (2, 5, 5, 2),
     (2, 3, 3, 2), (1, 5, 4, 2)),
    (layers.AveragePooling1D, {"pool_size": 3, "strides": 2}, (2, 7, 3), (2, 3, 3), (1, 7, 2)),
    (layers.AveragePooling2D, {}, (2, 6, 5, 3), (2, 3, 2, 3), (1, 4, 4, 2)),
    (layers.AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 2),
     (2, 3, 3, 2), (1, 5, 4, 2)),
    (layers.GlobalAveragePooling1D, {}, (2, 5, 3), (2, 3), (1, 4, 2)),
    (layers.GlobalAveragePooling2D, {}, (2, 4, 5, 3), (2, 3), (1, 3, 3, 2)),
    (layers.GlobalAveragePooling2D, {"keepdims": True}, (2, 4, 5, 3), (2, 1, 1, 3), (1, 3, 3, 2)),
    (layers.GlobalMaxPooling1D, {}, (2, 5, 3), (2, 3), (1, 4, 2)),
    (layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), (2, 3), (1, 3, 3, 2)),
    (layers.GlobalMaxPooling1D, {"keepdims": True}, (2, 5, 3), (2, 1, 3), (1, 4, 2)),
])
def test_pooling_shared_check(cls, kwargs, in_shape, out_shape, gc_shape):
    # The gradcheck input is random normal: ties have probability zero, and the
    # finite-difference step (1e-6) is far below the typical gap between values.
    layer = run_layer_test(cls, kwargs, in_shape, out_shape, expected_num_trainable_weights=0,
                           expected_num_non_trainable_weights=0, gradcheck_shape=gc_shape,
                           input_data=_distinct_input(in_shape))
    assert layer.weights == []


def test_aliases():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool2D is layers.AveragePooling2D
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D


def test_defaults_and_config():
    p = layers.MaxPooling2D()
    assert p.pool_size == (2, 2) and p.strides == (2, 2) and p.padding == "valid"
    assert layers.MaxPooling1D().pool_size == (2,)
    cfg = layers.AveragePooling2D(3, strides=1, padding="same").get_config()
    assert cfg["pool_size"] == [3, 3] and cfg["strides"] == [1, 1] and cfg["padding"] == "same"
    assert cfg["data_format"] == "channels_last"
    assert layers.GlobalMaxPooling2D(keepdims=True).get_config()["keepdims"] is True


@pytest.mark.parametrize("cls, kwargs, in_shape, expected", [
    (layers.MaxPooling2D, {}, (None, 28, 27, 8), (None, 14, 13, 8)),
    (layers.MaxPooling2D, {"padding": "same"}, (None, 27, 27, 8), (None, 14, 14, 8)),
    (layers.AveragePooling2D, {"pool_size": 3, "strides": 2}, (None, 9, 8, 1), (None, 4, 3, 1)),
    (layers.MaxPooling1D, {"pool_size": 4}, (None, None, 2), (None, None, 2)),
    (layers.GlobalAveragePooling2D, {}, (None, None, None, 5), (None, 5)),
])
def test_output_shape_arithmetic(cls, kwargs, in_shape, expected):
    assert cls(**kwargs).compute_output_shape(in_shape) == expected
    assert cls(**kwargs)(shendu.Input(shape=in_shape[1:])).shape == expected


def test_pooling_hand_computed():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.MaxPooling2D()(x).numpy()[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(layers.AveragePooling2D()(x).numpy()[0, :, :, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])
    # 'same' averages only real values: the last window of [0, 1, 2] is [2] alone
    y = layers.AveragePooling1D(2, padding="same")(np.arange(3, dtype=np.float32).reshape(1, 3, 1))
    np.testing.assert_array_equal(y.numpy()[0, :, 0], [0.5, 2.0])
    np.testing.assert_array_equal(layers.GlobalMaxPooling2D()(x).numpy(), [[15]])
    np.testing.assert_array_equal(layers.GlobalAveragePooling2D()(x).numpy(), [[7.5]])


def test_pooling_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(pool_size=0)
    with pytest.raises(ValueError, match="Received: data_format='nchw'"):
        layers.AveragePooling2D(data_format="nchw")
    with pytest.raises(ValueError) as e:
        layers.MaxPooling2D(name="pool")(np.zeros((2, 4, 3), np.float32))
    assert "pool" in str(e.value) and "rank-4" in str(e.value) and "(2, 4, 3)" in str(e.value)
    with pytest.raises(ValueError) as e:
        layers.MaxPooling2D(3, name="p3")(np.zeros((1, 2, 5, 1), np.float32))
    assert "p3" in str(e.value) and "(1, 2, 5, 1)" in str(e.value)
    with pytest.raises(ValueError) as e:
        layers.GlobalAveragePooling1D(name="gap")(np.zeros((2, 4, 3, 1), np.float32))
    assert "gap" in str(e.value) and "rank-3" in str(e.value) and "(2, 4, 3, 1)" in str(e.value)


# --- PyTorch parity -----------------------------------------------------------

def _same_pads(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {},
    {"pool_size": 3, "strides": 2},
    {"pool_size": (3, 2), "strides": (1, 2), "padding": "same"},
    {"pool_size": 2, "padding": "same"},
    {"pool_size": 3, "strides": 2, "padding": "same"},
])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling2d_matches_torch(kind, kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = cls(**kwargs)
    xs = shendu.tensor(x, requires_grad=True)
    y = layer(xs)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * shendu.tensor(g)).sum().backward()
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    k, s = layer.pool_size, layer.strides
    pads = [_same_pads(n, kk, ss) if layer.padding == "same" else (0, 0)
            for n, kk, ss in zip(x.shape[1:3], k, s)]
    flat = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])
    if kind == "max":
        # padding never wins a max: pad with -inf
        yt = F.max_pool2d(F.pad(xt, flat, value=float("-inf")), k, s)
    else:
        # Keras averages only the real values: sum over the window / count of real values
        ones = torch.ones_like(xt[:1, :1])
        total = F.avg_pool2d(F.pad(xt, flat), k, s, divisor_override=1)
        count = F.avg_pool2d(F.pad(ones, flat), k, s, divisor_override=1)
        yt = total / count
    yt_nhwc = yt.detach().numpy().transpose(0, 2, 3, 1)
    assert yt_nhwc.shape == y.shape
    yt.backward(torch.tensor(g.transpose(0, 3, 1, 2).copy()))
    err = rel_err(y.numpy(), yt_nhwc)
    gerr = rel_err(xs.grad.numpy(), xt.grad.numpy().transpose(0, 2, 3, 1))
    print(f"{cls.__name__} {kwargs}: output rel err {err:.2e}, input-grad rel err {gerr:.2e}")
    assert err <= 1e-5 and gerr <= 1e-5
