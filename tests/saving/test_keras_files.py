"""Keras 3's own files, both ways, against real Keras: ``.keras`` archives and
``.weights.h5`` files written by Keras load in shendu with Keras's predictions, files
written by shendu load in Keras, and forged or broken files are refused without running
anything."""
import io
import json
import zipfile

import numpy as np
import pytest

import shendu
from shendu.ops import random as shendu_random
from shendu.saving.keras_files import keras_layer_order

keras = pytest.importorskip("keras", reason="real Keras is needed to write Keras's files")
h5py = pytest.importorskip("h5py", reason="h5py reads and writes Keras's HDF5 files")

MARKER = "pwned_marker"


def _randomize(model, seed):
    """Random weights (positive variances), so every variable matters to the output."""
    rng = np.random.default_rng(seed)
    new = []
    for w in model.weights:
        shape = tuple(w.shape)
        if "variance" in w.path:
            new.append(rng.uniform(0.5, 2.0, shape).astype("float32"))
        elif "embeddings" in w.path:
            new.append(rng.normal(size=shape).astype("float32"))
        else:
            new.append((rng.normal(size=shape) * 0.5).astype("float32"))
    model.set_weights(new)


def _conv_seq(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((9, 9, 3)), L.Conv2D(4, 3, padding="same", strides=2,
                                                          activation="relu"),
                           L.BatchNormalization(), L.MaxPooling2D(), L.Conv2D(5, 2),
                           L.BatchNormalization(center=False), L.AveragePooling2D(1),
                           L.Dropout(0.3), L.Flatten(), L.Dense(6, activation="tanh"),
                           L.Dense(3, activation="softmax")])


def _rnn_seq(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((7,), dtype="int32"), L.Embedding(30, 5),
                           L.LSTM(4, return_sequences=True), L.GRU(3, return_sequences=True),
                           L.SimpleRNN(2)])


def _functional(lib):
    L = lib.layers
    tokens, image = lib.Input((6,), dtype="int32", name="tok"), lib.Input((8, 8, 2), name="img")
    t = L.Embedding(20, 4, name="emb")(tokens)
    t = L.Bidirectional(L.LSTM(2), name="bi")(t)
    i = L.Conv2D(4, 3, padding="same", name="encoder_conv")(image)
    i = L.BatchNormalization(name="bn")(i)
    i = L.GlobalAveragePooling2D()(i)
    shared = L.Dense(4, activation="relu", name="shared")
    joined = L.Concatenate()([shared(t), shared(i), L.Dense(2, name="zz_dense")(i)])
    out = L.Dense(2, name="head")(L.Dropout(0.1)(joined))
    return lib.Model([tokens, image], out)


def _gru_functional(lib):
    L = lib.layers
    x = lib.Input((5, 3))
    y = L.GRU(4, return_sequences=True, reset_after=False)(x)
    y = L.TimeDistributed(L.Dense(2))(y)
    y = L.LSTM(3)(y)
    return lib.Model(x, L.Dense(1)(y))


def _conv_variants(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((7, 7, 3)),
                           L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2),
                           L.SeparableConv2D(4, 3, padding="same"),
                           L.Conv2DTranspose(3, 3, strides=2, padding="same"),
                           L.ZeroPadding2D(((1, 0), (0, 2))), L.UpSampling2D(), L.Cropping2D(1),
                           L.LayerNormalization(), L.ReLU(), L.Reshape((-1, 3)),
                           L.Conv1D(2, 3, padding="causal", dilation_rate=2),
                           L.GlobalMaxPooling1D()])


def _attention_nested(lib):
    L = lib.layers
    x = lib.Input((5, 6))
    inner = lib.Sequential([lib.Input((5, 6)), L.Dense(6, activation="relu"), L.Dense(6)])
    y = L.MultiHeadAttention(2, 4)(x, x)
    y = L.LayerNormalization()(L.Add()([x, y, inner(x)]))
    return lib.Model(x, L.Dense(2)(L.Flatten()(y)))


def _inputs(name, rng):
    if name == "conv_variants":
        return rng.normal(size=(3, 7, 7, 3)).astype("float32")
    if name == "attention_nested":
        return rng.normal(size=(3, 5, 6)).astype("float32")
    if name == "conv_seq":
        return rng.normal(size=(4, 9, 9, 3)).astype("float32")
    if name == "rnn_seq":
        return rng.integers(0, 30, (4, 7)).astype("int32")
    if name == "functional":
        return [rng.integers(0, 20, (4, 6)).astype("int32"),
                rng.normal(size=(4, 8, 8, 2)).astype("float32")]
    return rng.normal(size=(4, 5, 3)).astype("float32")


