"""Tests of shendu.data.Dataset."""
import gc
import threading

import numpy as np
import pytest

from shendu.data import AUTOTUNE, INFINITE, UNKNOWN, Dataset
from shendu.data import dataset as dataset_module


def xy(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return x, y


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "shendu-prefetch"]


def wait_for_no_prefetch_threads():
    # The worker notices the stop flag within one poll interval; join rather than sleep.
    for t in prefetch_threads():
        t.join(timeout=5)
    return prefetch_threads()


def test_slices_of_array_tuple_and_dict():
    x, y = xy(4)
    assert [e.tolist() for e in Dataset.from_tensor_slices(y)] == [0, 1, 2, 3]
    elements = list(Dataset.from_tensor_slices((x, y)))
    assert len(elements) == 4 and isinstance(elements[0], tuple)
    np.testing.assert_array_equal(elements[2][0], x[2])
    assert isinstance(elements[2][1], np.ndarray) and elements[2][1] == 2
    d = list(Dataset.from_tensor_slices({"image": x, "label": y}))
    assert set(d[1]) == {"image", "label"} and d[1]["label"] == 1


def test_slices_reject_mismatched_lengths():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\).*\(4,\)"):
        Dataset.from_tensor_slices((np.zeros((5, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="first axis"):
        Dataset.from_tensor_slices(np.float32(3.0))


@pytest.mark.parametrize("drop, shapes", [(False, [3, 3, 3, 1]), (True, [3, 3, 3])])
def test_batch_shapes_and_remainder(drop, shapes):
    x, y = xy(10)
    ds = Dataset.from_tensor_slices((x, y, np.ones(10))).batch(3, drop_remainder=drop)
    batches = list(ds)
    assert [len(b[0]) for b in batches] == shapes
    assert len(ds) == ds.cardinality() == len(shapes)
    assert batches[0][0].shape == (3, 2) and batches[0][2].shape == (3,)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y[:sum(shapes)])


def test_batch_of_arrays_is_vectorized(monkeypatch):
    def no_stacking(*args, **kwargs):
        raise AssertionError("batch() stacked samples one by one")

    monkeypatch.setattr(dataset_module, "_stack", no_stacking)
    x, y = xy(10)
    assert len(list(Dataset.from_tensor_slices((x, y)).batch(4))) == 3
    assert len(list(Dataset.from_tensor_slices((x, y)).shuffle(10, seed=0).batch(4))) == 3
    # Unshuffled batches are views of the source: no copy at all.
    first = next(iter(Dataset.from_tensor_slices(x).batch(4)))
    assert np.shares_memory(first, x)


def test_batch_after_map_stacks_and_keeps_dict_structure():
    x, y = xy(5)
    ds = (Dataset.from_tensor_slices({"x": x, "y": y})
          .map(lambda d: {"x": d["x"] * 2, "y": d["y"]}).batch(2))
    batches = list(ds)
    assert [sorted(b) for b in batches] == [["x", "y"]] * 3
    np.testing.assert_array_equal(batches[0]["x"], x[:2] * 2)
    np.testing.assert_array_equal(batches[2]["y"], [4])


def test_shuffle_is_a_permutation_deterministic_and_reshuffled_each_epoch():
    x, y = xy(50)

    def epochs(ds, n=3):
        return [np.concatenate([b[1] for b in ds]).tolist() for _ in range(n)]

    a = epochs(Dataset.from_tensor_slices((x, y)).shuffle(50, seed=7).batch(8))
    b = epochs(Dataset.from_tensor_slices((x, y)).shuffle(50, seed=7).batch(8))
    assert a == b                                   # same seed, same sequence of orders
    assert all(sorted(e) == list(range(50)) for e in a)
    assert a[0] != a[1] != a[2]                     # a new order each epoch
    assert a[0] != list(range(50))
    fixed = epochs(Dataset.from_tensor_slices(y).shuffle(50, seed=7, reshuffle_each_iteration=False)
                   .batch(50).map(lambda v: (v, v)))
    assert fixed[0] == fixed[1] == fixed[2]
    other = epochs(Dataset.from_tensor_slices((x, y)).shuffle(50, seed=8).batch(8), 1)
    assert other[0] != a[0]


def test_shuffle_x_and_y_stay_paired():
    x, y = xy(20)
    for xb, yb in Dataset.from_tensor_slices((x, y)).shuffle(6, seed=1).batch(5):
        np.testing.assert_array_equal(xb[:, 0], yb * 2)


@pytest.mark.parametrize("buffer_size", [1, 4, 100])
def test_shuffle_buffer_sizes_on_arrays_and_on_generic_elements(buffer_size):
    y = np.arange(30)
    on_arrays = [int(v) for v in Dataset.from_tensor_slices(y).shuffle(buffer_size, seed=3)]
    generic = [int(v) for v in Dataset.from_tensor_slices(y).map(lambda v: v)
               .shuffle(buffer_size, seed=3)]
    assert sorted(on_arrays) == sorted(generic) == list(range(30))
    if buffer_size == 1:
        assert on_arrays == generic == list(range(30))
    # A small buffer only moves items a bounded distance forward.
    if buffer_size == 4:
        assert all(v <= i + 3 for i, v in enumerate(on_arrays))


def test_map_spreads_tuples_over_arguments():
    x, y = xy(6)
    ds = Dataset.from_tensor_slices((x, y)).batch(3).map(lambda xb, yb: (xb / 2, yb + 1))
    xb, yb = next(iter(ds))
    np.testing.assert_array_equal(xb, x[:3] / 2)
    np.testing.assert_array_equal(yb, y[:3] + 1)
    assert len(ds) == 2


def test_repeat_and_take():
    y = np.arange(5)
    ds = Dataset.from_tensor_slices(y)
    assert [int(v) for v in ds.repeat(2)] == [0, 1, 2, 3, 4] * 2
    assert len(ds.repeat(3)) == 15
    assert ds.repeat().cardinality() == INFINITE
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    assert [int(v) for v in ds.repeat().take(12)] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert ds.repeat().take(12).cardinality() == 12
    assert [int(v) for v in ds.take(3)] == [0, 1, 2] and len(ds.take(30)) == 5
    assert list(ds.take(0)) == [] and list(ds.repeat(0)) == []
    # Batches of a repeated shuffled dataset: every epoch is a full permutation.
    seen = np.concatenate(list(ds.shuffle(5, seed=0).repeat(3).batch(5)))
    assert all(sorted(seen[i:i + 5]) == list(range(5)) for i in (0, 5, 10))


def test_from_generator_restarts_each_pass():
    ds = Dataset.from_generator(lambda: ({"v": np.array([i])} for i in range(3)))
    assert ds.cardinality() == UNKNOWN
    assert [int(d["v"][0]) for d in ds] == [0, 1, 2]
    assert [int(d["v"][0]) for d in ds] == [0, 1, 2]
    with pytest.raises(TypeError, match="unknown"):
        len(ds)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator(iter([1, 2]))


def test_prefetch_yields_the_same_batches():
    x, y = xy(37)
    base = Dataset.from_tensor_slices((x, y)).shuffle(37, seed=5).batch(4).map(lambda a, b: (a + 1, b))
    plain = [b for b in base.take(100)]
    base2 = Dataset.from_tensor_slices((x, y)).shuffle(37, seed=5).batch(4).map(lambda a, b: (a + 1, b))
    fetched = list(base2.prefetch(2))
    assert len(plain) == len(fetched) == 10
    for (a, b), (c, d) in zip(plain, fetched):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert len(base2.prefetch(AUTOTUNE)) == 10
    assert wait_for_no_prefetch_threads() == []


def test_prefetch_reraises_worker_exception():
    def explode(v):
        if int(v) == 3:
            raise RuntimeError("bad element 3")
        return v

    got = []
    with pytest.raises(RuntimeError, match="bad element 3"):
        for v in Dataset.from_tensor_slices(np.arange(10)).map(explode).prefetch(2):
            got.append(int(v))
    assert got == [0, 1, 2]
    assert wait_for_no_prefetch_threads() == []


def test_prefetch_thread_stops_when_iteration_is_abandoned():
    ds = Dataset.from_tensor_slices(np.arange(1000)).repeat().prefetch(3)
    it = iter(ds)
    assert int(next(it)) == 0
    assert len(prefetch_threads()) == 1 and prefetch_threads()[0].daemon
    del it  # the worker is blocked on a full queue; dropping the iterator must stop it
    gc.collect()
    assert wait_for_no_prefetch_threads() == []
    for i, _ in enumerate(ds):  # break out of a for loop: the same
        if i == 5:
            break
    gc.collect()
    assert wait_for_no_prefetch_threads() == []


def test_argument_errors_quote_what_was_received():
    ds = Dataset.from_tensor_slices(np.arange(3))
    with pytest.raises(ValueError, match="batch_size=0"):
        ds.batch(0)
    with pytest.raises(ValueError, match="buffer_size=-5"):
        ds.shuffle(-5)
    with pytest.raises(ValueError, match="count=-3"):
        ds.repeat(-3)
    with pytest.raises(TypeError, match="callable"):
        ds.map(3)
