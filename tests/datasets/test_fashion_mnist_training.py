"""One epoch of the reference convnet on full Fashion-MNIST from Debian's package (offline)."""
import os
import warnings

import pytest

import shendu as keras
from shendu.examples.mnist_convnet import build_model

DEBIAN = "/usr/share/datasets/fashion-mnist"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(DEBIAN),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
def test_reference_convnet_one_epoch_on_fashion_mnist(monkeypatch):
    monkeypatch.setenv("SHENDU_OFFLINE", "1")
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train.reshape(-1, 28, 28, 1) / 255.0, y_train, batch_size=128, epochs=1, verbose=2)
    _, acc = model.evaluate(x_test.reshape(-1, 28, 28, 1) / 255.0, y_test, batch_size=1000, verbose=0)
    print(f"Fashion-MNIST, one epoch: test accuracy {acc:.4f}")
    assert acc >= 0.80, f"test accuracy after one epoch: {acc:.4f}"
