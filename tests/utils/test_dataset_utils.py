"""Datasets from arrays and folders: split_dataset, timeseries_dataset_from_array,
image_/text_/audio_dataset_from_directory (files made in a temp folder)."""
import wave

import numpy as np
import pytest

import shendu
from shendu.utils import (audio_dataset_from_directory, image_dataset_from_directory,
                          split_dataset, text_dataset_from_directory,
                          timeseries_dataset_from_array)


def test_split_dataset_sizes_and_shuffle():
    x, y = np.arange(10), np.arange(10) * 10
    left, right = split_dataset((x, y), left_size=0.8)
    assert len(left) == 8 and len(right) == 2
    assert [int(a) for a, _ in right] == [8, 9]
    left, right = split_dataset(np.arange(10), left_size=3, right_size=2)
    assert [int(v) for v in left] == [0, 1, 2] and [int(v) for v in right] == [8, 9]
    a, b = split_dataset(np.arange(10), right_size=0.3, shuffle=True, seed=1)
    c, d = split_dataset(np.arange(10), right_size=0.3, shuffle=True, seed=1)
    va, vb = [int(v) for v in a], [int(v) for v in b]
    assert va == [int(v) for v in c] and sorted(va + vb) == list(range(10)) and len(vb) == 3
    assert va != list(range(7))
    ds = shendu.data.Dataset.from_tensor_slices(np.arange(6))
    assert [len(p) for p in split_dataset(ds)] == [3, 3]
    with pytest.raises(ValueError, match="`left_size` should be either a positive integer"):
        split_dataset(np.arange(10), left_size=1.5)
    with pytest.raises(TypeError, match="Invalid `left_size` Type"):
        split_dataset(np.arange(10), left_size="half")
    with pytest.raises(ValueError, match="greater than 1"):
        split_dataset(np.arange(10), left_size=0.6, right_size=0.6)


