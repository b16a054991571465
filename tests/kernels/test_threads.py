"""shendu's own threads (kernels.threads.parallel); the thread-safe workspace is in test_workspace.py."""
import threading

import numpy as np
import pytest

import shendu
from shendu.kernels import threads
from shendu.testing import assert_allclose_normwise


def test_parallel_returns_results_in_order_and_runs_concurrently():
    barrier = threading.Barrier(3, timeout=10)  # passes only if all three run at once

    def part(k):
        barrier.wait()
        return k * k, threading.get_ident()

    out = threads.parallel([lambda k=k: part(k) for k in range(3)])
    assert [r for r, _ in out] == [0, 1, 4]
    assert out[0][1] == threading.get_ident()  # the first part runs on the caller's thread
    assert len({t for _, t in out}) == 3


def test_parallel_raises_after_every_part_finished():
    done = []

    def slow():
        threading.Event().wait(0.05)
        done.append(1)

    def bad():
        raise ValueError("part failed")

    with pytest.raises(ValueError, match="part failed"):
        threads.parallel([bad, slow])
    assert done == [1]


def test_parallel_limits_blas_to_one_thread_and_restores_it():
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="BLAS limits need threadpoolctl")
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded

    def blas_threads():
        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        return [i["num_threads"] for i in info]

    before = blas_threads()
    inside = threads.parallel([blas_threads, blas_threads])
    assert all(n == 1 for part in inside for n in part)
    assert blas_threads() == before


def test_split_parallelism_is_one_under_determinism():
    shendu.config.enable_determinism()
    try:
        assert threads.split_parallelism() == 1
    finally:
        shendu.config.disable_determinism()


def test_owning_cores_limits_blas_and_allows_splitting_only_inside(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="BLAS limits need threadpoolctl")
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    np.ones((2, 2)) @ np.ones((2, 2))

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert threads.split_parallelism() == 1
    with threads.owning_cores():
        assert threads.split_parallelism() == 2 and set(blas_threads()) == {1}
        with threads.owning_cores():  # nested: still one block
            assert threads.split_parallelism() == 2
        assert threads.split_parallelism() == 2 and set(blas_threads()) == {1}
    assert threads.split_parallelism() == 1 and blas_threads() == before


