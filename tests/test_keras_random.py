"""shendu.random: Keras's keras.random functions and their seed semantics."""
import numpy as np
import pytest

import shendu
from shendu import random as krandom

DRAWS = [
    (krandom.normal, {"shape": (4000,)}),
    (krandom.uniform, {"shape": (4000,)}),
    (krandom.truncated_normal, {"shape": (4000,)}),
    (krandom.randint, {"shape": (4000,), "minval": 0, "maxval": 10}),
    (krandom.gamma, {"shape": (4000,), "alpha": 2.0}),
    (krandom.binomial, {"shape": (4000,), "counts": 10, "probabilities": 0.3}),
    (krandom.beta, {"shape": (4000,), "alpha": 2.0, "beta": 5.0}),
]


@pytest.mark.parametrize("fn,kwargs", DRAWS, ids=lambda v: getattr(v, "__name__", ""))
def test_seed_semantics(fn, kwargs):
    a = fn(**kwargs, seed=3).numpy()
    assert np.array_equal(a, fn(**kwargs, seed=3).numpy())          # int seed: fixed
    assert not np.array_equal(a, fn(**kwargs, seed=4).numpy())
    gen = krandom.SeedGenerator(3)
    g1, g2 = fn(**kwargs, seed=gen).numpy(), fn(**kwargs, seed=gen).numpy()
    assert not np.array_equal(g1, g2)                               # generator: advances
    gen_again = krandom.SeedGenerator(3)
    assert np.array_equal(g1, fn(**kwargs, seed=gen_again).numpy())  # ... reproducibly
    shendu.utils.set_random_seed(11)
    n1 = fn(**kwargs).numpy()
    n2 = fn(**kwargs).numpy()
    shendu.utils.set_random_seed(11)
    assert np.array_equal(n1, fn(**kwargs).numpy()) and not np.array_equal(n1, n2)


def test_distributions_and_dtypes():
    x = krandom.normal((20000,), mean=2.0, stddev=3.0, seed=0).numpy()
    assert x.dtype == np.float32 and abs(x.mean() - 2) < 0.1 and abs(x.std() - 3) < 0.1
    u = krandom.uniform((20000,), minval=-1, maxval=3, dtype="float64", seed=0).numpy()
    assert u.dtype == np.float64 and u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.05
    t = krandom.truncated_normal((20000,), mean=1.0, stddev=0.5, seed=0).numpy()
    assert np.abs(t - 1.0).max() <= 1.0 and abs(t.mean() - 1) < 0.02
    r = krandom.randint((20000,), 3, 7, seed=0).numpy()
    assert r.dtype == np.int32 and set(np.unique(r)) == {3, 4, 5, 6}
    g = krandom.gamma((20000,), alpha=3.0, seed=0).numpy()
    assert abs(g.mean() - 3) < 0.1 and abs(g.var() - 3) < 0.3
    b = krandom.binomial((20000,), counts=10, probabilities=0.3, seed=0).numpy()
    assert b.dtype == np.float32 and abs(b.mean() - 3) < 0.1 and b.max() <= 10
    be = krandom.beta((20000,), alpha=2.0, beta=6.0, seed=0).numpy()
    assert 0 <= be.min() and be.max() <= 1 and abs(be.mean() - 0.25) < 0.01


def test_categorical_follows_softmax_and_never_draws_minus_inf():
    with np.errstate(divide="ignore"):
        logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.5, 0.0]]))
    s = krandom.categorical(logits, 20000, seed=0).numpy()
    assert s.shape == (2, 20000) and s.dtype == np.int32
    freq = np.bincount(s[0], minlength=3) / 20000
    assert np.abs(freq - [0.1, 0.6, 0.3]).max() < 0.02
    assert 2 not in s[1]
    with pytest.raises(ValueError, match="batch_size, num_classes"):
        krandom.categorical(np.zeros(3), 2)


def test_shuffle_permutes_along_axis():
    x = np.arange(12).reshape(3, 4)
    y = krandom.shuffle(x, axis=1, seed=5).numpy()
    assert not np.array_equal(y, x)
    assert np.array_equal(np.sort(y, axis=1), x)
    assert np.array_equal(y[1] - 4, y[0]) and np.array_equal(y[2] - 8, y[0])


def test_dropout_scales_and_is_differentiable():
    x = shendu.tensor(np.ones((100, 100), np.float32), requires_grad=True)
    y = krandom.dropout(x, 0.25, seed=1)
    kept = y.numpy() != 0
    assert np.allclose(y.numpy()[kept], 1 / 0.75) and abs(kept.mean() - 0.75) < 0.02
    y.sum().backward()
    assert np.array_equal(x.grad != 0, kept)
    assert np.array_equal(krandom.dropout(x, 0.25, seed=1).numpy(), y.numpy())


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="normal: `seed` must be an integer"):
        krandom.normal((2,), seed=1.5)
    with pytest.raises(ValueError, match="uniform: `dtype` must be a floating point"):
        krandom.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="randint: `dtype` must be an integer"):
        krandom.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="SeedGenerator: `seed` must be an integer"):
        krandom.SeedGenerator("abc")


def test_seed_generator_config_and_checkpoint(tmp_path):
    gen = krandom.SeedGenerator(7)
    assert gen.get_config() == {"seed": 7}
    assert krandom.SeedGenerator.from_config(gen.get_config()).next() == \
        krandom.SeedGenerator(7).next()

    class Noisy(shendu.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = krandom.SeedGenerator(1337)

        def call(self, x):
            return x + krandom.normal(tuple(x.shape), seed=self.seed_generator)

    model = shendu.Sequential([shendu.layers.Input((3,)), Noisy()])
    model.compile(optimizer="sgd", loss="mse")
    model(np.zeros((1, 3), np.float32))
    path = tmp_path / "m.keras"
    model.save(path)
    expected = model(np.zeros((1, 3), np.float32)).numpy()
    model(np.zeros((1, 3), np.float32))  # advance the state past the checkpoint
    restored = shendu.models.load_model(path, custom_objects={"Noisy": Noisy})
    assert np.array_equal(restored(np.zeros((1, 3), np.float32)).numpy(), expected)


def test_keras_has_the_same_signatures():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    import inspect
    for name in ["normal", "uniform", "truncated_normal", "randint", "categorical", "dropout",
                 "shuffle", "gamma", "binomial", "beta"]:
        ours = list(inspect.signature(getattr(krandom, name)).parameters)
        theirs = list(inspect.signature(getattr(keras.random, name)).parameters)
        assert ours == theirs, name
