"""CategoryEncoding, Discretization, StringLookup, IntegerLookup and TextVectorization.

CategoryEncoding and Discretization run against real Keras. Keras's lookup and text layers
need TensorFlow (not installed here), so those are checked against the outputs Keras
documents for the same inputs, and against hand-derived index layouts."""
import numpy as np
import pytest

import shendu
from shendu import layers


# ---- CategoryEncoding --------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", [np.array([3, 2, 0, 1]), np.array([[0, 1], [0, 0], [1, 2], [3, 1]]),
                               np.array([[1], [3], [0]])])
def test_category_encoding_matches_keras(mode, x):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours = layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    want = np.asarray(keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)(x))
    got = ours(x).numpy()
    assert got.dtype == np.float32 and got.shape == want.shape == ours.compute_output_shape(x.shape)
    np.testing.assert_array_equal(got, want)
    if mode == "count" and x.ndim == 2:
        w = np.arange(x.size, dtype="float32").reshape(x.shape) / 2
        np.testing.assert_allclose(
            ours(x, count_weights=w).numpy(),
            np.asarray(keras.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=w)))


def test_category_encoding_errors_and_config():
    with pytest.raises(ValueError, match=r"CategoryEncoding.*Received: num_tokens=0"):
        layers.CategoryEncoding(num_tokens=0)
    with pytest.raises(ValueError, match=r"CategoryEncoding.*Received: output_mode='tf_idf'"):
        layers.CategoryEncoding(4, output_mode="tf_idf")
    with pytest.raises(ValueError, match=r"CategoryEncoding 'ce'.*num_tokens=3.*\[0, 5\]"):
        layers.CategoryEncoding(3, name="ce")(np.array([[0, 5]]))
    layer = layers.CategoryEncoding(5, output_mode="count")
    assert layers.CategoryEncoding.from_config(layer.get_config()).get_config() == \
        {**layer.get_config(), "name": layer.name}


# ---- Discretization ----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(mode):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    if mode == "one_hot":
        x = x[:, :1]
    kw = {"bin_boundaries": [0.0, 1.0, 2.0], "output_mode": mode}
    got = layers.Discretization(**kw)(x).numpy()
    want = np.asarray(keras.layers.Discretization(**kw)(x))
    # 'int' gives Keras's int64 (JAX without x64 narrows it to int32); the others floatx.
    assert got.dtype == (np.int64 if mode == "int" else want.dtype) and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("num_bins, sizes", [(4, (8,)), (7, (200, 300)), (3, (50, 50, 40))])
def test_discretization_adapt_matches_keras(num_bins, sizes):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    rng = np.random.default_rng(num_bins)
    batches = [rng.standard_normal((n, 3)) for n in sizes]
    ours = layers.Discretization(num_bins=num_bins)
    ours.adapt(batches if len(batches) > 1 else batches[0])
    ref = keras.layers.Discretization(num_bins=num_bins)
    ref.reset_state()  # Keras's adapt needs TensorFlow for its input check; these are its steps
    for b in batches:
        ref.update_state(b)
    ref.finalize_state()
    np.testing.assert_allclose(ours.bin_boundaries, ref.bin_boundaries, rtol=1e-6)
    x = np.concatenate(batches)
    np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))


def test_discretization_errors():
    with pytest.raises(ValueError, match="set either `num_bins` or `bin_boundaries`"):
        layers.Discretization()
    with pytest.raises(ValueError, match=r"not both.*num_bins=2"):
        layers.Discretization(num_bins=2, bin_boundaries=[0.0])
    with pytest.raises(ValueError, match="cannot adapt a layer made with `bin_boundaries`"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.zeros(3))
    with pytest.raises(ValueError, match=r"Received: output_mode='tf_idf'"):
        layers.Discretization(num_bins=2, output_mode="tf_idf")


# ---- StringLookup / IntegerLookup --------------------------------------------------------

DATA = np.array([["a", "c", "d"], ["d", "z", "b"]])
VOCAB = ["a", "b", "c", "d"]


