"""Sequential, Functional and subclassed models: building, summary, training, errors."""
import numpy as np
import pytest

import shendu
import shendu as keras
from shendu import layers


def _blobs(n=300, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, n)
    x = centers[y] + rng.standard_normal((n, d))
    return x.astype(np.float32), y


def test_sequential_builds_on_add_and_reports_shapes():
    model = keras.Sequential()
    model.add(layers.Dense(8, activation="relu", input_shape=(4,)))
    model.add(layers.Dense(3, activation="softmax"))
    assert model.built and model.output_shape == (None, 3)
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert [l.name for l in model.layers] == [model.layers[0].name, model.layers[1].name]
    assert model.get_layer(index=1) is model.layers[1]
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and len(model.layers) == 1


def test_sequential_shape_error_names_layer_at_add():
    model = keras.Sequential([keras.Input((28, 28, 1))])
    model.add(layers.Flatten())
    with pytest.raises(ValueError, match="expected"):
        model.add(layers.Reshape((5, 5), name="bad_reshape"))


def test_summary_prints_table(capsys):
    model = keras.Sequential([layers.Dense(8, input_shape=(4,), name="hidden"), layers.Dense(2, name="out")],
                             name="tiny")
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "tiny"' in out and "hidden (Dense)" in out and "(None, 8)" in out
    assert "Total params: 58" in out and "Trainable params: 58" in out


def test_fit_learns_blobs_and_history():
    shendu.utils.set_random_seed(1)
    x, y = _blobs()
    model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.Dense(3, activation="softmax")])
    # Adam(0.01): learns the blobs from any seed's initial weights (at the default 0.001,
    # 15 epochs reach 0.5 to 0.93 accuracy depending on the seed).
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0, validation_split=0.2)
    assert set(hist.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    probs = model.predict(x[:10], verbose=0)
    assert probs.shape == (10, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_same_seed_same_run_bit_for_bit():
    def run():
        shendu.utils.set_random_seed(7)
        x, y = _blobs(200)
        m = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dropout(0.2),
                              layers.Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return m.get_weights()
    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_functional_two_inputs_two_outputs_shared_layer_trains():
    shendu.utils.set_random_seed(2)
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(8, activation="relu", name="shared")
    ha, hb = shared(a), shared(b)
    merged = layers.Concatenate()([ha, hb])
    out_cls = layers.Dense(3, activation="softmax", name="cls")(merged)
    out_reg = layers.Dense(1, name="reg")(layers.Add()([ha, hb]))
    model = keras.Model(inputs=[a, b], outputs=[out_cls, out_reg])
    assert isinstance(model, keras.Model)
    assert sum(1 for l in model.layers if l is shared) == 1
    xa, y = _blobs(256)
    xb = xa[::-1].copy()
    yr = xa.sum(1, keepdims=True) + xb.sum(1, keepdims=True)
    # Adam(0.01): the loss falls well below 0.6x from any seed (at 0.001 it depends on the seed).
    model.compile(keras.optimizers.Adam(0.01),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.1}, metrics={"cls": ["accuracy"]})
    h = model.fit({"a": xa, "b": xb}, [y, yr], epochs=12, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < 0.6 * h.history["loss"][0]
    assert "cls_accuracy" in h.history and "reg_loss" in h.history
    p_cls, p_reg = model.predict([xa, xb], verbose=0)
    assert p_cls.shape == (256, 3) and p_reg.shape == (256, 1)


def test_subclassed_model_trains():
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(16, activation="relu")
            self.drop = layers.Dropout(0.1)
            self.out = layers.Dense(3)

        def call(self, x, training=None):
            return self.out(self.drop(self.hidden(x), training=training))

    shendu.utils.set_random_seed(3)
    model = MLP()
    x, y = _blobs()
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=10, verbose=0)
    assert len(model.trainable_weights) == 4
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9


def test_pytorch_style_loop_trains_same_layers():
    shendu.utils.set_random_seed(4)
    x, y = _blobs()
    l1, l2 = layers.Dense(16, activation="relu"), layers.Dense(3)
    opt = keras.optimizers.Adam(0.01)
    for epoch in range(30):
        logits = l2(l1(x))
        loss = shendu.ops.softmax_cross_entropy(logits, y).mean()
        params = l1.trainable_weights + l2.trainable_weights
        for p in params:
            p.grad = None
        loss.backward()
        opt.apply_gradients([(p.grad, p) for p in params])
    acc = (l2(l1(x)).numpy().argmax(1) == y).mean()
    assert acc > 0.9


def test_fit_before_compile_and_bad_data_fail_before_training():
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    x, y = _blobs(50)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    w0 = model.get_weights()
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:40], verbose=0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="label 7 .* out of range .* 3 classes"):
        model.fit(x, np.full(50, 7), verbose=0)
    with pytest.raises(ValueError, match="Did you mean"):
        model.compile("adamm", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="Did you mean"):
        model.compile("adam", "sparse_categorical_crossentropyy")
    for a, b in zip(w0, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_test_predict_on_batch_and_generators():
    shendu.utils.set_random_seed(5)
    x, y = _blobs(64)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert isinstance(model.test_on_batch(x, y, return_dict=True), dict)
    assert model.predict_on_batch(x).shape == (64, 3)

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]
    h = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2

    class Seq(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]
    assert len(model.fit(Seq(), epochs=1, verbose=0).history["loss"]) == 1
    assert np.isfinite(model.evaluate(Seq(), verbose=0)[0])


def test_class_weight_and_sample_weight_change_the_loss():
    x, y = _blobs(60)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    base = model.evaluate(x, y, verbose=0)
    sw = np.where(y == 0, 2.0, 0.0).astype(np.float32)
    weighted = model.evaluate(x, y, sample_weight=sw, verbose=0)
    assert not np.isclose(base, weighted)
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=1, verbose=0)


def test_verbose_progress_bar_output(capsys):
    x, y = _blobs(64)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=2, validation_data=(x, y))
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_accuracy" in out and "loss" in out


def test_fit_evaluate_predict_accept_a_dataset_pipeline():
    shendu.utils.set_random_seed(6)
    x, y = _blobs(256)
    ds = shendu.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=0).batch(32).prefetch(2)
    model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(ds, epochs=8, verbose=0)
    assert len(h.history["loss"]) == 8 and h.history["loss"][-1] < h.history["loss"][0]
    assert model.evaluate(shendu.data.Dataset.from_tensor_slices((x, y)).batch(64), verbose=0)[1] > 0.9
    assert model.predict(shendu.data.Dataset.from_tensor_slices(x).batch(100), verbose=0).shape == (256, 3)
