"""Faults in what a user hands to compile/fit/evaluate/predict: each gets a clear error
before any training step, naming the argument, what was expected and what was received.

``CASES`` is data: (id, a builder that makes the failing call, the exception type, words
the message must hold). The silent failures that were fixed (return lengths, warnings,
equal losses, bounded loss lists) have tests of their own below the table.
"""
import os
import warnings

import numpy as np
import pytest

import shendu as keras
from shendu import layers

N, D, K = 64, 3, 3


def _xy(n=N, d=D, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32)


def _reg(loss="mse", metrics=None, optimizer="sgd"):
    """Dense(2) regression model on D features."""
    model = keras.Sequential([keras.Input((D,)), layers.Dense(2, name="out")])
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def _clf(loss="sparse_categorical_crossentropy", metrics=None):
    model = keras.Sequential([keras.Input((D,)), layers.Dense(K, activation="softmax", name="probs")])
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return model


def _binary():
    model = keras.Sequential([keras.Input((D,)), layers.Dense(1, activation="sigmoid", name="p")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


def _labels(n=N, k=K, seed=0):
    return np.random.default_rng(seed).integers(0, k, n)


def _fit(x="xy", y="xy", model=None, **kwargs):
    model = model or _reg()
    x0, y0 = _xy()
    x = x0 if isinstance(x, str) and x == "xy" else x
    y = y0 if isinstance(y, str) and y == "xy" else y
    kwargs.setdefault("verbose", 0)
    return model.fit(x, y, **kwargs)


def _fit_clf(y=None, metrics=None, **kwargs):
    x, _ = _xy()
    kwargs.setdefault("verbose", 0)
    return _clf(metrics=metrics).fit(x, _labels() if y is None else y, **kwargs)


def _with(array, index, value):
    out = np.array(array, copy=True)
    out[index] = value
    return out


def _gen(n_batches=2, tuple_len=2):
    x, y = _xy()
    for i in range(n_batches):
        yield (x[:16], y[:16], np.ones(16), None)[:tuple_len]


class _ListDataset(keras.utils.PyDataset):
    """A PyDataset whose batches are lists (Keras reads a list as it reads a tuple)."""

    def __init__(self, parts):
        super().__init__()
        self.parts = parts

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return [p[i * 32:(i + 1) * 32] for p in self.parts]


def _two_inputs():
    a, b = keras.Input((D,), name="a"), keras.Input((2,), name="b")
    out = layers.Dense(1, name="out")(layers.Concatenate()([a, b]))
    model = keras.Model([a, b], out)
    model.compile("sgd", "mse")
    return model


def _two_outputs():
    a = keras.Input((D,))
    model = keras.Model(a, [layers.Dense(2, name="o1")(a), layers.Dense(1, name="o2")(a)])
    model.compile("sgd", "mse")
    return model


def _fit_two_outputs(y):
    return _two_outputs().fit(_xy()[0], y, verbose=0)


def _duplicate_names():
    inp = keras.Input((D,))
    h = layers.Dense(4, name="dense_same")(inp)
    return keras.Model(inp, layers.Dense(2, name="dense_same")(h))


def _checkpoint_under_file(tmp):
    blocker = os.path.join(tmp, "a_file")
    with open(blocker, "w") as f:
        f.write("not a directory")
    cb = keras.callbacks.ModelCheckpoint(os.path.join(blocker, "sub", "m.keras"))
    return _fit(callbacks=[cb], epochs=2)


def _checkpoint_bad_key(tmp):
    cb = keras.callbacks.ModelCheckpoint(os.path.join(tmp, "m-{epoch:02d}-{val_los:.2f}.keras"))
    spy = _EpochSpy()
    try:
        _fit(callbacks=[spy, cb], validation_split=0.25, epochs=2)
    finally:
        assert spy.epochs_ended == 0, "the bad filepath was only found after an epoch trained"


class _EpochSpy(keras.callbacks.Callback):
    epochs_ended = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_ended += 1


def _bad_validation(validation_data):
    spy = _EpochSpy()
    try:
        _fit(validation_data=validation_data, callbacks=[spy], epochs=2)
    finally:
        assert spy.epochs_ended == 0, "bad validation_data was only found after an epoch trained"


def _xv(n=10, d=D):
    return np.zeros((n, d), np.float32)


def _yv(n=10, k=2):
    return np.zeros((n, k), np.float32)


def _schedule_nan():
    class Bad(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return float("nan")

        def get_config(self):
            return {}
    return _fit(model=_reg(optimizer=keras.optimizers.SGD(learning_rate=Bad())))


def _set_lr(value):
    opt = keras.optimizers.Adam()
    opt.learning_rate = value


CASES = [
    # ---- x and y missing or of the wrong kind ----------------------------------------
    ("fit_x_none", lambda t: _fit(x=None), ValueError, ["x", "None"]),
    ("fit_y_none_with_loss", lambda t: _fit(y=None), ValueError, ["y", "None", "loss"]),
    ("evaluate_x_none", lambda t: _reg().evaluate(None, _xy()[1], verbose=0), ValueError, ["x", "None"]),
    ("evaluate_y_none_with_loss", lambda t: _reg().evaluate(_xy()[0], None, verbose=0),
     ValueError, ["y", "None"]),
    ("predict_x_none", lambda t: _reg().predict(None, verbose=0), ValueError, ["x", "None"]),
    ("train_on_batch_y_none", lambda t: _reg().train_on_batch(_xy()[0], None), ValueError, ["y", "None"]),
    ("predict_two_arrays_for_one_input", lambda t: _reg().predict([_xy()[0], _xy()[0]], verbose=0),
     ValueError, ["expects 1 input", "received 2"]),
    ("two_input_model_given_one_array", lambda t: _two_inputs().predict(_xy()[0], verbose=0),
     ValueError, ["2 input", "received 1"]),
    ("dict_input_missing_key", lambda t: _two_inputs().predict({"a": _xy()[0]}, verbose=0),
     ValueError, ["missing", "b"]),
    ("string_x_fit", lambda t: _fit(x=np.array([["a", "b", "c"]] * N)), TypeError, ["x", "str", "dtype"]),
    ("string_x_predict", lambda t: _reg().predict(np.array([["1", "2", "3"]] * 4), verbose=0),
     TypeError, ["x", "dtype"]),
    ("string_y_fit", lambda t: _fit(y=np.array([["a", "b"]] * N)), TypeError, ["y", "dtype"]),
    ("complex_x_predict", lambda t: _reg().predict(_xy()[0] + 1j, verbose=0), TypeError, ["complex", "x"]),
    ("complex_y_fit", lambda t: _fit(y=_xy()[1] * (1 + 1j)), TypeError, ["complex", "y"]),
    ("object_x_fit", lambda t: _fit(x=np.array([None] * N, dtype=object)), TypeError, ["x", "object"]),
    ("string_sample_weight", lambda t: _fit(sample_weight=np.array(["1"] * N)), TypeError,
     ["sample_weight", "dtype"]),
    ("x_y_length_mismatch", lambda t: _fit(y=_xy()[1][:10]), ValueError, ["cardinality", "64", "10"]),
    ("scalar_x", lambda t: _fit(x=np.float32(1.0), y=np.float32(1.0)), ValueError, ["batch dimension"]),
    ("empty_x", lambda t: _fit(x=np.zeros((0, D), np.float32), y=np.zeros((0, 2), np.float32)),
     ValueError, ["empty"]),
    ("wrong_feature_count_predict", lambda t: _reg().predict(np.zeros((4, 5), np.float32), verbose=0),
     ValueError, ["out", "5"]),
    ("generator_with_y", lambda t: _fit(x=_gen(), y=_xy()[1]), ValueError, ["generator", "y must be None"]),
    ("generator_batch_of_four", lambda t: _fit(x=_gen(tuple_len=4), y=None), ValueError,
     ["(x, y)", "tuple of 4"]),
    # ---- non-finite data --------------------------------------------------------------
    ("nan_x", lambda t: _fit(x=_with(_xy()[0], (3, 1), np.nan)), ValueError, ["x", "NaN", "[3, 1]"]),
    ("inf_y", lambda t: _fit(y=_with(_xy()[1], (5, 0), np.inf)), ValueError, ["y", "Inf", "[5, 0]"]),
    ("nan_y_evaluate", lambda t: _reg().evaluate(_xy()[0], _with(_xy()[1], (0, 0), np.nan), verbose=0),
     ValueError, ["y", "NaN"]),
    ("nan_sample_weight", lambda t: _fit(sample_weight=_with(np.ones(N), 7, np.nan)), ValueError,
     ["sample_weight", "NaN", "[7]"]),
    ("inf_sample_weight_evaluate",
     lambda t: _reg().evaluate(*_xy(), sample_weight=_with(np.ones(N), 0, np.inf), verbose=0),
     ValueError, ["sample_weight", "Inf"]),
    ("nan_y_train_on_batch", lambda t: _reg().train_on_batch(_xy()[0], _with(_xy()[1], (1, 1), np.nan)),
     ValueError, ["y", "NaN"]),
    ("nan_validation_x", lambda t: _bad_validation((_with(_xv(), (0, 0), np.nan), _yv())), ValueError,
     ["validation", "NaN"]),
    # ---- shapes of y and sample_weight against the outputs ---------------------------
    ("mse_target_shape_mismatch", lambda t: _fit(y=np.zeros((N, 3), np.float32)), ValueError,
     ["(64, 3)", "out", "(None, 2)"]),
    ("sparse_label_too_large", lambda t: _fit_clf(y=_with(_labels(), 4, K)), ValueError,
     ["label 3", "[0, 2]"]),
    ("sparse_label_negative", lambda t: _fit_clf(y=_with(_labels(), 4, -1)), ValueError, ["label -1"]),
    ("one_hot_wrong_classes", lambda t: _clf("categorical_crossentropy").fit(
        _xy()[0], np.eye(4, dtype=np.float32)[_labels() % 4], verbose=0), ValueError, ["(64, 4)", "3"]),
    ("sample_weight_wrong_length", lambda t: _fit(sample_weight=np.ones(N - 1)), ValueError,
     ["sample_weight", "63"]),
    ("sample_weight_wrong_shape", lambda t: _fit(sample_weight=np.ones((N, 5))), ValueError,
     ["sample_weight", "(64, 5)", "(None, 2)"]),
    ("metric_shape_mismatch", lambda t: _fit_clf(metrics=["mae"]), ValueError,
     ["mae", "(32,)", "(32, 3)"]),
    # ---- binary cross-entropy labels ---------------------------------------------------
    ("bce_label_two_fit", lambda t: _binary().fit(_xy()[0], _with(np.ones((N, 1)), 3, 2.0), verbose=0),
     ValueError, ["binary_crossentropy", "[0, 1]", "2"]),
    ("bce_label_negative_fn", lambda t: keras.losses.binary_crossentropy(
        np.array([[-1.0]]), np.array([[0.3]])), ValueError, ["binary_crossentropy", "[0, 1]", "-1"]),
    ("bce_class_label_out_of_range", lambda t: keras.losses.BinaryCrossentropy(from_logits=True)(
        np.array([[0.0], [3.0]]), np.array([[0.1], [0.2]])), ValueError, ["binary_crossentropy", "3"]),
    ("focal_bce_label_out_of_range", lambda t: keras.losses.binary_focal_crossentropy(
        np.array([[1.5]]), np.array([[0.3]])), ValueError, ["binary_focal_crossentropy", "1.5"]),
    # ---- batch sizes, steps, epochs -----------------------------------------------------
    ("batch_size_zero_fit", lambda t: _fit(batch_size=0), ValueError, ["batch_size", "Received: batch_size=0"]),
    ("batch_size_negative_evaluate", lambda t: _reg().evaluate(*_xy(), batch_size=-4, verbose=0),
     ValueError, ["batch_size=-4"]),
    ("batch_size_zero_predict", lambda t: _reg().predict(_xy()[0], batch_size=0, verbose=0), ValueError,
     ["batch_size=0"]),
    ("batch_size_float", lambda t: _fit(batch_size=2.5), TypeError, ["batch_size", "2.5"]),
    ("batch_size_bool", lambda t: _fit(batch_size=True), TypeError, ["batch_size", "True"]),
    ("validation_batch_size_zero", lambda t: _fit(validation_split=0.25, validation_batch_size=0),
     ValueError, ["validation_batch_size=0"]),
    ("steps_per_epoch_zero", lambda t: _fit(steps_per_epoch=0), ValueError, ["steps_per_epoch=0"]),
    ("predict_steps_negative", lambda t: _reg().predict(_xy()[0], steps=-1, verbose=0), ValueError,
     ["steps=-1"]),
    ("validation_steps_float", lambda t: _fit(validation_split=0.25, validation_steps=1.5), TypeError,
     ["validation_steps", "1.5"]),
    ("epochs_negative", lambda t: _fit(epochs=-1), ValueError, ["epochs=-1"]),
    ("epochs_float", lambda t: _fit(epochs=2.5), TypeError, ["epochs", "2.5"]),
    ("initial_epoch_negative", lambda t: _fit(initial_epoch=-1), ValueError, ["initial_epoch=-1"]),
    ("initial_epoch_beyond_epochs", lambda t: _fit(epochs=2, initial_epoch=5), ValueError,
     ["initial_epoch=5", "epochs=2"]),
    ("validation_freq_zero", lambda t: _fit(validation_split=0.25, validation_freq=0), ValueError,
     ["validation_freq=0"]),
    ("verbose_word", lambda t: _fit(verbose="loud"), ValueError, ["verbose", "loud"]),
    ("shuffle_word", lambda t: _fit(shuffle="yes"), ValueError, ["shuffle", "'batch'", "yes"]),
    # ---- validation data ---------------------------------------------------------------
    ("validation_split_above_one", lambda t: _fit(validation_split=1.5), ValueError,
     ["validation_split", "1.5"]),
    ("validation_split_negative", lambda t: _fit(validation_split=-0.1), ValueError,
     ["validation_split", "-0.1"]),
    ("validation_split_with_generator", lambda t: _fit(x=_gen(), y=None, validation_split=0.2), ValueError,
     ["validation_split", "validation_data"]),
    ("validation_tuple_of_one", lambda t: _bad_validation((_xv(),)), ValueError,
     ["validation_data", "tuple of 1"]),
    ("validation_tuple_of_four", lambda t: _bad_validation((_xv(), _yv(), np.ones(10), 1)), ValueError,
     ["validation_data", "tuple of 4"]),
    ("validation_feature_mismatch", lambda t: _bad_validation((_xv(d=5), _yv())), ValueError,
     ["validation_data", "(5,)", "(3,)"]),
    ("validation_target_mismatch", lambda t: _bad_validation((_xv(), _yv(k=4))), ValueError,
     ["validation_data", "(4,)", "(2,)"]),
    ("validation_length_mismatch", lambda t: _bad_validation((_xv(n=10), _yv(n=7))), ValueError,
     ["cardinality", "10", "7"]),
    ("validation_y_missing", lambda t: _bad_validation((_xv(), None)), ValueError,
     ["validation_data", "y", "None"]),
    # ---- class_weight -------------------------------------------------------------------
    ("class_weight_unknown_class", lambda t: _fit_clf(class_weight={0: 1.0, 1: 2.0, 7: 3.0}), ValueError,
     ["class_weight", "7", "3 classes"]),
    ("class_weight_negative_class", lambda t: _fit_clf(class_weight={-1: 2.0}), ValueError,
     ["class_weight", "-1"]),
    ("class_weight_string_key", lambda t: _fit_clf(class_weight={"cat": 2.0}), ValueError,
     ["class_weight", "cat"]),
    ("class_weight_multi_output", lambda t: _fit(class_weight={0: 1.0}, y=[_xy()[1]]), ValueError,
     ["class_weight", "single output"]),
    ("two_outputs_one_target", lambda t: _fit_two_outputs(_xy()[1]), ValueError,
     ["2 output", "['o1', 'o2']", "1 target"]),
    ("y_dict_unknown_output", lambda t: _fit_two_outputs({"o1": _xy()[1], "zz": _xy(k=1)[1]}), ValueError,
     ["y", "zz", "['o1', 'o2']"]),
    ("y_dict_missing_output", lambda t: _fit_two_outputs({"o1": _xy()[1]}), ValueError,
     ["missing", "o2"]),
    ("dict_x_for_sequential", lambda t: _fit(x={"features": _xy()[0]}), ValueError,
     ["one input", "features"]),
    ("ragged_y", lambda t: _fit(y=[[1.0, 2.0]] * (N - 1) + [[1.0]]), ValueError, ["`y`", "lengths"]),
    ("generator_yields_none", lambda t: _fit(x=iter([None, None]), y=None), ValueError, ["x is None"]),
    ("class_weight_not_a_dict", lambda t: _fit_clf(class_weight=[1.0, 2.0, 3.0]), ValueError,
     ["class_weight", "dict", "[1.0, 2.0, 3.0]"]),
    ("class_weight_nan_value", lambda t: _fit_clf(class_weight={0: float("nan")}), ValueError,
     ["class_weight", "finite", "nan"]),
    ("sample_weight_tensor_nan", lambda t: _fit(sample_weight=keras.tensor(_with(np.ones(N), 0, np.nan))),
     ValueError, ["sample_weight", "NaN"]),
    ("predict_steps_zero", lambda t: _reg().predict(_xy()[0], steps=0, verbose=0), ValueError, ["steps=0"]),
    ("evaluate_verbose_five", lambda t: _reg().evaluate(*_xy(), verbose=5), ValueError, ["verbose=5"]),
    ("initial_epoch_float", lambda t: _fit(initial_epoch=0.5), TypeError, ["initial_epoch=0.5"]),
    ("hinge_target_shape", lambda t: _fit(model=_reg(loss="hinge"), y=np.zeros((N, 5), np.float32)),
     ValueError, ["(64, 5)", "(None, 2)"]),
    ("lr_callable_negative", lambda t: _fit(model=_reg(optimizer=keras.optimizers.SGD(learning_rate=lambda: -1.0))),
     ValueError, ["learning_rate", "-1.0", "callable"]),
    # ---- learning rates -------------------------------------------------------------------
    ("lr_negative", lambda t: keras.optimizers.SGD(learning_rate=-0.1), ValueError,
     ["learning_rate", "-0.1"]),
    ("lr_nan", lambda t: keras.optimizers.Adam(learning_rate=float("nan")), ValueError,
     ["learning_rate", "nan"]),
    ("lr_inf", lambda t: keras.optimizers.RMSprop(learning_rate=float("inf")), ValueError,
     ["learning_rate", "inf"]),
    ("lr_set_negative_later", lambda t: _set_lr(-1.0), ValueError, ["learning_rate", "-1.0"]),
    ("lr_string", lambda t: keras.optimizers.SGD(learning_rate="fast"), ValueError, ["learning_rate", "fast"]),
    ("lr_schedule_returns_nan", lambda t: _schedule_nan(), ValueError, ["learning_rate", "nan", "Bad"]),
    ("lr_nan_in_saved_state", lambda t: keras.optimizers.SGD().set_state(
        {"iterations": np.array(0), "learning_rate": np.array(np.nan)}), ValueError,
     ["learning_rate", "nan", "saved"]),
    # ---- callbacks and models built wrongly ---------------------------------------------
    ("checkpoint_dir_under_a_file", _checkpoint_under_file, ValueError, ["ModelCheckpoint", "a_file"]),
    ("checkpoint_unknown_format_key", _checkpoint_bad_key, ValueError,
     ["ModelCheckpoint", "val_los", "val_loss"]),
    ("functional_duplicate_layer_names", lambda t: _duplicate_names(), ValueError,
     ["dense_same", "2 times", "unique"]),
    ("fit_before_compile", lambda t: keras.Sequential([keras.Input((D,)), layers.Dense(2)]).fit(*_xy()),
     RuntimeError, ["compile()"]),
    ("unknown_loss_name", lambda t: keras.Sequential([layers.Dense(1)]).compile("sgd", "mean_sqared_error"),
     ValueError, ["mean_sqared_error"]),
    ("loss_list_wrong_length", lambda t: _fit(model=_reg(loss=["mse", "mae"])), ValueError,
     ["2 losses", "1 outputs"]),
]


@pytest.mark.parametrize("build, error, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fault_gets_a_clear_error(build, error, words, tmp_path):
    with pytest.raises(error) as info:
        build(str(tmp_path))
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}: {message}"
    # A clear error is ours, not a NumPy or attribute error passed through from deep inside.
    assert type(info.value).__module__ == "builtins"
    assert "operands could not be broadcast" not in message
    assert "has no attribute" not in message


def test_there_are_enough_cases():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


# ---- silent failures, now fixed ------------------------------------------------------------

def _ran_out(record):
    return [w for w in record if "ran out of data" in str(w.message)]


def test_predict_steps_beyond_the_arrays_returns_each_row_once():
    model = _reg()
    x, _ = _xy()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = model.predict(x, batch_size=32, steps=3, verbose=0)
    assert out.shape == (N, 2)
    np.testing.assert_array_equal(out, model.predict(x, batch_size=32, verbose=0))
    assert _ran_out(record)


def test_evaluate_steps_beyond_the_arrays_counts_each_sample_once():
    model = _reg()
    x, y = _xy()
    w = np.linspace(0.5, 2.0, N)  # different samples weigh differently: a second pass would show
    full = model.evaluate(x, y, sample_weight=w, batch_size=32, verbose=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        more = model.evaluate(x, y, sample_weight=w, batch_size=24, steps=5, verbose=0)
    assert more == pytest.approx(full, rel=1e-5)
    assert _ran_out(record)


def test_fit_steps_per_epoch_beyond_the_arrays_sees_each_sample_once_per_epoch():
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = _fit(batch_size=32, steps_per_epoch=3, epochs=2, callbacks=[Count()])
    assert seen == [0, 1, 0, 1]
    assert len(history.history["loss"]) == 2 and _ran_out(record)


def test_exhausted_generator_stops_fit_with_a_warning_and_no_phantom_epoch():
    ends = []

    class Ends(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(epoch)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = _fit(x=_gen(n_batches=4), y=None, steps_per_epoch=2, epochs=5, callbacks=[Ends()])
    assert ends == [0, 1]
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2
    assert _ran_out(record)


def test_generator_running_out_mid_epoch_keeps_that_epoch_and_stops():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = _fit(x=_gen(n_batches=3), y=None, steps_per_epoch=2, epochs=4)
    assert history.epoch == [0, 1]
    assert history.history["loss"][0] != history.history["loss"][1]
    assert _ran_out(record)


def test_batch_size_none_still_means_32():
    steps = []

    class Count(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            steps.append(batch)

    out = _reg().predict(_xy()[0], batch_size=None, callbacks=[Count()], verbose=0)
    assert out.shape == (N, 2) and steps == [0, 1]


def test_train_and_validation_losses_agree_for_saturated_sigmoid():
    model = keras.Sequential([keras.Input((1,)), layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "binary_crossentropy")
    model.layers[0].set_weights([np.array([[1000.0]], np.float32), np.zeros(1, np.float32)])
    x = np.array([[20.0], [-20.0], [0.5], [-0.5]], np.float32)
    y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
    train_loss = model.train_on_batch(x, y)  # the loss before the (zero-size) update
    test_loss = model.test_on_batch(x, y)
    history = model.fit(x, y, validation_data=(x, y), epochs=1, batch_size=4, verbose=0)
    z = x.astype(np.float64) * 1000.0  # the logits: -log sigmoid(z) = softplus(-z), exactly
    exact = np.mean(np.logaddexp(0, z) - y * z)
    assert train_loss == pytest.approx(exact, rel=1e-5)  # (clipped probabilities give 8.06)
    assert test_loss == pytest.approx(train_loss, rel=1e-6)
    assert history.history["val_loss"][0] == pytest.approx(history.history["loss"][0], rel=1e-6)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(train_loss, rel=1e-6)


def test_softmax_outputs_give_equal_train_and_test_losses():
    model = keras.Sequential([keras.Input((D,)), layers.Dense(K, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    w = np.random.default_rng(3).standard_normal((D, K)).astype(np.float32) * 300
    model.layers[0].set_weights([w, np.zeros(K, np.float32)])
    x, _ = _xy()
    y = _labels()
    z = x.astype(np.float64) @ w
    exact = np.mean(np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1) - z[np.arange(N), y])
    train_loss = model.train_on_batch(x, y)
    assert train_loss == pytest.approx(exact, rel=1e-5)  # from the logits, not clipped at 16.1
    assert model.test_on_batch(x, y) == pytest.approx(train_loss, rel=1e-6)


def test_unsaturated_bce_matches_keras():
    keras_ref = pytest.importorskip("keras", reason="the Keras cross-check needs keras")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, D)).astype(np.float32)
    y = rng.integers(0, 2, (16, 1)).astype(np.float32)
    w = rng.standard_normal((D, 1)).astype(np.float32)
    ours = _binary()
    ours.layers[0].set_weights([w, np.zeros(1, np.float32)])
    theirs = keras_ref.Sequential([keras_ref.Input((D,)), keras_ref.layers.Dense(1, activation="sigmoid")])
    theirs.compile("sgd", "binary_crossentropy")
    theirs.layers[0].set_weights([w, np.zeros(1, np.float32)])
    expected = theirs.evaluate(x, y, verbose=0)
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert ours.test_on_batch(x, y) == pytest.approx(expected, rel=1e-5)


def test_activity_regularizer_losses_do_not_pile_up_outside_fit():
    model = keras.Sequential([keras.Input((D,)), layers.Dense(4, activity_regularizer="l2"),
                              layers.Dense(2, activity_regularizer="l1")])
    x, _ = _xy()

    def held():
        return sum(len(layer._losses) for layer in model._all_layers())

    model.predict(x, verbose=0)
    after_one = held()
    for _ in range(3):
        model.predict(x, verbose=0)
        model.predict_on_batch(x)
        model(x)  # a PyTorch-style loop
    assert held() == after_one == len(model.losses) == 2
    model(x[:4]).sum().backward()  # the losses of the last call are those of that call
    assert len(model.losses) == 2


def test_activity_regularizer_still_counts_in_training():
    model = keras.Sequential([keras.Input((D,)), layers.Dense(2, activity_regularizer="l2")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    x, y = _xy()
    plain = keras.Sequential([keras.Input((D,)), layers.Dense(2)])
    plain.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    plain.set_weights(model.get_weights())
    assert model.train_on_batch(x, y) > plain.train_on_batch(x, y)


def test_predict_accepts_a_one_element_list_for_a_single_input_model():
    model = _reg()
    x, _ = _xy()
    np.testing.assert_array_equal(model.predict([x], verbose=0), model.predict(x, verbose=0))


def test_pydataset_yielding_lists_trains_as_tuples():
    x, y = _xy()
    model = _reg()
    start = model.get_weights()
    model.fit(_ListDataset([x, y]), epochs=1, verbose=0, shuffle=False)
    via_list = model.get_weights()
    twin = _reg()
    twin.set_weights(start)
    twin.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(via_list, twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert model.predict(_ListDataset([x]), verbose=0).shape == (N, 2)


def test_dict_targets_are_matched_by_output_name_not_by_order():
    x, _ = _xy()
    rng = np.random.default_rng(7)
    y1, y2 = rng.standard_normal((N, 2)).astype(np.float32), rng.standard_normal((N, 1)).astype(np.float32)
    model = _two_outputs()
    by_order = model.evaluate(x, [y1, y2], verbose=0)
    assert model.evaluate(x, {"o2": y2, "o1": y1}, verbose=0) == pytest.approx(by_order, rel=1e-6)


def test_validation_data_as_a_list_is_read_as_a_tuple():
    x, y = _xy()
    history = _fit(validation_data=[x[:10], y[:10]], epochs=1)
    assert "val_loss" in history.history


def test_learning_rate_zero_is_still_allowed():
    opt = keras.optimizers.SGD(learning_rate=0.0)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5


def test_soft_binary_labels_in_range_are_accepted():
    value = keras.losses.binary_crossentropy(np.array([[0.0, 0.25, 1.0]]), np.array([[0.1, 0.5, 0.9]]))
    assert np.all(np.isfinite(value.numpy()))
