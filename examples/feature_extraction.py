"""Feature extraction and fine-tuning: cut a trained convnet at an inner layer.

    python examples/feature_extraction.py

The pattern of Keras's transfer-learning guide, on data made here (no download):

1. train a small convnet ``base`` to tell four stroke shapes apart (task A);
2. cut it at its ``features`` layer: ``keras.Model(base.inputs,
   base.get_layer("features").output)`` is a model that shares the base's layers and
   weights;
3. freeze that extractor and train a new head on a new task (task B: where in the
   image the stroke is), then unfreeze it and fine-tune everything with a small
   learning rate.

The images are 16x16 with one stroke (horizontal, vertical, diagonal or a blob) at a
random place, plus noise. Task B's labels (left, middle or right third) are never seen
by the base, so the head must learn them from the base's features.
"""
import argparse

import numpy as np

import shendu as keras
from shendu import layers

SIZE = 16


def make_images(n, seed):
    """(images, shape labels for task A, position labels for task B)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.15, (n, SIZE, SIZE, 1)).astype(np.float32)
    shape = rng.integers(0, 4, n)
    col = rng.integers(2, SIZE - 6, n)
    row = rng.integers(2, SIZE - 6, n)
    for i in range(n):
        r, c = row[i], col[i]
        if shape[i] == 0:
            x[i, r + 2, c:c + 5, 0] += 1.0          # horizontal stroke
        elif shape[i] == 1:
            x[i, r:r + 5, c + 2, 0] += 1.0          # vertical stroke
        elif shape[i] == 2:
            x[i, r + np.arange(5), c + np.arange(5), 0] += 1.0   # diagonal
        else:
            x[i, r + 1:r + 4, c + 1:c + 4, 0] += 0.7             # blob
    position = np.digitize(col + 2, [SIZE / 3, 2 * SIZE / 3])    # 0, 1, 2: left, middle, right
    return x, shape, position


def make_base():
    return keras.Sequential([
        keras.Input((SIZE, SIZE, 1)),
        layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2"),
        layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="features"),
        layers.Dense(4, activation="softmax", name="shape_head"),
    ], name="base")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--samples", type=int, default=1200)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x, shape, position = make_images(args.samples, seed=0)
    x_test, shape_test, position_test = make_images(400, seed=1)

    # 1. Task A: the base learns the stroke shapes.
    base = make_base()
    base.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    base.fit(x, shape, epochs=args.epochs, batch_size=64, verbose=0)
    _, base_acc = base.evaluate(x_test, shape_test, verbose=0)
    print(f"base (task A, shapes): test accuracy {base_acc:.3f}")

    # 2. Cut it at an inner layer: a model sharing the base's layers and weights.
    extractor = keras.Model(base.inputs, base.get_layer("features").output, name="extractor")
    print(f"extractor: {extractor.inputs[0].shape} -> {extractor.output.shape}")

    # 3. Task B with a new head on the frozen extractor.
    extractor.trainable = False
    inputs = keras.Input((SIZE, SIZE, 1))
    features = extractor(inputs)
    outputs = layers.Dense(3, activation="softmax", name="position_head")(
        layers.Dense(32, activation="relu", name="position_hidden")(features))
    model = keras.Model(inputs, outputs, name="position_model")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    frozen_kernel = base.get_layer("conv1").kernel.numpy()
    model.fit(x, position, epochs=args.epochs, batch_size=64, verbose=0)
    assert np.array_equal(frozen_kernel, base.get_layer("conv1").kernel.numpy())
    _, head_acc = model.evaluate(x_test, position_test, verbose=0)
    print(f"new head on frozen features (task B, positions): test accuracy {head_acc:.3f}")

    # Fine-tuning: unfreeze, recompile (so the change takes effect) with a small rate.
    extractor.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, position, epochs=max(1, args.epochs // 2), batch_size=64, verbose=0)
    _, tuned_acc = model.evaluate(x_test, position_test, verbose=0)
    print(f"after fine-tuning everything: test accuracy {tuned_acc:.3f}")
    return {"base": base_acc, "frozen_head": head_acc, "fine_tuned": tuned_acc}


if __name__ == "__main__":
    main()