def test_string_lookup_documented_outputs():
    # The outputs Keras's StringLookup documentation gives for these inputs.
    np.testing.assert_array_equal(layers.StringLookup(vocabulary=VOCAB)(DATA).numpy(),
                                  [[1, 3, 4], [4, 0, 2]])
    layer = layers.StringLookup()
    layer.adapt(DATA)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(layer(DATA).numpy(), [[5, 3, 1], [1, 2, 4]])
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=VOCAB, mask_token="")(
            np.array([["a", "c", "d"], ["d", "", "b"]])).numpy(), [[2, 4, 5], [5, 0, 3]])
    multi = np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(multi).numpy(),
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=VOCAB, output_mode="count")(multi).numpy(),
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    np.testing.assert_allclose(
        layers.StringLookup(vocabulary=VOCAB, output_mode="tf_idf",
                            idf_weights=[0.25, 0.75, 0.6, 0.4])(multi).numpy(),
        [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)
    inv = layers.StringLookup(vocabulary=VOCAB, invert=True)
    np.testing.assert_array_equal(inv(np.array([[1, 3, 4], [4, 0, 2]])),
                                  [["a", "c", "d"], ["d", "[UNK]", "b"]])
    one = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(np.array(["a", "b", "c", "d", "z"]))
    np.testing.assert_array_equal(one.numpy(), np.eye(5)[[1, 2, 3, 4, 0]])


def test_integer_lookup_documented_outputs():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    vocab = [12, 36, 1138, 42]
    np.testing.assert_array_equal(layers.IntegerLookup(vocabulary=vocab)(data).numpy(),
                                  [[1, 3, 4], [4, 0, 2]])
    np.testing.assert_array_equal(
        layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)(data).numpy(),
        [[2, 4, 5], [5, 0, 3]])  # 1000 mod 2 = 0: the first OOV slot
    layer = layers.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(
        layers.IntegerLookup(vocabulary=vocab, mask_token=0)(np.array([[12, 1138, 42], [42, 0, 36]])).numpy(),
        [[2, 4, 5], [5, 0, 3]])
    inv = layers.IntegerLookup(vocabulary=vocab, invert=True)
    np.testing.assert_array_equal(inv(np.array([[1, 3, 4], [4, 0, 2]])), [[12, 1138, 42], [42, -1, 36]])


def test_lookup_adapt_max_tokens_special_tokens_and_tf_idf():
    layer = layers.StringLookup(max_tokens=4, mask_token="[MASK]", output_mode="int")
    layer.adapt(np.array([["x", "y", "y"], ["z", "z", "z"], ["[MASK]", "[UNK]", "w"]]))
    assert layer.get_vocabulary() == ["[MASK]", "[UNK]", "z", "y"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["z", "y"]
    assert layer.vocabulary_size() == 4
    tf = layers.StringLookup(output_mode="tf_idf")
    tf.adapt(np.array([["a", "b"], ["a", "a"], ["c", "a"]]))
    idf = np.log(1 + 3 / (1 + np.array([3.0, 1.0, 1.0])))  # a in 3 documents; b, c in 1
    want_row = np.array([idf.mean() * 0, idf[0] * 1, idf[2] * 0, idf[1] * 1])
    vocab = tf.get_vocabulary()
    assert vocab == ["[UNK]", "a", "c", "b"]
    np.testing.assert_allclose(tf(np.array([["a", "b"]])).numpy()[0], want_row[[0, 1, 2, 3]],
                               rtol=1e-6)
    padded = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot", max_tokens=8,
                                 pad_to_max_tokens=True)
    assert padded(np.array([["a"]])).shape == (1, 8)


def test_lookup_vocabulary_file_and_leading_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\na\nb\n\n", encoding="utf-8")
    layer = layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "a", "b"]
    with pytest.raises(ValueError, match="vocabulary file .* does not exist"):
        layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))


@pytest.mark.parametrize("kw, match", [
    ({"vocabulary": ["a", "b", "a"]}, r"repeated terms.*\['a'\]"),
    ({"vocabulary": ["a", "[UNK]"]}, r"OOV token '\[UNK\]' at an unexpected place"),
    ({"vocabulary": VOCAB, "max_tokens": 3}, r"Received vocabulary size is 5; `max_tokens` is 3"),
    ({"num_oov_indices": -1}, r"Received: num_oov_indices=-1"),
    ({"max_tokens": 1}, r"Received: max_tokens=1"),
    ({"invert": True, "output_mode": "count"}, r"Received: output_mode='count'"),
    ({"output_mode": "tf_idf", "vocabulary": VOCAB}, r"`idf_weights` must be set"),
    ({"idf_weights": [1.0]}, r"only be set if output_mode is 'tf_idf'"),
])
def test_lookup_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        layers.StringLookup(**kw)


def test_lookup_oov_errors():
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*\['z'\]"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(DATA)
    with pytest.raises(NotImplementedError, match="FarmHash"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)(DATA)
    with pytest.raises(TypeError, match=r"IntegerLookup.*integers"):
        layers.IntegerLookup(vocabulary=[1, 2])(np.array([0.5]))


@pytest.mark.parametrize("cls, kw, data", [
    (layers.StringLookup, {"output_mode": "count", "mask_token": "", "max_tokens": 9}, DATA),
    (layers.IntegerLookup, {"num_oov_indices": 2}, np.array([[3, 4, 4], [5, 9, 3]])),
    (layers.StringLookup, {"output_mode": "tf_idf"}, DATA),
])
def test_lookup_config_and_adapted_vocabulary_round_trip(cls, kw, data):
    layer = cls(**kw)
    layer.adapt(data)
    config = layer.get_config()
    assert config["vocabulary"] is None  # an adapted vocabulary travels with the weights
    clone = cls.from_config(config)
    store = {}
    layer.save_own_variables(store)
    clone.load_own_variables(store)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(clone(data).numpy(), layer(data).numpy())
    given = cls(vocabulary=layer.get_vocabulary(include_special_tokens=False),
                **{k: v for k, v in kw.items() if k != "output_mode"})
    assert cls.from_config(given.get_config()).get_vocabulary() == given.get_vocabulary()


