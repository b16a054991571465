"""Random augmentation layers: training-only, seeded, one vectorized sampler call per batch."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.layers.preprocessing import image_ops
from shendu.testing import run_layer_test

RANDOM = [
    (layers.RandomFlip, {"seed": 1}),
    (layers.RandomFlip, {"mode": "horizontal", "seed": 2}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3), "seed": 1}),
    (layers.RandomRotation, {"factor": 0.1, "fill_mode": "constant", "fill_value": 1.0, "seed": 1}),
    (layers.RandomZoom, {"height_factor": (-0.3, 0.2), "interpolation": "nearest", "seed": 1}),
    (layers.RandomZoom, {"height_factor": 0.2, "width_factor": 0.1, "fill_mode": "wrap"}),
    (layers.RandomContrast, {"factor": 0.3, "seed": 1}),
]


def images(n=4, h=8, w=8, c=3, seed=0):
    return (np.random.default_rng(seed).random((n, h, w, c)) * 255).astype(np.float32)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layer_shared_check(cls, kwargs):
    run_layer_test(cls, kwargs, (2, 6, 5, 3), (2, 6, 5, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_gradcheck=False)


def test_random_crop_shared_check():
    run_layer_test(layers.RandomCrop, {"height": 4, "width": 3, "seed": 0}, (2, 6, 5, 3), (2, 4, 3, 3),
                   expected_num_trainable_weights=0, run_gradcheck=False)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_inference_is_the_identity(cls, kwargs):
    x = images()
    layer = cls(**kwargs)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert not np.array_equal(layer(x, training=True).numpy(), x)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_same_seed_same_output_and_each_call_draws_anew(cls, kwargs):
    x = images()
    kwargs = {**kwargs, "seed": 7}
    a, b = cls(**kwargs), cls(**kwargs)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())


def test_unseeded_layers_follow_set_random_seed():
    x = images()
    layer = layers.RandomRotation(0.2)
    shendu.utils.set_random_seed(3)
    a = layer(x, training=True).numpy()
    shendu.utils.set_random_seed(3)
    np.testing.assert_array_equal(a, layer(x, training=True).numpy())


@pytest.mark.parametrize("cls, kwargs", RANDOM + [(layers.RandomCrop, {"height": 5, "width": 4})])
def test_unbatched_image(cls, kwargs):
    x = images(1)[0]
    y = cls(**kwargs)(x, training=True)
    assert y.shape[:2] == ((5, 4) if cls is layers.RandomCrop else x.shape[:2]) and y.ndim == 3


def test_integer_images_are_cast():
    x = images().astype(np.uint8)
    y = layers.RandomFlip(seed=0)(x, training=True)
    assert y.dtype == np.float32


# ---- each layer against a direct computation ------------------------------------------

def test_random_flip_flips_exactly_the_samples_it_says():
    x = images(16)
    layer = layers.RandomFlip(seed=0)
    t = layer.get_random_transformation(x)
    assert 0 < t["flip_horizontal"].sum() < 16 and 0 < t["flip_vertical"].sum() < 16
    y = layer.transform_images(x, t).numpy()
    for i in range(16):
        want = x[i]
        if t["flip_horizontal"][i]:
            want = want[:, ::-1]
        if t["flip_vertical"][i]:
            want = want[::-1]
        np.testing.assert_array_equal(y[i], want)
    # the call draws the same as get_random_transformation would, from the same seed
    np.testing.assert_array_equal(layers.RandomFlip(seed=0)(x, training=True).numpy(), y)
    t = layers.RandomFlip("horizontal", seed=0).get_random_transformation(x)
    assert not t["flip_vertical"].any() and t["flip_horizontal"].any()


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_translation_integer_shift_is_roll_plus_fill(interpolation):
    x = images(3)
    layer = layers.RandomTranslation((0.25, 0.25), (-0.125, -0.125), fill_mode="constant",
                                     fill_value=7.0, interpolation=interpolation, seed=0)
    y = layer(x, training=True).numpy()
    want = np.roll(x, (2, -1), axis=(1, 2))
    want[:, :2] = 7.0
    want[:, :, -1:] = 7.0
    np.testing.assert_array_equal(y, want)


def test_random_translation_fill_modes():
    x = images(2)

    def shift(mode):
        return layers.RandomTranslation((0.25, 0.25), 0.0, fill_mode=mode)(x, training=True).numpy()
    np.testing.assert_array_equal(shift("wrap"), np.roll(x, 2, axis=1))
    np.testing.assert_array_equal(shift("reflect"), np.concatenate([x[:, 1::-1], x[:, :-2]], axis=1))
    np.testing.assert_array_equal(shift("nearest"), np.concatenate([x[:, :1], x[:, :1], x[:, :-2]], axis=1))


@pytest.mark.parametrize("factor, k", [(0.25, 1), (-0.25, -1), (0.5, 2)])
def test_random_rotation_quarter_turns_are_rot90(factor, k):
    x = images(3, 7, 7)
    y = layers.RandomRotation((factor, factor), fill_mode="constant")(x, training=True).numpy()
    np.testing.assert_allclose(y, np.rot90(x, k, axes=(1, 2)), atol=1e-4)


def test_random_zoom_shapes_identity_and_a_known_zoom():
    x = images(3, 9, 9)
    for kw in ({"height_factor": 0.3}, {"height_factor": (-0.5, 0.5), "width_factor": (0.1, 0.2)}):
        assert layers.RandomZoom(**kw)(x, training=True).shape == x.shape
        assert layers.RandomZoom(**kw)(x[0], training=True).shape == x[0].shape
    np.testing.assert_array_equal(layers.RandomZoom(0.0)(x, training=True).numpy(), x)
    np.testing.assert_array_equal(layers.RandomZoom(0.0, 0.0, interpolation="nearest")(x, training=True).numpy(), x)
    # zoom in by 2 about the centre: every other output pixel is an input pixel
    y = layers.RandomZoom((-0.5, -0.5))(x, training=True).numpy()
    np.testing.assert_allclose(y[:, ::2, ::2], x[:, 2:7, 2:7], rtol=1e-6)
    # zoom out by 2 horizontally only
    y = layers.RandomZoom(0.0, (1.0, 1.0), fill_mode="constant")(x, training=True).numpy()
    np.testing.assert_allclose(y[:, :, 2:7], x[:, :, ::2], rtol=1e-6)
    assert (y[:, :, :2] == 0).all() and (y[:, :, 7:] == 0).all()


def test_random_contrast_keeps_the_per_image_mean():
    x = np.random.default_rng(0).uniform(100, 150, (8, 6, 5, 3)).astype(np.float32)
    layer = layers.RandomContrast(0.5, seed=0)
    t = layer.get_random_transformation(x)
    y = layer.transform_images(x, t).numpy().astype(np.float64)
    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y.mean(axis=(1, 2), keepdims=True), mean, rtol=1e-5)
    np.testing.assert_allclose(y - mean, (x - mean) * t["contrast_factor"][:, None, None, None], atol=1e-3)
    assert len(np.unique(t["contrast_factor"])) == 8
    assert 0.5 <= t["contrast_factor"].min() and t["contrast_factor"].max() <= 1.5
    clipped = layers.RandomContrast((0.0, 1.0), value_range=(0, 1))(x / 150, training=True).numpy()
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_random_crop_training_and_inference():
    x = images(6, 10, 9)
    layer = layers.RandomCrop(4, 5, seed=0)
    t = layer.get_random_transformation(x)
    y = layer.transform_images(x, t).numpy()
    for i in range(6):
        top, left = t["top"][i], t["left"][i]
        np.testing.assert_array_equal(y[i], x[i, top:top + 4, left:left + 5])
    assert len(set(zip(t["top"].tolist(), t["left"].tolist()))) > 1  # each sample its own corner
    # inference: centre crop to the 4:5 aspect, then resize
    want = layers.Resizing(4, 5, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(layer(x).numpy(), want)
    # training on images smaller than the target falls back to the same crop+resize
    small = images(2, 3, 3)
    np.testing.assert_allclose(layer(small, training=True).numpy(),
                               layers.Resizing(4, 5, crop_to_aspect_ratio=True)(small).numpy())


# ---- the whole batch in one vectorized call -------------------------------------------

@pytest.mark.parametrize("cls, kwargs, key", [
    (layers.RandomRotation, {"factor": 0.2}, "angle"),
    (layers.RandomTranslation, {"height_factor": 0.3, "width_factor": 0.3}, "width_translation"),
    (layers.RandomZoom, {"height_factor": 0.3}, "height_zoom"),
    (layers.RandomCrop, {"height": 20, "width": 20}, "top"),
    (layers.RandomFlip, {}, "flip_horizontal"),
])
def test_a_batch_of_64_is_one_sampler_call_with_a_transform_per_sample(monkeypatch, cls, kwargs, key):
    x = images(64, 24, 24, 3)
    layer = cls(**kwargs, seed=5)
    t = layer.get_random_transformation(x)
    calls = []
    forward = image_ops.GatherLerp.forward
    monkeypatch.setattr(image_ops.GatherLerp, "forward",
                        lambda ctx, *a, **k: calls.append(a[0].shape) or forward(ctx, *a, **k))
    y = layer.transform_images(x, t).numpy()
    assert calls == [x.shape], "the whole batch must go through one sampler call"
    monkeypatch.undo()
    values = np.asarray(t[key])
    assert values.shape == (64,) and len(np.unique(values)) > {"b": 1, "i": 3}.get(values.dtype.kind, 10)
    for i in (0, 17, 63):  # each sample equals the transform applied to it alone
        one = {k: np.asarray(v)[i:i + 1] for k, v in t.items()}
        np.testing.assert_allclose(y[i], layer.transform_images(x[i:i + 1], one).numpy()[0], rtol=1e-6)


def test_augmentation_inside_a_model_trains():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 8, 8, 1)).astype(np.uint8)
    y = rng.integers(0, 2, 32)
    model = shendu.Sequential([
        shendu.Input((8, 8, 1)), layers.Rescaling(1 / 255), layers.RandomFlip(seed=0),
        layers.RandomRotation(0.1, seed=0), layers.RandomCrop(6, 6, seed=0), layers.Flatten(),
        layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x, verbose=0).shape == (32, 2)


def test_errors_quote_what_was_received():
    with pytest.raises(ValueError, match="Received: mode='diagonal'"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"Received: height_factor=1.5"):
        layers.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match="Received: fill_mode='mirror'"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"Received: factor=\(0.1, 2\)"):
        layers.RandomContrast((0.1, 2))
    with pytest.raises(ValueError, match="Received: seed=-1"):
        layers.RandomZoom(0.1, seed=-1)
    with pytest.raises(ValueError, match="Received: data_format='channels_first'"):
        layers.RandomCrop(2, 2, data_format="channels_first")
