"""How much of a `fit` step is the loop itself (batching, shuffling, metrics, callbacks, bar)?

One epoch of the reference convnet on the MNIST sample (63 steps of 128) runs under
cProfile; the loop's share is the time of fit outside train_step plus, inside it, the
metric updates and log building -- everything that is not forward, loss, backward or the
optimizer. Attribution by profile is robust to the noise of a shared machine (a timed
A/B of two runs is not), and the profiler's own cost per call inflates the many small
loop functions more than the large array ops, so the figure errs high.

    python benchmarks/loop_overhead.py
"""
import cProfile
import io
import pstats
import warnings
from contextlib import redirect_stdout

import numpy as np

import shendu as keras
from shendu.examples.mnist_convnet import build_model

LOOP_PARTS = ("_update_metrics", "_logs")


def main():
    warnings.simplefilter("ignore")
    (x, y), _ = keras.datasets.mnist.load_sample()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(),
                  metrics=["accuracy"])
    model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)  # build everything once
    prof = cProfile.Profile()
    with redirect_stdout(io.StringIO()):
        prof.enable()
        model.fit(x, y, batch_size=128, epochs=1, verbose=1)
        prof.disable()
    stats = pstats.Stats(prof).stats
    cum = {}
    for (filename, _, name), (_, _, _, ct, _) in stats.items():
        if "trainer.py" in filename:
            cum[name] = cum.get(name, 0.0) + ct
    total, step = cum["fit"], cum["train_step"]
    loop = (total - step) + sum(cum.get(p, 0.0) for p in LOOP_PARTS)
    compute = total - loop
    print(f"fit, one epoch of 63 steps: {total:.3f} s under the profiler")
    print(f"  forward + loss + backward + optimizer: {compute:.3f} s ({1000 * compute / 63:.1f} ms/step)")
    print(f"  loop (batching, shuffling, metrics, logs, callbacks, progress bar): {loop * 1000:.1f} ms "
          f"({1000 * loop / 63:.2f} ms/step)")
    print(f"loop overhead: {100 * loop / compute:.2f}% of a training step")


if __name__ == "__main__":
    main()