MODELS = {"conv_seq": _conv_seq, "rnn_seq": _rnn_seq, "functional": _functional,
          "gru_functional": _gru_functional, "conv_variants": _conv_variants,
          "attention_nested": _attention_nested}


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _keras_model(name, seed=0):
    model = MODELS[name](keras)
    _randomize(model, seed)
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_load_model_of_real_keras_archive_gives_keras_predictions(tmp_path, name):
    km = _keras_model(name)
    path = tmp_path / "m.keras"
    km.save(path)
    x = _inputs(name, np.random.default_rng(1))
    sm = shendu.models.load_model(path)
    # the layers in Keras's order, which numbers the weight groups of the file
    layers = keras_layer_order(sm) if isinstance(sm, shendu.Model) and \
        not isinstance(sm, shendu.Sequential) else sm.layers
    assert [type(layer).__name__ for layer in layers] == \
        [type(layer).__name__ for layer in km.layers]
    assert _rel(sm.predict(x, verbose=0), km.predict(x, verbose=0)) <= 1e-6


@pytest.mark.parametrize("name", sorted(MODELS))
def test_weights_h5_both_ways(tmp_path, name):
    km = _keras_model(name, seed=2)
    km.save(tmp_path / "m.keras")
    sm = shendu.models.load_model(tmp_path / "m.keras")
    x = _inputs(name, np.random.default_rng(3))
    # Keras -> shendu: new weights from Keras's save_weights
    _randomize(km, seed=4)
    km.save_weights(tmp_path / "k.weights.h5")
    sm.load_weights(tmp_path / "k.weights.h5")
    assert _rel(sm.predict(x, verbose=0), km.predict(x, verbose=0)) <= 1e-6
    # shendu -> Keras
    _randomize(sm, seed=5)
    sm.save_weights(tmp_path / "s.weights.h5")
    km.load_weights(tmp_path / "s.weights.h5")
    assert _rel(km.predict(x, verbose=0), sm.predict(x, verbose=0)) <= 1e-6


@pytest.mark.parametrize("name", ["conv_seq", "functional", "attention_nested", "conv_variants"])
def test_shendu_keras_file_loads_in_keras_and_resumes_in_shendu(tmp_path, name):
    sm = MODELS[name](shendu)
    _randomize(sm, seed=6)
    sm.compile(optimizer="adam", loss="mse")
    x = _inputs(name, np.random.default_rng(7))
    sm.fit(x, np.ones_like(sm.predict(x, verbose=0)), epochs=1, verbose=0)
    path = tmp_path / "s.keras"
    sm.save(path)
    km = keras.saving.load_model(path)
    assert _rel(km.predict(x, verbose=0), sm.predict(x, verbose=0)) <= 1e-6
    back = shendu.models.load_model(path)  # shendu's own members: optimizer state too
    assert int(back.optimizer.iterations.numpy()) == int(sm.optimizer.iterations.numpy()) == 1
    np.testing.assert_array_equal(back.predict(x, verbose=0), sm.predict(x, verbose=0))


def test_weight_mismatch_names_file_and_shapes(tmp_path):
    km = _keras_model("conv_seq")
    km.save_weights(tmp_path / "k.weights.h5")
    L = shendu.layers
    other = shendu.Sequential([shendu.Input((9, 9, 3)), L.Conv2D(7, 3)])
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match=r"(?s)k\.weights\.h5.*expects shape \(3, 3, 3, 7\).*"
                                         r"\(3, 3, 3, 4\)"):
        other.load_weights(tmp_path / "k.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))


# ---- forged, broken and code-carrying files ----------------------------------------------------
def _archive(tmp_path, members, name="m.keras", compression=zipfile.ZIP_STORED):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _keras_members(tmp_path):
    km = _keras_model("conv_seq")
    km.save(tmp_path / "valid.keras")
    with zipfile.ZipFile(tmp_path / "valid.keras") as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _refused(path, match, tmp_path, **kw):
    state = shendu_random.default_generator().bit_generator.state
    with pytest.raises(ValueError, match=match):
        shendu.models.load_model(path, **kw)
    assert not (tmp_path / MARKER).exists(), "loading ran code from the file"
    assert shendu_random.default_generator().bit_generator.state == state


def test_class_names_aimed_at_code_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    members = _keras_members(tmp_path)
    config = json.loads(members["config.json"])
    config["config"]["layers"][1] = {"module": "os", "class_name": "system",
                                     "config": {"command": f"touch {MARKER}"},
                                     "registered_name": None}
    _refused(_archive(tmp_path, dict(members, **{"config.json": json.dumps(config)})),
             "system", tmp_path)
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["kernel_initializer"] = {
        "module": "builtins", "class_name": "eval", "config": f"open('{MARKER}', 'w')",
        "registered_name": None}
    _refused(_archive(tmp_path, dict(members, **{"config.json": json.dumps(config)})),
             "eval", tmp_path)


def _lambda_archive(tmp_path):
    marker = str(tmp_path / MARKER)

    # a lambda (bytecode in the file) that leaves a marker whenever it runs
    fn = lambda x: (open(marker, "w").close(), x * 2.0)[1]  # noqa: E731
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(fn, name="doubler"),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "lambda.keras")
    (tmp_path / MARKER).unlink()
    return tmp_path / "lambda.keras", model