def test_lookup_bytes_and_object_inputs():
    layer = layers.StringLookup(vocabulary=VOCAB)
    np.testing.assert_array_equal(layer(np.array([b"a", b"z"])).numpy(), [1, 0])
    np.testing.assert_array_equal(layer(["d", "c"]).numpy(), [4, 3])
    np.testing.assert_array_equal(layer(np.array(["b", b"a"], dtype=object)).numpy(), [2, 1])


# ---- TextVectorization -------------------------------------------------------------------

CORPUS = ["The cat sat.", "the DOG sat!", "a cat, a dog"]


def test_text_vectorization_int_mode():
    tv = layers.TextVectorization()
    tv.adapt(CORPUS)
    # counts: a 2, cat 2, sat 2, the 2, dog 2 -> ties by decreasing token
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "sat", "dog", "cat", "a"]
    np.testing.assert_array_equal(tv(["the cat", "a fish sat dog"]).numpy(),
                                  [[2, 5, 0, 0], [6, 1, 3, 4]])
    fixed = layers.TextVectorization(output_sequence_length=3, vocabulary=["cat", "dog"])
    np.testing.assert_array_equal(fixed(["dog dog cat cat", "bird"]).numpy(), [[3, 3, 2], [1, 0, 0]])
    assert fixed.compute_output_shape((None,)) == (None, 3)
    np.testing.assert_array_equal(fixed(np.array([["dog"], ["cat"]])).numpy(), [[3, 0, 0], [2, 0, 0]])


def test_text_vectorization_bag_of_words_ngrams_and_options():
    tv = layers.TextVectorization(output_mode="count", ngrams=2, standardize="lower",
                                  split="whitespace")
    tv.adapt(["a b a", "b c"])
    vocab = tv.get_vocabulary()
    # a 2, b 2, 'a b' 1, 'b a' 1, 'b c' 1, c 1 -> decreasing count, then decreasing token
    assert vocab == ["[UNK]", "b", "a", "c", "b c", "b a", "a b"]
    out = tv(["a b a d"]).numpy()[0]
    want = dict(zip(vocab, [2, 1, 2, 0, 0, 1, 1]))  # 'a d' and 'd' are OOV: 2 in [UNK]
    np.testing.assert_array_equal(out, [want[t] for t in vocab])
    chars = layers.TextVectorization(split="character", standardize=None, output_mode="multi_hot",
                                     vocabulary=["a", "b"])
    np.testing.assert_array_equal(chars(["abA"]).numpy(), [[1, 1, 1]])
    tfidf = layers.TextVectorization(output_mode="tf_idf", max_tokens=6, pad_to_max_tokens=True)
    tfidf.adapt(CORPUS)
    assert tfidf(["cat cat"]).shape == (1, 6)


def test_text_vectorization_errors_and_config_round_trip():
    with pytest.raises(ValueError, match=r"TextVectorization.*Received: standardize='upper'"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match=r"TextVectorization.*Received: output_mode='one_hot'"):
        layers.TextVectorization(output_mode="one_hot")
    with pytest.raises(ValueError, match=r"Received: output_sequence_length=4"):
        layers.TextVectorization(output_mode="count", output_sequence_length=4)
    with pytest.raises(ValueError, match=r"Received: ngrams=0"):
        layers.TextVectorization(ngrams=0)
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=5, ngrams=(1, 2))
    tv.adapt(CORPUS)
    clone = layers.TextVectorization.from_config(tv.get_config())
    store = {}
    tv.save_own_variables(store)
    clone.load_own_variables(store)
    assert clone.get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(clone(CORPUS).numpy(), tv(CORPUS).numpy())


def test_text_classifier_trains_through_dataset_map():
    rng = np.random.default_rng(0)
    pos, neg = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "sad"]
    filler = ["the", "a", "movie", "was", "plot"]
    texts, y = [], []
    for i in range(160):
        words = list(rng.choice(filler, 3)) + list(rng.choice(pos if i % 2 else neg, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(i % 2)
    texts, y = np.array(texts), np.array(y, "float32")
    tv = layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    tv.adapt(texts)
    shendu.utils.set_random_seed(0)
    model = shendu.Sequential([layers.Embedding(30, 8), layers.GlobalAveragePooling1D(),
                               layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    ds = shendu.data.Dataset.from_tensor_slices((texts, y)).batch(32).map(lambda a, b: (tv(a), b))
    hist = model.fit(ds, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0] - 0.03
    assert hist.history["accuracy"][-1] >= 0.9
