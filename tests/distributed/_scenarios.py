"""Programs the MPI tests run under ``mpiexec -n N python _scenarios.py <name> <outdir>``.

Each scenario writes what it measured as .npz files in ``outdir`` (rank 0 only unless
stated), so the test (a separate, single process) compares them with a 1-process run.
"""
import os
import sys
import time

import numpy as np

import shendu
from shendu import distributed as dist
from shendu import layers


def convnet(seed=0):
    shendu.utils.set_random_seed(seed)
    model = shendu.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.Dense(3, activation="softmax"),
    ])
    return model


def data(n=64, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    return x, y


def grads(out):
    """The averaged gradient of one step on rank r's half of a batch of 16."""
    model = convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(16)
    strategy = dist.DataParallel(bucket_bytes=1024)  # several buckets
    with strategy:
        shard = _ShardOf(x, y, dist.rank(), dist.size())
        variables = model.trainable_weights
        with shendu.no_grad():
            model(x[:1])
        y_pred = model(shard[0], training=True)
        loss = model.compute_loss(shard[0], shard[1], y_pred)
        with strategy.synchronize_gradients(variables):
            loss.backward()
    if dist.rank() == 0:
        np.savez(os.path.join(out, "grads.npz"), *[v.grad.numpy() for v in variables],
                 buckets=len(strategy._reducer.buckets))


def _ShardOf(x, y, r, n):
    k = len(x) // n
    return x[r * k:(r + 1) * k], y[r * k:(r + 1) * k]


def train(out, global_batch=16, steps=3, n_samples=64):
    """Adam for a few steps at a global batch; saves the weights (rank 0)."""
    model = convnet()
    model.compile(optimizer=shendu.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data(n_samples)
    with dist.DataParallel():
        hist = model.fit(x, y, batch_size=global_batch // dist.size(), epochs=1, shuffle=True,
                         steps_per_epoch=steps, verbose=0)
    if dist.rank() == 0:
        np.savez(os.path.join(out, "train.npz"), *model.get_weights(),
                 loss=hist.history["loss"][-1])


def train_epochs(out, global_batch=16):
    """Two full epochs with an uneven last batch (70 samples) and shuffling."""
    model = convnet()
    model.compile(optimizer=shendu.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data(70)
    with dist.DataParallel():
        hist = model.fit(x, y, batch_size=global_batch // dist.size(), epochs=2, verbose=0)
    if dist.rank() == 0:
        np.savez(os.path.join(out, "epochs.npz"), *model.get_weights(),
                 loss=hist.history["loss"], accuracy=hist.history["accuracy"])


def evaluate(out):
    """evaluate on 37 samples at batch 5 per rank: uneven shards and a padding-only rank."""
    model = convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", shendu.metrics.SparseTopKCategoricalAccuracy(k=2)])
    x, y = data(37)
    sw = np.linspace(0.5, 1.5, 37).astype(np.float32)
    with dist.DataParallel():
        plain = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
        weighted = model.evaluate(x, y, sample_weight=sw, batch_size=5, verbose=0,
                                  return_dict=True)
        tiny = model.evaluate(x[:1], y[:1], batch_size=5, verbose=0, return_dict=True)
    if dist.rank() == 0:
        np.savez(os.path.join(out, "evaluate.npz"),
                 **{f"plain_{k}": v for k, v in plain.items()},
                 **{f"weighted_{k}": v for k, v in weighted.items()},
                 **{f"tiny_{k}": v for k, v in tiny.items()})


def fail(out):
    """Rank 1 raises in its third step; the others must stop, naming it."""
    model = convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(64)

    class Boom(shendu.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if dist.rank() == 1 and batch == 2:
                raise ValueError("boom on purpose")

    with dist.DataParallel(timeout=float(os.environ.get("SHENDU_TEST_TIMEOUT", "10"))):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[Boom()])


def stall(out):
    """Rank 1 sleeps in its second step; the others must time out, naming it."""
    model = convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(64)

    class Sleep(shendu.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if dist.rank() == 1 and batch == 1:
                time.sleep(600)

    with dist.DataParallel(timeout=float(os.environ.get("SHENDU_TEST_TIMEOUT", "4"))):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[Sleep()])


def checkpoint(out):
    """ModelCheckpoint under N ranks: only rank 0 writes; all ranks resume from its file and
    end where an uninterrupted run ends."""
    x, y = data(64)

    class Checkpoint(shendu.callbacks.ModelCheckpoint):
        def _save_model(self, epoch, batch, logs):
            open(os.path.join(out, f"saved-by-rank{dist.rank()}-epoch{epoch + 1}"), "w").close()
            super()._save_model(epoch, batch, logs)

    def compiled():
        model = convnet()
        model.compile(optimizer=shendu.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        return model

    path = os.path.join(out, "ckpt-{epoch}.keras")
    with dist.DataParallel():
        straight = compiled()
        straight.fit(x, y, batch_size=8, epochs=3, verbose=0)
        model = compiled()
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Checkpoint(path)])
        dist.barrier()
        resumed = shendu.saving.load_model(path.format(epoch=2))
        resumed.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    np.savez(os.path.join(out, f"resume-rank{dist.rank()}.npz"),
             resumed=np.concatenate([w.ravel() for w in resumed.get_weights()]),
             straight=np.concatenate([w.ravel() for w in straight.get_weights()]))


if __name__ == "__main__":
    name, outdir = sys.argv[1], sys.argv[2]
    globals()[name](outdir, *[int(a) for a in sys.argv[3:]])
