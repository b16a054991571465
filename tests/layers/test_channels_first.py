"""data_format="channels_first" in conv, pooling, upsampling, padding and cropping layers,
and BatchNormalization(axis=1): outputs, shapes and weights against real Keras (JAX)."""
import numpy as np
import pytest

import shendu
from shendu import layers


def _keras():
    return pytest.importorskip("keras", reason="real Keras is the reference for channels_first")


def _close(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    assert np.linalg.norm(a - b) <= 1e-5 * max(np.linalg.norm(b), 1.0)


CASES = [
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 3, 9)),
    ("Conv1D", dict(filters=2, kernel_size=2, dilation_rate=2, activation="relu"), (2, 3, 7)),
    ("Conv2D", dict(filters=5, kernel_size=3, activation="relu"), (2, 3, 7, 6)),
    ("Conv2D", dict(filters=4, kernel_size=(2, 3), strides=2, padding="same", groups=2),
     (2, 4, 7, 6)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2), (2, 2, 4, 5)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2), (2, 3, 6, 6)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, padding="same"), (2, 3, 5, 5)),
    ("MaxPooling1D", dict(pool_size=2), (2, 3, 8)),
    ("MaxPooling2D", dict(pool_size=2, strides=1, padding="same"), (2, 3, 5, 4)),
    ("AveragePooling2D", dict(pool_size=(2, 3)), (2, 3, 6, 6)),
    ("GlobalAveragePooling2D", dict(), (2, 3, 4, 5)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 3, 6)),
    ("UpSampling2D", dict(size=(2, 3)), (2, 3, 2, 4)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 3, 4)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3))), (2, 3, 4, 5)),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (2, 3, 5, 6)),
    ("ZeroPadding1D", dict(padding=(2, 1)), (2, 3, 4)),
    ("Conv3D", dict(filters=2, kernel_size=2), (2, 3, 4, 3, 5)),
    ("AveragePooling3D", dict(pool_size=2), (2, 3, 4, 4, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=[c[0] for c in CASES])
def test_channels_first_matches_keras(name, kwargs, shape):
    k = _keras()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    k_layer = getattr(k.layers, name)(data_format="channels_first", **kwargs)
    expected = np.asarray(k_layer(x))
    layer = getattr(layers, name)(data_format="channels_first", **kwargs)
    layer.build(shape)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in k_layer.get_weights()]
    layer.set_weights(k_layer.get_weights())
    _close(layer(x).numpy(), expected)
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + expected.shape[1:]
    assert layer.get_config()["data_format"] == "channels_first"


def test_channels_first_weights_are_the_channels_last_ones():
    # Keras's kernel layout does not depend on data_format: the same weights on transposed
    # data give transposed outputs.
    x = np.random.default_rng(1).standard_normal((2, 6, 5, 3)).astype(np.float32)
    last = layers.Conv2D(4, 3, padding="same", data_format="channels_last")
    first = layers.Conv2D(4, 3, padding="same", data_format="channels_first")
    y_last = last(x)
    first.build((None, 3, 6, 5))
    first.set_weights(last.get_weights())
    _close(first(x.transpose(0, 3, 1, 2)).numpy(), y_last.numpy().transpose(0, 3, 1, 2))


def test_batch_normalization_axis_1_matches_keras():
    k = _keras()
    x = np.random.default_rng(2).standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
    k_bn = k.layers.BatchNormalization(axis=1, momentum=0.5)
    bn = layers.BatchNormalization(axis=1, momentum=0.5)
    bn.build(x.shape)
    k_bn.build(x.shape)
    bn.set_weights(k_bn.get_weights())
    _close(bn(x, training=True).numpy(), np.asarray(k_bn(x, training=True)))
    for w, kw in zip(bn.get_weights(), k_bn.get_weights()):  # moving statistics updated alike
        _close(w, kw)
    _close(bn(x, training=False).numpy(), np.asarray(k_bn(x, training=False)))


def test_global_image_data_format_channels_first_model_trains():
    shendu.config.set_image_data_format("channels_first")
    try:
        inputs = shendu.Input((2, 8, 8))
        x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
        x = layers.MaxPooling2D()(x)
        x = layers.BatchNormalization(axis=1)(x)
        x = layers.UpSampling2D()(x)
        x = layers.ZeroPadding2D(1)(x)
        x = layers.Cropping2D(1)(x)
        x = layers.GlobalAveragePooling2D()(x)
        model = shendu.Model(inputs, layers.Dense(1)(x))
    finally:
        shendu.config.set_image_data_format("channels_last")
    assert model.layers[1].data_format == "channels_first"
    assert [l.output_shape for l in model.layers[1:8]] == [
        (None, 4, 8, 8), (None, 4, 4, 4), (None, 4, 4, 4), (None, 4, 8, 8), (None, 4, 10, 10),
        (None, 4, 8, 8), (None, 4)]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 2, 8, 8)).astype(np.float32)
    y = x[:, 0].mean(axis=(1, 2))[:, None] - x[:, 1].mean(axis=(1, 2))[:, None]
    model.compile(optimizer=shendu.optimizers.Adam(0.01), loss="mse")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * first


def test_channels_first_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match="conv_cf"):
        layers.Conv2D(2, 3, data_format="channels_first", name="conv_cf")(
            np.zeros((1, 3, 5), np.float32))


@pytest.mark.parametrize("name,kwargs", [("GroupNormalization", dict(groups=2, axis=1)),
                                         ("LayerNormalization", dict(axis=1))])
def test_channel_axis_normalizations_match_keras(name, kwargs):
    # Normalization layers take the channels axis (axis=1) instead of a data_format.
    k = _keras()
    x = np.random.default_rng(4).standard_normal((2, 4, 3, 3)).astype(np.float32)
    k_layer = getattr(k.layers, name)(**kwargs)
    expected = np.asarray(k_layer(x))
    layer = getattr(layers, name)(**kwargs)
    layer.build(x.shape)
    layer.set_weights(k_layer.get_weights())
    _close(layer(x).numpy(), expected)
