import os

import numpy as np
import pytest

# Real Keras, where the cross-checks use it, runs on JAX's CPU build (TensorFlow is not installed).
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def fast_kernels():
    """The Numba kernels on for one test whatever SHENDU_KERNELS says: for the tests of the
    fast kernels themselves, which must run (not vanish) under SHENDU_KERNELS=numpy too."""
    pytest.importorskip("numba", reason="the fast kernels need numba")
    from shendu import kernels
    before = kernels.kernels_enabled()
    kernels.set_kernels_enabled(True)
    yield
    kernels.set_kernels_enabled(before)


@pytest.fixture(autouse=True)
def _global_dtype_policy_unset():
    """Each test starts with no global dtype policy set, as a fresh process does. Restoring
    with set_global_policy("float32") (Keras refuses None) leaves a policy *set*, and then a
    later test's set_floatx("float64") no longer reaches new layers (Keras's rule too)."""
    yield
    import sys
    config = sys.modules.get("shendu.config")
    if config is not None:
        config._DTYPE_POLICY = None
