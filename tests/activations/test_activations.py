"""shendu.activations: every name against real Keras on the same inputs, float64 gradchecks
for the composed ones, and string lookup."""
import numpy as np
import pytest

import shendu
from shendu import activations
from shendu.testing import gradcheck

CASES = [
    ("celu", {}), ("celu", {"alpha": 0.5}), ("glu", {}), ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 0.3}), ("hard_silu", {}), ("hard_swish", {}), ("hard_tanh", {}),
    ("log_sigmoid", {}), ("mish", {}), ("soft_shrink", {}), ("sparse_plus", {}),
    ("sparse_sigmoid", {}), ("sparsemax", {}), ("squareplus", {}), ("squareplus", {"b": 2}),
    ("tanh_shrink", {}), ("threshold", {"threshold": 0.1, "default_value": -2.0}),
]


def _x(seed=0):
    # Away from the kinks at 0, +-0.5, +-1, +-3 where finite differences are meaningless.
    x = np.random.default_rng(seed).uniform(-4, 4, (3, 6))
    for k in (0.0, 0.1, 0.3, 0.5, 1.0, 3.0):
        x[np.abs(np.abs(x) - k) < 0.05] += 0.11
    return x


# Keras 3.15's JAX sparsemax sums the cumulative sums over the whole support to find tau, so
# its rows do not sum to 1 once the support has 2+ entries; it is checked against the
# published algorithm (Martins & Astudillo 2016) instead.
@pytest.mark.parametrize("name, kw", [c for c in CASES if c[0] != "sparsemax"])
def test_matches_keras(name, kw):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = _x().astype(np.float32)
    ours = activations.get(name)(shendu.tensor(x), **kw)
    ref = np.asarray(getattr(keras.activations, name)(x, **kw))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), ref, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name, kw", CASES)
def test_gradcheck(name, kw):
    fn = getattr(activations, name)
    gradcheck(lambda t: fn(t, **kw), _x(1))


def test_sparsemax_is_the_simplex_projection():
    x = _x(2)
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    support = 1 + k * z > np.cumsum(z, axis=-1)
    kz = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(np.cumsum(z, -1), kz - 1, -1) - 1) / kz
    want = np.maximum(x - tau, 0)
    got = activations.sparsemax(shendu.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-12)


def test_mish_value_and_string_lookup():
    assert activations.get("mish") is activations.mish
    x = np.array([-1.0, 0.0, 2.0])
    want = x * np.tanh(np.log1p(np.exp(x)))
    np.testing.assert_allclose(activations.mish(shendu.tensor(x)).numpy(), want, rtol=1e-12)
    layer = shendu.layers.Dense(2, activation="hard_swish")
    assert layer.get_config()["activation"] in ("hard_silu", "hard_swish")
    with pytest.raises(ValueError, match="Unknown activation: 'mishh'.*Did you mean 'mish'"):
        activations.get("mishh")
