"""The reference Keras MNIST convnet, run with ``import shendu as keras``.

    python -m shendu.examples.mnist_convnet                 # full MNIST if found, else the bundled sample
    python -m shendu.examples.mnist_convnet --dataset fashion_mnist --epochs 3

Takes about 5-10 s per epoch on the 8,000-digit bundled sample on a 2-core machine
(about 1 minute per epoch on full MNIST): run with --epochs 1 for a quick look.
"""
import argparse
import os
import sys
import time

import numpy as np

import shendu as keras
from shendu import layers
from shendu.datasets import fashion_mnist, mnist


def load(dataset, path):
    """(x_train, y_train), (x_test, y_test) and a sentence saying what was loaded and why."""
    module = {"mnist": mnist, "fashion_mnist": fashion_mnist}[dataset]
    try:
        data = module.load_data(path=path)
        return data, f"Training on full {dataset} ({len(data[0][0])} train / {len(data[1][0])} test images)."
    except FileNotFoundError as e:
        if dataset != "mnist":
            raise
        reason = str(e).splitlines()[0]
        data = mnist.load_sample()
        return data, ("Training on the bundled MNIST sample (8,000 train / 2,000 held-out digits) "
                      f"because the full MNIST files were not found ({reason}).")


def build_model():
    model = keras.Sequential()
    model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Dropout(0.25))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10, help="training epochs (default 10, as the Keras program)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    p.add_argument("--data-path", default=None, help="folder holding the dataset's IDX files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="mnist_convnet.shendu",
                   help="where to save the trained model (shendu's safe zip format; load it with "
                        "shendu.models.load_model)")
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    args = p.parse_args(argv)

    ((x_train, y_train), (x_test, y_test)), message = load(args.dataset, args.data_path)
    print(message)
    keras.utils.set_random_seed(args.seed)
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1) / 255.0
    x_test = x_test.reshape(x_test.shape[0], 28, 28, 1) / 255.0

    model = build_model()
    model.compile(loss=keras.losses.categorical_crossentropy, optimizer=keras.optimizers.Adam(),
                  metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        verbose=args.verbose, validation_data=(x_test, y_test))
    train_s = time.perf_counter() - t0
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {test_loss:.4f}  Test accuracy: {test_acc:.4f}  "
          f"(training took {train_s:.1f} s, {train_s / max(args.epochs, 1):.1f} s/epoch)")
    model.save(args.output)
    print(f"Saved the trained model to {args.output}")
    try:
        png = keras.utils.plot_history(history, os.path.splitext(args.output)[0] + ".png")
        print(f"Saved training curves to {png}")
    except ImportError:
        print("matplotlib is not installed: no training-curve PNG (pip install 'shendu[plot]')")
    return test_acc


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