def test_lambda_bytecode_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, km = _lambda_archive(tmp_path)
    _refused(path, r"Lambda layer 'doubler'.*safe mode", tmp_path)
    # even with safe mode off, the bytecode is not unmarshalled
    _refused(path, r"Lambda layer 'doubler'.*never unmarshals", tmp_path, safe_mode=False)
    # the caller's own function, by layer name, loads the model
    model = shendu.models.load_model(path, safe_mode=False,
                                     custom_objects={"doubler": lambda x: x * 2.0})
    assert not (tmp_path / MARKER).exists()
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    expected = x * 2.0 @ km.layers[-1].kernel.numpy() + km.layers[-1].bias.numpy()
    assert _rel(model.predict(x, verbose=0), expected) <= 1e-6


def test_lambda_turning_safe_mode_off_is_refused(tmp_path):
    """CVE-2025-9906's shape: a Lambda naming enable_unsafe_deserialization."""
    members = _keras_members(tmp_path)
    config = json.loads(members["config.json"])
    config["config"]["layers"].insert(1, {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "switch", "function": {
            "module": "keras.config", "class_name": "function",
            "config": "enable_unsafe_deserialization", "registered_name": "function"},
            "arguments": {}}})
    _refused(_archive(tmp_path, dict(members, **{"config.json": json.dumps(config)})),
             "Lambda layer 'switch'", tmp_path)
    assert shendu.config.in_safe_mode(True)


