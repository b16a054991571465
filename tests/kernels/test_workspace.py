"""The buffer pool (kernels/workspace.py): explicit ownership and a byte budget.

A pooled block belongs to the array ``empty`` returned and to every view of it; it
comes back when they are all garbage, never while one is alive. Free blocks stay under
the budget, the least recently returned dropped first.
"""
import gc
import threading

import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.kernels import threads, workspace

SHAPE = (64, 1024)  # 256 KiB of float32: above the pooling threshold
MIB = 1 << 20


@pytest.fixture(autouse=True)
def fresh_pool():
    budget = workspace.get_budget()
    workspace.clear()
    yield
    workspace.set_budget(budget)
    workspace.clear()


def _same_memory(a, b):
    return np.shares_memory(a, b)


def test_a_dead_buffer_is_lent_again():
    a = workspace.empty(SHAPE, np.float32)
    keep = a.copy()
    del a
    gc.collect()
    b = workspace.empty(SHAPE, np.float32)
    assert workspace.lent_bytes() == b.nbytes
    c = workspace.empty(SHAPE, np.float32)
    assert not _same_memory(b, c)
    assert keep.shape == SHAPE


def test_reuse_happens():
    # the pool's point: the memory of a dead loan serves the next request of its size
    a = workspace.empty(SHAPE, np.float32)
    address = a.ctypes.data
    del a
    b = workspace.empty(SHAPE, np.float32)
    assert b.ctypes.data == address and b.flags.writeable and type(b) is np.ndarray
    assert workspace.pooled_bytes() == 0


@pytest.mark.parametrize("make_view", [
    lambda a: a[1:],
    lambda a: a.reshape(-1),
    lambda a: a.T,
    lambda a: np.asarray(a),
    lambda a: a.view(np.int32),
    lambda a: a[:, ::2][3:],
    lambda a: memoryview(a),
    lambda a: shendu.Tensor(a),
    lambda a: shendu.Tensor(a).numpy()[2:],
])
def test_a_view_keeps_the_buffer_owned(make_view):
    a = workspace.empty(SHAPE, np.float32)
    a[...] = 7.0
    view = make_view(a)
    del a
    gc.collect()
    others = [workspace.empty(SHAPE, np.float32) for _ in range(3)]
    for o in others:
        o[...] = -1.0
    arr = np.asarray(view.numpy() if isinstance(view, shendu.Tensor) else view)
    assert np.all(arr.view(np.float32) == 7.0)


def test_a_numba_view_keeps_the_buffer_owned():
    numba = pytest.importorskip("numba", reason="Numba's views are what this checks")

    @numba.njit
    def tail(x):
        return x[1:]

    a = workspace.empty(SHAPE, np.float32)
    a[...] = 3.0
    view = tail(a)
    del a
    gc.collect()
    b = workspace.empty(SHAPE, np.float32)
    b[...] = 0.0
    assert not _same_memory(b, view) and np.all(view == 3.0)


def test_a_buffer_in_use_is_never_handed_out_twice():
    held = [workspace.empty(SHAPE, np.float32) for _ in range(5)]
    for _ in range(20):
        held.append(workspace.empty(SHAPE, np.float32))
        held.pop(0)
        for i in range(len(held)):
            for j in range(i):
                assert not _same_memory(held[i], held[j])


def test_threads_never_share_a_buffer():
    held = [[], []]
    barrier = threading.Barrier(2, timeout=10)

    def grab(k):
        barrier.wait()
        for _ in range(300):
            held[k].append(workspace.empty(SHAPE, np.float32))
            if len(held[k]) > 3:
                held[k].pop(0)  # released: its block may go to either thread
            for mine in list(held[k]):
                for theirs in list(held[1 - k]):
                    assert not _same_memory(mine, theirs), "one block held by both threads"

    threads.parallel([lambda: grab(0), lambda: grab(1)])


