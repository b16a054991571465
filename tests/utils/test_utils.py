"""to_categorical, normalize, set_random_seed, PyDataset, plot_history."""
import importlib.util
import random

import numpy as np
import pytest

import shendu
from shendu import utils
from shendu.ops.random import default_generator


# ---- to_categorical ----------------------------------------------------------------


def test_to_categorical_basic_and_inferred_classes():
    out = utils.to_categorical([0, 2, 1])
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert out.dtype == np.float32


def test_to_categorical_squeezes_trailing_one_and_keeps_other_dims():
    assert utils.to_categorical(np.array([[1], [3]]), num_classes=4).shape == (2, 4)
    labels = np.array([[0, 1, 2], [2, 1, 0]])
    out = utils.to_categorical(labels, 3)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.argmax(-1), labels)
    # A lone label of shape (1,) is not squeezed away.
    assert utils.to_categorical(np.array([1]), 2).shape == (1, 2)


def test_to_categorical_dtype_float_labels_and_tensors():
    out = utils.to_categorical(np.array([1.0, 0.0]), 2, dtype="int64")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(utils.to_categorical(shendu.tensor([1, 0]), 2),
                                  [[0, 1], [1, 0]])
    assert utils.to_categorical(np.zeros(0, np.int64), 3).shape == (0, 3)


@pytest.mark.parametrize("labels, num_classes, message", [
    ([0, 3], 3, r"received label 3, outside \[0, 3\) for num_classes=3"),
    ([0, -1], 3, r"received label -1, outside \[0, 3\)"),
    ([0.5, 1], 3, r"integer class labels; received label 0.5"),
    (["a"], 3, r"integer class labels; received dtype <U1"),
    ([0, 1], 0, r"num_classes to be a positive integer; received num_classes=0"),
    (np.zeros(0, np.int64), None, r"cannot infer num_classes from empty labels"),
])
def test_to_categorical_errors(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        utils.to_categorical(labels, num_classes)


# ---- normalize ---------------------------------------------------------------------


def test_normalize_l2_l1_axis_and_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0), [[1.0, 1.0], [0.0, 0.0]])
    out = utils.normalize(np.array([[1, 1]], np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, rtol=1e-6)
    assert utils.normalize([[3, 4]]).dtype == np.float64


# ---- set_random_seed ---------------------------------------------------------------


def draws():
    return (random.random(), np.random.rand(), default_generator().normal(size=3).tolist())


def test_set_random_seed_reproduces_every_generator():
    utils.set_random_seed(1234)
    first = draws()
    utils.set_random_seed(1234)
    assert draws() == first
    utils.set_random_seed(4321)
    assert draws() != first


def test_set_random_seed_reaches_shendu_random_ops():
    utils.set_random_seed(5)
    a = shendu.randn(4).numpy().copy()
    utils.set_random_seed(5)
    np.testing.assert_array_equal(shendu.randn(4).numpy(), a)


@pytest.mark.parametrize("seed", [1.5, "1", -1, None, True])
def test_set_random_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="non-negative integer seed; received seed="):
        utils.set_random_seed(seed)


# ---- PyDataset ---------------------------------------------------------------------


class Batches(utils.PyDataset):
    def __init__(self, n, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = np.arange(n, dtype=np.float32)
        self.batch_size = batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, idx):
        batch = self.x[idx * self.batch_size:(idx + 1) * self.batch_size]
        return batch, batch * 2

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_py_dataset_subclass():
    ds = Batches(10, 4, workers=2, use_multiprocessing=True, max_queue_size=3)
    assert len(ds) == 3 and ds.num_batches == 3
    x, y = ds[2]
    np.testing.assert_array_equal(x, [8, 9])
    np.testing.assert_array_equal(y, [16, 18])
    assert [len(b[0]) for b in ds] == [4, 4, 2]
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (2, True, 3)
    ds.on_epoch_end()
    assert ds.epochs_ended == 1
    assert utils.Sequence is utils.PyDataset


def test_py_dataset_defaults_without_super_init_and_errors():
    class NoInit(utils.PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

    ds = NoInit()
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (1, False, 10)
    with pytest.raises(NotImplementedError, match="NoInit must implement __getitem__"):
        ds[0]
    with pytest.raises(NotImplementedError, match="must implement __len__"):
        utils.PyDataset().num_batches
    with pytest.raises(ValueError, match="workers to be an integer >= 1; received workers=0"):
        Batches(4, 2, workers=0)


# ---- plot_history ------------------------------------------------------------------


class FakeHistory:
    def __init__(self):
        self.history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
                        "accuracy": [0.3, 0.6, 0.8]}
        self.epoch = [0, 1, 2]


HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="matplotlib is not installed")
def test_plot_history_writes_png(tmp_path):
    path = tmp_path / "plots" / "history.png"
    assert utils.plot_history(FakeHistory(), path=str(path)) == str(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000
    single = tmp_path / "loss.png"
    utils.plot_history(FakeHistory().history, path=single, metrics=["loss"])
    assert single.stat().st_size > 0


@pytest.mark.skipif(HAVE_MATPLOTLIB, reason="matplotlib is installed")
def test_plot_history_without_matplotlib_says_how_to_install(tmp_path):
    with pytest.raises(ImportError, match=r"pip install matplotlib.*shendu\[plot\]"):
        utils.plot_history(FakeHistory(), path=str(tmp_path / "h.png"))


def test_plot_history_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="metric 'mae' is not in the history; available: "
                                         r"\['loss', 'accuracy'\]"):
        utils.plot_history(FakeHistory(), path=str(tmp_path / "h.png"), metrics=["mae"])
    with pytest.raises(ValueError, match="non-empty dict"):
        utils.plot_history({}, path=str(tmp_path / "h.png"))
