import os

import numpy as np
import pytest

# Real Keras, where the cross-checks use it, runs on JAX's CPU build (TensorFlow is not installed).
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
