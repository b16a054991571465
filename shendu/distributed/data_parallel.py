"""``DataParallel``: synchronous data-parallel training over MPI ranks.

Each of the N ranks holds a full copy of the model. At every step:

1. the ranks take disjoint shards of one global batch of ``batch_size x N`` samples, cut
   from the epoch's shuffled order, which rank 0 draws from shendu's generator (exactly as
   one process would) and broadcasts;
2. each rank runs forward and backward on its shard. As soon as the gradients of a
   *bucket* of variables are final (the engine reports each one through
   ``autograd.engine.gradient_ready_hook``), the bucket is summed over the ranks with a
   non-blocking ``Iallreduce`` while backward goes on with the earlier layers;
3. every rank divides by N and applies the same update, so the weights stay identical.

With the loss a mean over the batch ("sum_over_batch_size", the default), the averaged
gradient is the gradient of the global batch: 1 process at batch size 2B and 2 ranks at
``batch_size=B`` take the same steps, up to the order of floating-point sums.

The last global batch of an epoch may be short. It is split as evenly as possible, and
rank r's gradient is weighted by ``N * n_r / n`` (n_r its samples, n the step's), which
makes the average the exact mean over the n samples (regularization terms included, since
the weights sum to N). A rank left with no sample runs one padding sample with weight 0
and its metrics are left untouched, so every rank runs the same number of steps and
``evaluate`` gives the single-process result.

Metrics: after every step the metric states (sums and counts) are summed over the ranks
and the callbacks see the global values, so ``EarlyStopping`` or ``ReduceLROnPlateau``
decide the same on every rank.

Learning rate: the global batch grows with N. The linear scaling rule (Goyal et al. 2017,
"Accurate, Large Minibatch SGD") multiplies the single-process learning rate by N,
ideally with a few epochs of warm-up; with Adam a smaller factor (sqrt(N)) is often
better. It is not applied unless asked: ``DataParallel(scale_learning_rate=True)`` or
``scale_learning_rate(lr)``.

What differs from one process: Dropout draws its masks per rank, and BatchNormalization
normalizes each rank's shard with that shard's statistics (its moving averages are
rank 0's when saved); neither is synchronized.
"""
import contextlib
import sys
import traceback

import numpy as np

from ..autograd import engine
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..trainers.data_adapters import ArrayAdapter, _take, flatten_arrays
from ..trainers.strategy import Strategy


