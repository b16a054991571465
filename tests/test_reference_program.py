"""The project's reference program: the classic Keras MNIST convnet, run as written with
``import shendu as keras`` on the real MNIST sample (8,000 train / 2,000 held out)."""
import warnings

import numpy as np
import pytest

import shendu as keras
from shendu.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from shendu.models import Sequential


def _data():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_sample()
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)
    x_test = x_test.reshape(x_test.shape[0], 28, 28, 1)
    x_train, x_test = x_train / 255.0, x_test / 255.0  # float64 arrays, as in the program
    return (x_train, y_train), (x_test, y_test)


def _program(loss, y_train, y_test, epochs, seed=0, verbose=0):
    keras.utils.set_random_seed(seed)
    (x_train, _), (x_test, _) = _data()
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss=loss, optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=verbose,
                        validation_data=(x_test, y_test))
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=verbose)
    return model, history, test_loss, test_acc


@pytest.mark.slow
def test_reference_program_three_epochs_and_label_forms_agree(monkeypatch):
    from shendu.losses import losses as losses_module
    monkeypatch.setattr(losses_module, "_warned_integer_labels", False)  # once per process
    (_, y_train), (_, y_test) = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, h_cat, loss_cat, acc_cat = _program(keras.losses.categorical_crossentropy, y_train, y_test, 3)
    named = [w for w in caught if "sparse_categorical_crossentropy" in str(w.message)]
    assert len(named) == 1, "integer labels with categorical_crossentropy must warn once, naming the sparse loss"
    assert named[0].filename == __file__, "the warning must point at the user's code"
    assert acc_cat >= 0.93, f"held-out accuracy after 3 epochs: {acc_cat:.4f}"

    _, _, loss_sparse, acc_sparse = _program("sparse_categorical_crossentropy", y_train, y_test, 3)
    onehot_train = keras.utils.to_categorical(y_train, 10)
    onehot_test = keras.utils.to_categorical(y_test, 10)
    _, _, loss_onehot, acc_onehot = _program(keras.losses.categorical_crossentropy, onehot_train, onehot_test, 3)
    # Same seed, same data, mathematically the same loss: the same run.
    assert acc_sparse == acc_cat == acc_onehot
    np.testing.assert_allclose([loss_sparse, loss_onehot], loss_cat, rtol=1e-5)


@pytest.mark.slow
def test_reference_program_ten_epochs():
    (_, y_train), (_, y_test) = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, history, _, acc = _program(keras.losses.categorical_crossentropy, y_train, y_test, 10)
    assert acc >= 0.965, f"held-out accuracy after 10 epochs: {acc:.4f}"
    assert len(history.history["val_accuracy"]) == 10
