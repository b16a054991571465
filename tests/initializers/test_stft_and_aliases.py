"""The STFT initializer against real Keras, and Keras's alias names and deserialize."""
import numpy as np
import pytest

from shendu import initializers


@pytest.mark.parametrize("kw", [{}, {"side": "imag"}, {"window": "hamming", "periodic": True},
                                {"window": None}, {"scaling": "spectrum", "window": "blackman"},
                                {"scaling": None}, {"window": "bartlett"}])
@pytest.mark.parametrize("shape", [(16, 1, 9), (7, 1, 5)])
def test_stft_matches_keras(kw, shape):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    pytest.importorskip("scipy", reason="Keras's STFT initializer draws its windows from SciPy")
    ours = initializers.STFT(**kw)(shape)
    ref = np.asarray(keras.initializers.STFT(**kw)(shape))
    assert ours.dtype == np.float32 and ours.shape == shape
    # Keras builds the angles in float32 (errors ~2e-6 on values of size <= 1); ours in float64.
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    assert initializers.get(initializers.serialize(initializers.STFT(**kw))).get_config() == \
        initializers.STFT(**kw).get_config()


def test_stft_is_a_dft():
    n = 8
    k = initializers.STFT(window=None)((n, 1, n // 2 + 1), "float64")
    ki = initializers.STFT(side="imag", window=None)((n, 1, n // 2 + 1), "float64")
    x = np.random.default_rng(0).standard_normal(n)
    want = np.fft.rfft(x)
    np.testing.assert_allclose(x @ k[:, 0] + 1j * (x @ ki[:, 0]), want, atol=1e-12)


@pytest.mark.parametrize("kw, match", [({"side": "both"}, "Received: side='both'"),
                                       ({"window": "nope"}, "Received: window='nope'"),
                                       ({"scaling": "l3"}, "Received: scaling='l3'")])
def test_stft_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        initializers.STFT(**kw)
    with pytest.raises(ValueError, match=r"window shape=\(3,\)"):
        initializers.STFT(window=np.ones(3))((4, 1, 3))


def test_aliases_and_deserialize_match_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    for name in ("zeros", "ones", "constant", "identity", "orthogonal", "random_normal",
                 "random_uniform", "truncated_normal", "variance_scaling", "glorot_uniform",
                 "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "stft",
                 "IdentityInitializer", "OrthogonalInitializer", "STFTInitializer"):
        ref_cls = getattr(keras.initializers, name)
        ours = getattr(initializers, name)
        assert ours.__name__ == ref_cls.__name__.replace("Initializer", "") or \
            ours.__name__ == ref_cls.__name__, name
    init = initializers.deserialize({"class_name": "GlorotUniform", "config": {"seed": 3}})
    np.testing.assert_array_equal(init((3, 2)), initializers.GlorotUniform(seed=3)((3, 2)))
    assert isinstance(initializers.deserialize("he_normal"), initializers.HeNormal)

    class Mine(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 7.0, dtype or "float32")
    got = initializers.deserialize({"class_name": "Mine", "config": {}}, custom_objects={"Mine": Mine})
    assert got((2,)).tolist() == [7.0, 7.0]