class DataParallel(Strategy):
    """Synchronous data parallelism across the MPI ranks of the job.

    Use it around ``fit``/``evaluate``, or give it to ``compile``::

        with shendu.distributed.DataParallel():
            model.fit(x, y, batch_size=64, epochs=3)          # global batch 64 x size()
        model.compile(..., distribute=shendu.distributed.DataParallel())

    and launch with ``mpiexec -n 4 python train.py``. Only rank 0 prints the progress bar
    and runs the callbacks that write (``ModelCheckpoint``, ``CSVLogger``, and any
    callback with ``rank_zero_only = True``).

    Args:
        bucket_bytes: the size of the gradient buffers reduced at once: larger buckets
            mean fewer messages, smaller ones start communicating earlier in backward.
        timeout: seconds any collective may wait for the other ranks before raising an
            error that names the ranks that did not arrive (default 60).
        scale_learning_rate: multiply a fresh optimizer's learning rate by ``size()`` (the
            linear scaling rule) at the start of ``fit``; a resumed optimizer
            (``iterations > 0``) already has its scaled rate and is left alone.
    """

    def __init__(self, bucket_bytes=4 << 20, timeout=60.0, scale_learning_rate=False):
        from . import init
        self.comm = init(timeout=timeout)
        self.comm.timeout = float(timeout)
        self.rank, self.size = self.comm.rank, self.comm.size
        self.bucket_bytes = int(bucket_bytes)
        self.scale_learning_rate = bool(scale_learning_rate)
        self._reducer = None
        self._grad_scale = 1.0
        self._model = None
        self._skip_metrics = None   # metric states to restore after a padding-only step

    def __exit__(self, exc_type, exc, tb):
        super().__exit__(exc_type, exc, tb)
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            from .comm import DistributedError
            if not isinstance(exc, DistributedError):
                # Print it now: once the others know, the job may end before we get further.
                print(f"shendu.distributed: rank {self.rank} failed:", file=sys.stderr)
                traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
                sys.stderr.flush()
                exc._shendu_reported = True
                self.comm.notify_failure(exc)  # the others must not wait for us
        return False

    # ---- what runs where -----------------------------------------------------------------
    def distribute_data(self, adapter, model):
        self._model = model
        if isinstance(adapter, ArrayAdapter):
            return _ShardedArrays(adapter, self)
        # Generators and datasets: each rank reads its own stream (shard it yourself with
        # rank() and size()); every rank must then yield the same number of batches.
        self._grad_scale = 1.0
        return adapter

    def verbose(self, verbose):
        return verbose if self.rank == 0 else 0

    def callbacks(self, callbacks):
        if self.rank == 0 or not callbacks:
            return callbacks
        from ..callbacks import CSVLogger, ModelCheckpoint, ProgbarLogger
        writers = (CSVLogger, ModelCheckpoint, ProgbarLogger)
        callbacks = [callbacks] if not isinstance(callbacks, (list, tuple)) else callbacks
        return [cb for cb in callbacks
                if not isinstance(cb, writers) and not getattr(cb, "rank_zero_only", False)]

    # ---- the same model on every rank ------------------------------------------------------
    def on_train_begin(self, model):
        """Build the model if needed, then give every rank rank 0's weights, optimizer state
        and learning rate (at the start of every fit, so after loading a checkpoint too)."""
        data = getattr(self, "_data", None)
        if not model.weights and data is not None:
            with no_grad():  # build from one sample, in inference mode (no state changes)
                model(_take(data.adapter.x, slice(0, 1)), training=False)
        opt = model.optimizer
        if self.scale_learning_rate and int(opt.iterations.data) == 0:
            if callable(opt._learning_rate):
                raise ValueError("DataParallel(scale_learning_rate=True) scales a float learning "
                                 "rate; for a schedule, build it from "
                                 "shendu.distributed.scale_learning_rate(initial_rate)")
            opt.learning_rate = opt.learning_rate * self.size
        state = {k: v for k, v in opt._all_state().items() if k != "learning_rate"}
        arrays = [v.data for v in model.weights] + list(state.values())
        self.comm.broadcast(arrays, "the broadcast of rank 0's weights and optimizer state")
        if not callable(opt._learning_rate):
            lr = np.array([opt.learning_rate], dtype=np.float64)
            self.comm.broadcast([lr], "the broadcast of the learning rate")
            opt.learning_rate = float(lr[0])

    # ---- gradients ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def synchronize_gradients(self, variables):
        variables = list(variables)
        if self._reducer is None or self._reducer.ids != [id(v) for v in variables]:
            self._reducer = _GradientReducer(self.comm, variables, self.bucket_bytes)
        self._reducer.begin(self._grad_scale)
        with engine.gradient_ready_hook(self._reducer.ready):
            yield
        self._reducer.finish()

    # ---- metrics -------------------------------------------------------------------------------
    def reduce_logs(self, model, logs):
        """The step's logs computed from the metric states summed over all ranks."""
        states = _metric_variables(model)
        if isinstance(self._skip_metrics, str):  # a padding-only first step: nothing counted yet
            model.reset_metrics()
        elif self._skip_metrics is not None:     # a padding-only step counts for nothing
            for v, saved in zip(states, self._skip_metrics):
                v.data[...] = saved
        self._skip_metrics = None
        if not states or not getattr(model, "_metrics_built", False):
            return logs
        local = [v.data.copy() for v in states]
        buffer = np.concatenate([a.ravel().astype(np.float64) for a in local])
        self.comm.allreduce(buffer, "the reduction of the metrics")
        offset = 0
        try:
            for v in states:
                v.data[...] = buffer[offset:offset + v.data.size].reshape(v.data.shape)
                offset += v.data.size
            merged = dict(logs)
            merged.update(model._logs())
            return merged
        finally:
            for v, a in zip(states, local):
                v.data[...] = a

    def _enter_padding_step(self):
        states = _metric_variables(self._model)
        self._skip_metrics = [v.data.copy() for v in states] if states else "reset"


def _metric_variables(model):
    if not getattr(model, "_metrics_built", False):
        return []
    metrics = list(model.metrics) + list(getattr(model, "_output_loss_trackers", []))
    return [v for m in metrics for v in m.variables]


