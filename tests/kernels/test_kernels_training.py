"""The reference convnet trained with the fast kernels and with the NumPy references
reaches the same held-out accuracy (issue 5: within 0.3 points after 10 epochs)."""
import numpy as np
import pytest

import shendu as keras
from shendu import kernels as registry
from shendu.examples.mnist_convnet import build_model


def train_and_evaluate(kernels, epochs):
    keras.config.set_backend_kernels(kernels)
    (x, y), (xt, yt) = keras.datasets.mnist.load_sample()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    xt = (xt.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0)
    return model.evaluate(xt, yt, verbose=0)[1]


@pytest.mark.slow
def test_same_accuracy_with_kernels_on_and_off():
    pytest.importorskip("numba")
    before = registry.kernels_enabled()
    try:
        fast = train_and_evaluate(True, epochs=10)
        ref = train_and_evaluate(False, epochs=10)
    finally:
        keras.config.set_backend_kernels(before)
    print(f"held-out accuracy after 10 epochs: kernels {fast:.4f}, NumPy references {ref:.4f}")
    assert fast > 0.95 and abs(fast - ref) <= 0.003 + 1e-9


def test_kernels_and_references_train_the_same_weights():
    """A few steps from the same seed: the same weights up to float32 rounding (the
    dropout masks are the same counter hash in both paths)."""
    pytest.importorskip("numba")
    (x, y), _ = keras.datasets.mnist.load_sample()
    x = (x[:160].reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    before = registry.kernels_enabled()
    weights = {}
    try:
        for kernels in (True, False):
            keras.config.set_backend_kernels(kernels)
            keras.utils.set_random_seed(0)
            model = build_model()
            model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam())
            for i in range(5):
                model.train_on_batch(x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)])
            weights[kernels] = model.get_weights()
    finally:
        keras.config.set_backend_kernels(before)
    for a, b in zip(weights[True], weights[False]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