def test_free_buffers_stay_under_the_budget_least_recently_used_dropped_first():
    workspace.set_budget(3 * 256 * 1024)  # three 256 KiB blocks
    a, b, c, d = (workspace.empty(SHAPE, np.float32) for _ in range(4))
    addresses = [x.ctypes.data for x in (a, b, c, d)]
    del a, b, c, d  # returned in this order: a is the least recently returned
    held = workspace._free_bytes + sum(e[3] for e in workspace._RETURNED)
    assert held == 3 * 256 * 1024  # trimmed when returned, not at the next call
    assert workspace.pooled_bytes() == 3 * 256 * 1024
    again = [workspace.empty(SHAPE, np.float32) for _ in range(3)]
    reused = {x.ctypes.data for x in again}
    assert reused == set(addresses[1:])  # a's block was the one dropped


def test_a_zero_budget_turns_pooling_off():
    workspace.set_budget(0)
    a = workspace.empty(SHAPE, np.float32)
    assert a.flags.owndata
    del a
    assert workspace.pooled_bytes() == 0


def test_clear_empties_the_pool_and_loans_out_do_not_come_back():
    kept = workspace.empty(SHAPE, np.float32)
    for _ in range(3):
        workspace.empty(SHAPE, np.float32)
    assert workspace.pooled_bytes() > 0
    shendu.config.clear_workspace()
    assert workspace.pooled_bytes() == 0
    del kept
    assert workspace.pooled_bytes() == 0


def test_config_sets_the_budget_and_refuses_nonsense():
    shendu.config.set_workspace_budget(8 * MIB)
    assert shendu.config.get_workspace_budget() == workspace.get_budget() == 8 * MIB
    for bad in (-1, 1.5, "1GB", True):
        with pytest.raises(ValueError, match="nbytes"):
            shendu.config.set_workspace_budget(bad)


def test_no_getrefcount_in_the_library():
    import pathlib
    root = pathlib.Path(shendu.__file__).parent
    assert not [p for p in root.rglob("*.py") if "getrefcount" in p.read_text()]


def test_convnet_over_130_batch_sizes_keeps_the_pool_under_its_budget():
    budget = 4 * MIB
    workspace.set_budget(budget)
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([shendu.Input((28, 28, 1)),
                               layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
                               layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    sizes_seen = set()
    for n in range(1, 131):
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
        model(x)
        if n % 26 == 0:
            model.train_on_batch(x, rng.integers(0, 10, n))
        sizes_seen.add(n)
        assert workspace.pooled_bytes() <= budget, f"batch size {n}"
    assert workspace.pooled_bytes() > 0  # it pooled, within the budget
    # the budget had work to do: one conv output per batch size alone is more than it
    assert sum(n * 26 * 26 * 4 * 4 for n in sizes_seen) > 5 * budget


def test_lstm_over_100_sequence_lengths_keeps_the_pool_under_its_budget():
    budget = MIB
    workspace.set_budget(budget)
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([shendu.Input((None, 8)), layers.LSTM(32), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    for t in range(1, 101):
        x = rng.standard_normal((16, t, 8)).astype(np.float32)
        model(x)
        if t % 20 == 0:
            model.train_on_batch(x, np.zeros((16, 1), np.float32))
        assert workspace.pooled_bytes() <= budget, f"sequence length {t}"
    assert workspace.pooled_bytes() > 0
    # the gate buffer (T, B, 4n) alone, summed over the lengths, is far above the budget
    assert sum(t * 16 * 128 * 4 for t in range(1, 101)) > 30 * budget


def test_an_ops_buffers_come_back_when_its_graph_dies():
    rng = np.random.default_rng(0)
    x = shendu.Variable(rng.standard_normal((32, 16, 16, 8)).astype(np.float32))
    w = shendu.Variable(rng.standard_normal((3, 3, 8, 16)).astype(np.float32))
    b = shendu.Variable(np.zeros(16, np.float32))
    y = shendu.ops.conv_bias_relu(x, w, b, padding="same")  # output and saved arrays: pooled
    assert workspace.lent_bytes() >= y.numpy().nbytes
    shendu.ops.sum(y).backward()
    kept = y.numpy()
    del y
    gc.collect()
    assert workspace.lent_bytes() == kept.nbytes  # only the output a user still holds
    del kept
    assert workspace.lent_bytes() == 0
    assert x.grad is not None and w.grad is not None  # (gradients are the leaves' own arrays)