class _ShardedArrays:
    """This rank's part of every global batch of an ``ArrayAdapter``'s epoch.

    Global step s covers positions ``[s*G, s*G + n)`` of the epoch's order (G =
    ``batch_size * size``, n = G except at the end); rank r takes
    ``[r*n//size, (r+1)*n//size)`` of them.
    """

    def __init__(self, adapter, strategy):
        self.adapter, self.strategy = adapter, strategy
        self.comm = strategy.comm
        self.global_batch = adapter.batch_size * strategy.size
        strategy._data = self

    @property
    def num_batches(self):
        full = -(-self.adapter.num_samples // self.global_batch)
        return full if self.adapter.steps is None else min(self.adapter.steps, full)  # no wrapping

    def __iter__(self):
        a, comm = self.adapter, self.comm
        n_all, size, rank = a.num_samples, comm.size, comm.rank
        order = None
        if a.shuffle:
            order = a.epoch_order(self.global_batch) if rank == 0 else np.empty(n_all, np.int64)
            order = np.ascontiguousarray(order, dtype=np.int64)
            comm.broadcast([order], "the broadcast of the epoch's shuffled order")
        for step in range(self.num_batches):
            lo = step * self.global_batch
            n = min(lo + self.global_batch, n_all) - lo
            first, last = lo + rank * n // size, lo + (rank + 1) * n // size
            positions = np.arange(first, last) if last > first else np.array([lo])
            idx = order[positions] if order is not None else positions
            sw = _take(a.sample_weight, idx)
            if last > first:
                self.strategy._grad_scale = size * (last - first) / n
            else:  # nothing left for this rank: one sample that weighs nothing
                self.strategy._grad_scale = 0.0
                sw = _zero_weights(sw, a.y)
                self.strategy._enter_padding_step()
            yield _take(a.x, idx), _take(a.y, idx), sw


def _zero_weights(sw, y):
    if sw is None:
        n = len(flatten_arrays(y)[0]) if y is not None else 1
        return np.zeros(n, dtype=np.float32)
    if isinstance(sw, dict):
        return {k: np.zeros_like(v) for k, v in sw.items()}
    if isinstance(sw, list):
        return [np.zeros_like(v) for v in sw]
    return np.zeros_like(sw)


class _GradientReducer:
    """Sums gradients over the ranks in a few large buffers, each started when complete.

    Buckets are filled in reverse order of ``variables`` (backward finishes the last
    layers first) up to ``bucket_bytes``, one dtype per bucket.
    """

    def __init__(self, comm, variables, bucket_bytes):
        self.comm, self.ids = comm, [id(v) for v in variables]
        self.buckets, self.where = [], {}
        current, nbytes = None, 0
        for v in reversed(variables):
            if current is None or nbytes + v.data.nbytes > bucket_bytes and current["vars"] \
                    or current["dtype"] != v.data.dtype:
                current = {"vars": [], "dtype": v.data.dtype, "size": 0}
                self.buckets.append(current)
                nbytes = 0
            self.where[id(v)] = (len(self.buckets) - 1, current["size"])
            current["vars"].append(v)
            current["size"] += v.data.size
            nbytes += v.data.nbytes
        for b in self.buckets:
            b["buffer"] = np.empty(b["size"], dtype=b["dtype"])

    def begin(self, scale):
        self.scale = scale
        self.pending = []
        for b in self.buckets:
            b["ready"], b["started"] = 0, False

    def ready(self, leaf):
        """The engine's hook: ``leaf.grad`` is final."""
        spot = self.where.get(id(leaf))
        if spot is None:
            return
        bucket = self.buckets[spot[0]]
        bucket["ready"] += 1
        if bucket["ready"] == len(bucket["vars"]):
            self._start(bucket)
        self.comm.progress(self.pending)

    def _start(self, bucket):
        buf = bucket["buffer"]
        offset = 0
        for v in bucket["vars"]:
            n = v.data.size
            if v.grad is None:  # no gradient here (e.g. an unused branch): contributes zero
                buf[offset:offset + n] = 0
            else:
                buf[offset:offset + n] = v.grad.data.reshape(-1)
            offset += n
        if self.scale != 1.0:
            buf *= buf.dtype.type(self.scale)
        bucket["started"] = True
        self.pending.append(self.comm.iallreduce(buf))

    def finish(self):
        for b in self.buckets:
            if not b["started"]:
                self._start(b)
        self.comm.wait(self.pending, "the gradient allreduce")
        size = self.comm.size
        for b in self.buckets:
            buf = b["buffer"]
            offset = 0
            for v in b["vars"]:
                n = v.data.size
                g = buf[offset:offset + n].reshape(v.data.shape) / buf.dtype.type(size)
                v.grad = Tensor._from_op(g, None)
                offset += n