def _windows(ds):
    xs, ys = zip(*[(x, y) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_timeseries_windows_follow_the_formula():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, data * 10, sequence_length=5, sequence_stride=3,
                                       sampling_rate=2, batch_size=4, start_index=10,
                                       end_index=60)
    x, y = _windows(ds)
    n = len(range(0, 60 - 10 - 4 * 2, 3))
    assert x.shape == (n, 5) and len(next(iter(ds))[0]) == 4
    for i in range(n):
        p = 10 + 3 * i
        assert x[i].tolist() == [p, p + 2, p + 4, p + 6, p + 8] and y[i] == 10 * p
    shuffled = timeseries_dataset_from_array(data, data, 5, shuffle=True, seed=3, batch_size=8)
    xs, ys = _windows(shuffled)
    assert sorted(ys.tolist()) == list(range(96)) and ys.tolist() != list(range(96))
    assert np.array_equal(xs[:, 0], ys)
    alone = timeseries_dataset_from_array(data, None, 10, batch_size=None)
    assert next(iter(alone)).tolist() == list(range(10)) and len(alone) == 91


def test_timeseries_matches_keras_grain_when_available():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    pytest.importorskip("grain", reason="Keras builds this dataset with tf.data or grain")
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    theirs = keras.utils.timeseries_dataset_from_array(data, np.arange(20), 4, 2, 2,
                                                       batch_size=3, format="grain")
    ours = timeseries_dataset_from_array(data, np.arange(20), 4, 2, 2, batch_size=3)
    for (a, b), (c, d) in zip(ours, theirs):
        assert np.array_equal(a, np.asarray(c)) and np.array_equal(b, np.asarray(d))


def test_timeseries_errors():
    with pytest.raises(ValueError, match="`sampling_rate` must be higher than 0"):
        timeseries_dataset_from_array(np.arange(10), None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="`start_index` must be lower than the length"):
        timeseries_dataset_from_array(np.arange(10), None, 3, start_index=10)


@pytest.fixture
def image_folder(tmp_path):
    pytest.importorskip("PIL", reason="image files need pillow")
    from shendu.utils import save_img
    for k, cls in enumerate(["cats", "dogs", "owls"]):
        (tmp_path / cls).mkdir()
        for i in range(4):
            save_img(tmp_path / cls / f"{i}.png", np.full((10, 6, 3), 40 * k + i, np.uint8),
                     scale=False)
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_dataset_labels_and_shapes(image_folder, capsys):
    ds = image_dataset_from_directory(image_folder, image_size=(5, 3), batch_size=5, seed=1)
    assert "Found 12 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs", "owls"] and len(ds.file_paths) == 12
    batches = list(ds)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.shape == (12, 5, 3, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert [len(b[0]) for b in batches] == [5, 5, 2]
    # each image's value says its class: 40 * k + i
    assert np.array_equal(x[:, 0, 0, 0] // 40, y)
    cat = image_dataset_from_directory(image_folder, label_mode="categorical", image_size=(5, 3),
                                       shuffle=False, verbose=False)
    _, y1 = next(iter(cat))
    assert y1.shape == (12, 3) and y1.dtype == np.float32 and np.all(y1.sum(axis=1) == 1)
    nolabel = image_dataset_from_directory(image_folder, labels=None, image_size=(4, 4),
                                           color_mode="grayscale", shuffle=False, verbose=False)
    assert next(iter(nolabel)).shape == (12, 4, 4, 1)
    cf = image_dataset_from_directory(image_folder, image_size=(5, 3), verbose=False,
                                      data_format="channels_first", shuffle=False)
    assert next(iter(cf))[0].shape == (12, 3, 5, 3)


def test_image_dataset_validation_split_is_disjoint_and_trains(image_folder):
    train, val = image_dataset_from_directory(image_folder, image_size=(4, 4), batch_size=4,
                                              validation_split=0.25, subset="both", seed=7,
                                              verbose=False)
    assert len(train.file_paths) == 9 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(image_folder, image_size=(4, 4), validation_split=0.25,
                                         subset="validation", seed=7, verbose=False)
    assert again.file_paths == val.file_paths
    model = shendu.Sequential([shendu.Input((4, 4, 3)), shendu.layers.Rescaling(1 / 255),
                               shendu.layers.Flatten(), shendu.layers.Dense(3)])
    model.compile(optimizer="adam", loss=shendu.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_directory_errors(image_folder):
    with pytest.raises(ValueError, match="you must provide a `seed`"):
        image_dataset_from_directory(image_folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match='exactly 2 class_names'):
        image_dataset_from_directory(image_folder, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="did not match the names of the subdirectories"):
        image_dataset_from_directory(image_folder, class_names=["x", "y"], verbose=False)
    with pytest.raises(ValueError, match="does not exist"):
        image_dataset_from_directory(image_folder / "nope")
    two = image_dataset_from_directory(image_folder, class_names=["cats", "owls"],
                                       label_mode="binary", image_size=(2, 2), verbose=False,
                                       shuffle=False)
    _, y = next(iter(two))
    assert y.shape == (8, 1) and y.dtype == np.float32 and sorted(y[:, 0].tolist()) == [0] * 4 + [1] * 4


def test_text_dataset(tmp_path):
    for cls, texts in {"neg": ["bad", "awful film"], "pos": ["good", "great fun", "fine"]}.items():
        (tmp_path / cls).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / cls / f"{i}.txt").write_text(t, encoding="utf-8")
    ds = text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False, verbose=False,
                                     max_length=4)
    texts, labels = zip(*[(t, y) for b in ds for t, y in zip(*b)])
    assert list(texts) == ["bad", "awfu", "good", "grea", "fine"] and list(labels) == [0, 0, 1, 1, 1]
    assert ds.class_names == ["neg", "pos"]


def _write_wav(path, samples, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.asarray(samples) * 32767).astype("<i2").tobytes())


def test_audio_dataset_pads_and_cuts(tmp_path):
    for cls, lengths in {"no": [5, 8], "yes": [3]}.items():
        (tmp_path / cls).mkdir()
        for i, n in enumerate(lengths):
            _write_wav(tmp_path / cls / f"{i}.wav", np.linspace(-0.5, 0.5, n))
    ds = audio_dataset_from_directory(tmp_path, batch_size=3, shuffle=False, verbose=False)
    audio, labels = next(iter(ds))
    assert audio.shape == (3, 8, 1) and audio.dtype == np.float32 and labels.tolist() == [0, 0, 1]
    assert np.allclose(audio[0, :5, 0], np.linspace(-0.5, 0.5, 5), atol=1e-4)
    assert np.all(audio[0, 5:] == 0)
    cut = audio_dataset_from_directory(tmp_path, output_sequence_length=4, batch_size=2,
                                       shuffle=False, verbose=False, sampling_rate=8000)
    assert [a.shape for a, _ in cut] == [(2, 4, 1), (1, 4, 1)]
    with pytest.raises(ValueError, match="does not resample"):
        next(iter(audio_dataset_from_directory(tmp_path, sampling_rate=16000, verbose=False)))
