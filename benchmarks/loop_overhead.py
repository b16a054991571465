"""How much of a `fit` step is the loop itself (batching, shuffling, metrics, callbacks, bar)?

Runs one epoch of the reference convnet on the MNIST sample two ways and reports medians:
  fit:    model.fit(..., epochs=1, verbose=1) with the progress bar going to a pipe;
  manual: the same steps with the batches sliced in advance and no metrics or callbacks:
          forward, the same loss, backward, optimizer update.
overhead = (fit - manual) / manual.   Usage: python benchmarks/loop_overhead.py [repeats]
"""
import io
import statistics
import sys
import time
import warnings
from contextlib import redirect_stdout

import numpy as np

import shendu as keras
from shendu.examples.mnist_convnet import build_model


def main(repeats=3):
    warnings.simplefilter("ignore")
    (x, y), _ = keras.datasets.mnist.load_sample()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    fit_times, manual_times = [], []
    for r in range(repeats):
        keras.utils.set_random_seed(r)
        model = build_model()
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(),
                      metrics=["accuracy"])
        model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)  # build everything once
        t0 = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            model.fit(x, y, batch_size=128, epochs=1, verbose=1)
        fit_times.append(time.perf_counter() - t0)

        batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(x), 128)]
        variables = model.trainable_weights
        t0 = time.perf_counter()
        for xb, yb in batches:
            for v in variables:
                v.grad = None
            y_pred = model(xb, training=True)
            loss, _ = model.compute_loss(xb, yb, y_pred)
            loss.backward()
            model.optimizer.apply([v.grad for v in variables], variables)
        manual_times.append(time.perf_counter() - t0)
    f, m = statistics.median(fit_times), statistics.median(manual_times)
    steps = -(-len(x) // 128)
    print(f"steps per epoch: {steps}")
    print(f"fit epoch:    median {f:.3f} s ({1000 * f / steps:.1f} ms/step) over {repeats} runs: "
          + ", ".join(f"{t:.3f}" for t in fit_times))
    print(f"manual epoch: median {m:.3f} s ({1000 * m / steps:.1f} ms/step) over {repeats} runs: "
          + ", ".join(f"{t:.3f}" for t in manual_times))
    print(f"loop overhead: {100 * (f - m) / m:+.1f}% of a training step")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
