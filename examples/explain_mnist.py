"""Why does the convnet say "7"? Grad-CAM, integrated gradients and saliency on MNIST digits.

    python examples/explain_mnist.py                       # writes explain_mnist.png
    python examples/explain_mnist.py --epochs 2 --digits 8 --output out/explain.png

Trains the reference Keras MNIST convnet (shendu.examples.mnist_convnet) briefly on the
bundled 8,000-digit sample (full MNIST when its files are found), then explains its
predictions on held-out digits with three methods of ``shendu.explain`` and writes one PNG
grid: each row a digit, then its Grad-CAM map (last conv layer, upsampled), its integrated
gradients (64 Gauss-Legendre steps from a black image) and its saliency |d p/d x|.
It also prints integrated gradients' completeness on the trained model: how far the
attributions' sum is from p(x) - p(black).
"""
import argparse
import sys
import time

import numpy as np

import shendu as keras
from shendu import explain, layers
from shendu.examples.mnist_convnet import build_model, load


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-images", type=int, default=None,
                   help="train on the first N training images only (default: all)")
    p.add_argument("--digits", type=int, default=6, help="digits in the picture")
    p.add_argument("--steps", type=int, default=64, help="integrated-gradients steps")
    p.add_argument("--data-path", default=None, help="folder holding MNIST's IDX files")
    p.add_argument("--output", default="explain_mnist.png")
    p.add_argument("--time", action="store_true",
                   help="also time integrated gradients on 32 digits against one forward + "
                        "backward pass over 32 x steps digits")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    ((x_train, y_train), (x_test, y_test)), message = load("mnist", args.data_path)
    print(message)
    keras.utils.set_random_seed(args.seed)
    x_train = (x_train.reshape(-1, 28, 28, 1) / 255.0).astype("float32")[:args.train_images]
    y_train = y_train[:args.train_images]
    x_test = (x_test.reshape(-1, 28, 28, 1) / 255.0).astype("float32")

    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=2)
    _, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"held-out accuracy {acc:.3f}")

    digits = x_test[:args.digits]
    last_conv = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)][-1]
    cam = explain.grad_cam(model, digits, last_conv.name)
    ig, delta = explain.integrated_gradients(model, digits, steps=args.steps)
    sal = explain.saliency(model, digits)
    probs = np.asarray(model.predict(digits, verbose=0), np.float64)
    pred = probs.argmax(axis=1)
    gap = probs[np.arange(len(digits)), pred] - np.asarray(
        model.predict(np.zeros_like(digits), verbose=0), np.float64)[np.arange(len(digits)), pred]
    completeness = np.abs(delta) / np.maximum(np.abs(gap), 1e-12)
    print(f"predicted {pred.tolist()}, labels {y_test[:args.digits].tolist()}")
    print(f"integrated gradients, {args.steps} steps: |sum - (p(x) - p(black))| / |p(x) - "
          f"p(black)| = {completeness.max():.2e} at most")
    if args.time:
        _time_integrated_gradients(model, x_test[:32], args.steps)
    try:
        from shendu.explain.plot import heatmap_grid
        path = heatmap_grid(digits, {"Grad-CAM": cam, "integrated gradients": ig,
                                     "saliency": sal}, args.output)
        print(f"wrote {path}")
    except ImportError:
        print("matplotlib is not installed: no picture (pip install 'shendu[plot]')")
    return completeness


def _time_integrated_gradients(model, x, steps, repeats=3):
    """Integrated gradients on ``x`` against one plain forward + backward over the same
    number of rows (len(x) * steps), the cost its stacked batch should stay close to.
    Best of ``repeats``, in wall time and in this process's CPU time (steadier on a
    shared machine)."""
    def best(fn):
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return min(wall), min(cpu)

    def plain():
        rows = keras.tensor(np.repeat(x, steps, axis=0), requires_grad=True)
        model(rows, training=False)[:, 0].sum().backward()

    p_wall, p_cpu = best(plain)
    i_wall, i_cpu = best(lambda: explain.integrated_gradients(model, x, steps=steps))
    print(f"integrated gradients on {len(x)} digits x {steps} steps: {i_wall:.2f} s wall, "
          f"{i_cpu:.2f} s CPU; one forward + backward over {len(x) * steps} digits: "
          f"{p_wall:.2f} s wall, {p_cpu:.2f} s CPU (ratio {i_wall / p_wall:.2f} wall, "
          f"{i_cpu / p_cpu:.2f} CPU)")


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