def test_zip_bomb_traversal_and_truncation_are_refused(tmp_path):
    members = _keras_members(tmp_path)
    bomb = dict(members, **{"config.json": members["config.json"] + b" " * (50 << 20)})
    path = _archive(tmp_path, bomb, "bomb.keras", zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    _refused(path, r"bomb\.keras.*zip bomb", tmp_path)
    path = _archive(tmp_path, dict(members, **{"../evil.txt": b"x"}), "trav.keras")
    _refused(path, r"trav\.keras.*path traversal", tmp_path)
    assert not (tmp_path.parent / "evil.txt").exists()
    whole = (tmp_path / "valid.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(whole[: len(whole) // 2])
    _refused(tmp_path / "cut.keras", r"cut\.keras.*(damaged|truncated)", tmp_path)


def _rewrite_h5(members, edit):
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as src:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as dst:
            for key in src:
                src.copy(src[key], dst, name=key)
            edit(dst)
    return dict(members, **{"model.weights.h5": buf.getvalue()})


@pytest.mark.parametrize("attack,match", [
    ("wrong_shape", r"expects shape \(3, 3, 3, 4\).*\(3, 3, 3, 5\)"),
    ("shape_bomb", r"declares shape \(33554432, 33554432\)"),
    ("soft_link", "SoftLink"),
    ("external_link", "ExternalLink"),
    ("string_dataset", "must be numeric"),
    ("virtual_dataset", "virtual dataset"),
    ("external_storage", "external files"),
])
def test_forged_weights_are_refused_before_reading(tmp_path, attack, match):
    def edit(f):
        group = f["layers/conv2d/vars"]
        del group["0"]
        if attack == "wrong_shape":
            group["0"] = np.zeros((3, 3, 3, 5), "float32")
        elif attack == "shape_bomb":
            group.create_dataset("0", shape=(2 ** 25, 2 ** 25), dtype="float32",
                                 chunks=(1, 1))
        elif attack == "soft_link":
            group["0"] = h5py.SoftLink("/layers/dense/vars/0")
        elif attack == "external_link":
            group["0"] = h5py.ExternalLink("/etc/passwd", "/x")
        elif attack == "virtual_dataset":
            layout = h5py.VirtualLayout(shape=(3, 3, 3, 4), dtype="float32")
            layout[...] = h5py.VirtualSource("/etc/passwd", "x", shape=(3, 3, 3, 4))
            group.create_virtual_dataset("0", layout)
        elif attack == "external_storage":
            group.create_dataset("0", shape=(3, 3, 3, 4), dtype="float32",
                                 external=[("/etc/passwd", 0, 432)])
        else:
            group["0"] = np.array([b"os.system"], dtype=object).astype(h5py.string_dtype())
    members = _rewrite_h5(_keras_members(tmp_path), edit)
    _refused(_archive(tmp_path, members, "forged.keras"), rf"(?s)forged\.keras.*{match}",
             tmp_path)


# ---- legacy HDF5 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_legacy_h5_written_by_keras_loads_with_keras_predictions(tmp_path, name):
    km = _keras_model(name, seed=8)
    km.save(tmp_path / "m.h5")  # Keras 3's legacy path: model_config + model_weights
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f
    x = _inputs(name, np.random.default_rng(9))
    sm = shendu.models.load_model(tmp_path / "m.h5")
    assert _rel(sm.predict(x, verbose=0), km.predict(x, verbose=0)) <= 1e-6


def test_keras2_style_h5_by_order_with_tf_names(tmp_path):
    """A tf.keras file's layout, written with h5py: weight names '<layer>/<var>:0', layer
    groups by layer name, legacy config entries without 'module'; loaded by order."""
    km = _keras_model("conv_seq", seed=10)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": []}}
    for layer in [None] + km.layers:
        if layer is None:
            config["config"]["layers"].append({"class_name": "InputLayer", "config": {
                "batch_input_shape": [None, 9, 9, 3], "dtype": "float32", "name": "in"}})
            continue
        entry = keras.saving.serialize_keras_object(layer)
        config["config"]["layers"].append({"class_name": entry["class_name"],
                                           "config": entry["config"]})
    path = tmp_path / "tf2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [f"tf_{layer.name}".encode() for layer in km.layers]
        for layer in km.layers:
            lg = group.create_group(f"tf_{layer.name}")
            names = [f"tf_{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
            lg.attrs["weight_names"] = [n.encode() for n in names] if names else \
                np.zeros(0, "float64")
            for n, w in zip(names, layer.weights):
                lg[n] = np.asarray(w.numpy())
    x = _inputs("conv_seq", np.random.default_rng(11))
    sm = shendu.models.load_model(path)
    assert _rel(sm.predict(x, verbose=0), km.predict(x, verbose=0)) <= 1e-6
    fresh = _conv_seq(shendu)
    fresh.load_weights(path)  # the same file as a weights file
    assert _rel(fresh.predict(x, verbose=0), km.predict(x, verbose=0)) <= 1e-6


def test_legacy_h5_lambda_and_links_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, km = _lambda_archive(tmp_path)
    km.save(tmp_path / "lambda.h5")
    (tmp_path / MARKER).unlink(missing_ok=True)
    _refused(tmp_path / "lambda.h5", r"Lambda layer 'doubler'.*safe mode", tmp_path)
    _refused(tmp_path / "lambda.h5", r"never unmarshals", tmp_path, safe_mode=False)
    _keras_model("conv_seq").save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        first = f["model_weights"].attrs["layer_names"][0]
        first = first.decode() if isinstance(first, bytes) else first
        f["model_weights"][first]["x"] = h5py.ExternalLink("/etc/passwd", "/")
    _refused(tmp_path / "m.h5", r"m\.h5.*ExternalLink", tmp_path)


def test_optimizer_state_both_ways_and_training_continues_alike(tmp_path):
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    # (no bias before BatchNormalization: its gradient is rounding noise, which Adam's
    # normalized step would amplify into a difference that says nothing)
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, use_bias=False),
                           keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    km.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    km.fit(x, y, verbose=0, epochs=2, batch_size=4, shuffle=False)
    km.save(tmp_path / "k.keras")
    sm = shendu.models.load_model(tmp_path / "k.keras")
    assert int(sm.optimizer.iterations.numpy()) == 4
    for a, b in zip(sm.optimizer.get_state().values(), km.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a, dtype=np.float64),
                                      np.asarray(b.numpy(), dtype=np.float64))
    km.fit(x, y, verbose=0, epochs=1, batch_size=8, shuffle=False)
    sm.fit(x, y, verbose=0, epochs=1, batch_size=8, shuffle=False)
    for a, b in zip(sm.get_weights(), km.get_weights()):
        assert _rel(a, b) <= 1e-5
    sm.save(tmp_path / "s.keras")
    k2 = keras.saving.load_model(tmp_path / "s.keras")
    assert int(k2.optimizer.iterations.numpy()) == 5
    for a, b in zip(sm.optimizer.get_state().values(), k2.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a, dtype=np.float64),
                                      np.asarray(b.numpy(), dtype=np.float64))


def test_legacy_weights_mismatch_raises_or_skips(tmp_path):
    km = _keras_model("conv_seq", seed=13)
    km.save(tmp_path / "m.h5")
    L = shendu.layers
    other = shendu.Sequential([shendu.Input((9, 9, 3)), L.Conv2D(4, 3, padding="same",
                                                                 strides=2), L.Dense(2)])
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match=r"(?s)m\.h5.*expects \[\(4, 2\), \(2,\)\]"):
        other.load_weights(tmp_path / "m.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))
    with pytest.warns(UserWarning, match="skipped"):
        other.load_weights(tmp_path / "m.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), km.layers[0].kernel.numpy())
    np.testing.assert_array_equal(other.layers[1].kernel.numpy(), before[2])