def test_fit_and_predict_split_the_conv_pool_op(monkeypatch, rng):
    pytest.importorskip("threadpoolctl", reason="splitting needs BLAS limited to one thread")
    from shendu import layers
    from shendu.kernels import tuning
    from shendu.ops import _chunking
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    monkeypatch.setattr(tuning, "CONV_POOL_CHUNK_BYTES", 1)  # a chunk per sample: several chunks
    monkeypatch.setattr(tuning, "CONV_POOL_INFERENCE_CHUNK_BYTES", 1)
    calls = []
    real = _chunking.parallel
    monkeypatch.setattr(_chunking, "parallel", lambda fns: calls.append(len(fns)) or real(fns))
    model = shendu.Sequential([shendu.Input((8, 8, 1)), layers.Conv2D(3, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.standard_normal((6, 8, 8, 1)).astype(np.float32), np.zeros((6, 2), np.float32)
    model(x)
    assert calls == []  # a direct call runs whole
    model.fit(x, y, batch_size=6, epochs=1, verbose=0)
    assert calls == [2, 2]  # forward and backward, each over two threads
    model.predict(x, verbose=0)
    assert calls == [2, 2, 2]


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_fit_splits_a_conv_without_pool_and_matches_the_whole_batch(padding, monkeypatch, rng):
    """A conv layer not followed by a pool (ops.Conv / ConvBiasRelu) shares its chunks
    among the threads in fit's steps; its values and gradients are those of one piece."""
    pytest.importorskip("threadpoolctl", reason="splitting needs BLAS limited to one thread")
    from shendu import layers
    from shendu.kernels import tuning
    from shendu.ops import _chunking
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    monkeypatch.setattr(tuning, "CONV_SPLIT_CHUNK_BYTES", 1)  # a chunk per sample
    monkeypatch.setattr(tuning, "GEMM_ROWS", 7)  # several row blocks per chunk
    calls = []
    real = _chunking.parallel
    monkeypatch.setattr(_chunking, "parallel", lambda fns: calls.append(len(fns)) or real(fns))
    shendu.utils.set_random_seed(1)
    model = shendu.Sequential([shendu.Input((8, 8, 2)),
                               layers.Conv2D(3, 3, padding=padding, activation="relu"),
                               layers.MaxPooling2D(2, strides=1, padding="same"),  # (unfused)
                               layers.Conv2D(4, 3, padding=padding), layers.Flatten(),
                               layers.Dense(2)])
    x, y = rng.standard_normal((6, 8, 8, 2)).astype(np.float32), np.ones((6, 2), np.float32)

    def grads(split):
        for v in model.trainable_weights:
            v.grad = None
        with threads.owning_cores(try_split=split):
            out = model(x)
            shendu.ops.sum(shendu.ops.square(out)).backward()
        return [out.numpy()] + [np.array(v.grad) for v in model.trainable_weights]

    whole = grads(False)
    assert calls == []
    split = grads(True)
    assert calls == [2] * 4  # two convs, forward and backward
    for g, e in zip(split, whole):
        assert_allclose_normwise(g, e, rtol=1e-5)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=6, epochs=1, verbose=0)
    assert len(calls) == 8


@pytest.mark.parametrize("padding, strides", [("same", 1), ("valid", 2)])
def test_split_conv_gradcheck(padding, strides, monkeypatch, rng):
    """float64 finite differences through the split conv and conv + bias + ReLU."""
    pytest.importorskip("threadpoolctl", reason="splitting needs BLAS limited to one thread")
    from shendu.kernels import tuning
    from shendu.testing import gradcheck
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    monkeypatch.setattr(tuning, "CONV_SPLIT_CHUNK_BYTES", 1)
    monkeypatch.setattr(tuning, "GEMM_ROWS", 5)
    x = rng.standard_normal((3, 6, 5, 2))
    x = np.sign(x) * (0.2 + np.abs(x))
    w, b = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    with threads.owning_cores():
        assert threads.split_parallelism() == 2
        y = shendu.ops.conv(shendu.Variable(x), w, strides=strides, padding=padding)
        assert y._ctx.chunks is not None and len(y._ctx.chunks) == 3  # the split path
        gradcheck(lambda a, k: shendu.ops.conv(a, k, strides=strides, padding=padding), x, w)
        gradcheck(lambda a, k, c: shendu.ops.conv_bias_relu(a, k, c, strides=strides,
                                                            padding=padding), x, w, b)
        gradcheck(lambda a, k, c: shendu.ops.conv_bias(a, k, c, strides=strides,
                                                       padding=padding), x, w, b)
        x1, w1 = x[:, 0], w[0]  # 1-D: the reference columns, the same chunks
        y1 = shendu.ops.conv(shendu.Variable(x1), w1, strides=strides, padding=padding)
        assert y1._ctx.chunks is not None
        gradcheck(lambda a, k: shendu.ops.conv(a, k, strides=strides, padding=padding), x1, w1)


def test_a_model_whose_ops_never_split_keeps_blas_threads(monkeypatch, rng):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="BLAS limits need threadpoolctl")
    from shendu import layers
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    seen = []

    class Probe(layers.Layer):  # records BLAS's thread count during the step
        def call(self, x):
            seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info()
                         if i["user_api"] == "blas"])
            return x

    x, y = rng.standard_normal((8, 4)).astype(np.float32), np.zeros((8, 2), np.float32)
    mlp = shendu.Sequential([shendu.Input((4,)), Probe(), layers.Dense(2)])
    mlp.compile(optimizer="sgd", loss="mse")
    mlp.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert mlp._steps_split is False
    # the two steps are the last two calls (the model is also called while it is built)
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert set(seen[-2]) == {1} and seen[-1] == before  # limited in the first step only

    with threads.owning_cores(try_split=False) as own:
        assert threads.split_parallelism() == 1
    assert own.asked is False
    conv = shendu.Sequential([shendu.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    conv.compile(optimizer="sgd", loss="mse")
    conv.fit(rng.standard_normal((8, 6, 6, 1)).astype(np.float32), y, batch_size=4, verbose=0)
    assert conv._steps_split is True


def test_a_blas_loaded_after_the_first_limit_is_pinned_too():
    """enable_determinism pins every BLAS, also one that an import brings after shendu
    first limited BLAS (SciPy's OpenBLAS, which Keras's JAX pulls in during the suite)."""
    import subprocess
    import sys
    pytest.importorskip("scipy", reason="needs SciPy's own BLAS as the late-loaded library")
    code = """
import threadpoolctl
import shendu as keras
keras.config.set_num_threads(2)
keras.config.enable_determinism(); keras.config.disable_determinism()
import scipy.linalg
def blas(): return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
print(len(blas()))
keras.config.enable_determinism(); print(blas())
keras.config.disable_determinism(); print(blas())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, pinned, restored = out.stdout.splitlines()
    if int(n) < 2:
        pytest.skip("SciPy uses NumPy's BLAS here: no second library to pin")
    assert pinned == str([1] * int(n))
    assert restored == str([2] * int(n))
