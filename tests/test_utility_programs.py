"""Whole Keras programs using the utility namespaces (utils, backend, config, random, tree,
mixed_precision), each run twice: with ``import shendu as keras`` and with real Keras
(JAX, CPU). Both must run to the end and satisfy the same checks."""
import tarfile

import numpy as np
import pytest

import shendu


def _modules():
    out = [pytest.param(shendu, id="shendu")]
    try:
        import keras
        out.append(pytest.param(keras, id="keras"))
    except ImportError:
        out.append(pytest.param(None, id="keras", marks=pytest.mark.skip(
            reason="real Keras (the 'keras' extra) is not installed")))
    return out


def text_classifier(keras, tmp_path):
    """The Keras text-classification pattern: ragged index lists -> pad_sequences ->
    Embedding -> pooling -> Dense, with a vocabulary file fetched by get_file."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(f"w{i}" for i in range(50)))
    path = keras.utils.get_file("vocab.txt", vocab.as_uri(), cache_dir=str(tmp_path / "cache"))
    words = open(path).read().split()
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, len(words), rng.integers(3, 30))) for _ in range(64)]
    labels = np.array([int(np.mean(s) > 25) for s in seqs])
    x = keras.utils.pad_sequences(seqs, maxlen=20, padding="post", truncating="post")
    assert x.shape == (64, 20) and x.dtype == np.int32
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Embedding(len(words), 8),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x[:5], verbose=0).shape == (5, 1)


def random_and_tree(keras, tmp_path):
    """keras.random with its seed semantics, keras.tree over a batch structure, and the
    backend settings a custom loss reads."""
    gen = keras.random.SeedGenerator(42)
    a = np.asarray(keras.random.normal((3, 4), seed=gen))
    b = np.asarray(keras.random.uniform((3, 4), minval=-1, maxval=1, seed=7))
    c = np.asarray(keras.random.uniform((3, 4), minval=-1, maxval=1, seed=7))
    assert a.shape == (3, 4) and np.array_equal(b, c) and b.min() >= -1 and b.max() < 1
    batch = {"image": np.ones((2, 3)), "meta": (np.zeros(2), [np.ones(1)])}
    flat = keras.tree.flatten(batch)
    assert len(flat) == 3
    doubled = keras.tree.map_structure(lambda t: t * 2, batch)
    assert keras.tree.flatten(doubled)[0].sum() == 12
    eps = keras.backend.epsilon()
    assert eps == 1e-7 and keras.backend.floatx() == "float32"
    assert keras.backend.image_data_format() == "channels_last"
    assert keras.backend.result_type("int32", "float32") == "float32"


def mixed_policy_program(keras, tmp_path):
    """A Keras example's first lines: set_global_policy('mixed_float16'), a model whose last
    layer is float32, and a LossScaleOptimizer."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        inputs = keras.Input((4,))
        h = keras.layers.Dense(8, activation="relu")(inputs)
        outputs = keras.layers.Dense(1, dtype="float32")(h)
        model = keras.Model(inputs, outputs)
        opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.01))
        model.compile(optimizer=opt, loss="mse")
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        history = model.fit(x, x[:, :1], epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert np.asarray(model.predict(x, verbose=0)).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def downloaded_archive(keras, tmp_path):
    """get_file(..., extract=True) on a tar.gz, then the files read from the folder."""
    src = tmp_path / "data"
    (src / "a").mkdir(parents=True)
    (src / "a" / "1.txt").write_text("one")
    with tarfile.open(tmp_path / "data.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="data")
    folder = keras.utils.get_file("data.tar.gz", (tmp_path / "data.tar.gz").as_uri(),
                                  extract=True, cache_dir=str(tmp_path / "c"))
    import os
    assert open(os.path.join(folder, "data", "a", "1.txt")).read() == "one"


@pytest.mark.filterwarnings("ignore:shendu runs the 'mixed_float16' policy")
@pytest.mark.parametrize("keras", _modules())
@pytest.mark.parametrize("program", [text_classifier, random_and_tree, mixed_policy_program,
                                     downloaded_archive], ids=lambda p: p.__name__)
def test_program_runs(keras, program, tmp_path):
    program(keras, tmp_path)
