"""``TensorBoard``: training curves and weight histograms as TensorBoard event files.

Writes with the ``tensorboard`` package (``pip install tensorboard``), imported when the
first event is written; TensorFlow is not needed.
"""
import os
import time

import numpy as np

from .callback import Callback


def _summary_api():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError("The TensorBoard callback writes event files with the tensorboard "
                          "package: pip install tensorboard") from None
    return EventFileWriter, event_pb2, summary_pb2


class _Writer:
    """One event file folder (``train`` or ``validation``)."""

    def __init__(self, logdir):
        writer_cls, self._event_pb2, self._summary_pb2 = _summary_api()
        os.makedirs(logdir, exist_ok=True)
        self._writer = writer_cls(logdir)

    def _write(self, step, value):
        summary = self._summary_pb2.Summary(value=[value])
        self._writer.add_event(self._event_pb2.Event(wall_time=time.time(), step=int(step),
                                                     summary=summary))

    def scalar(self, tag, value, step):
        self._write(step, self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value)))

    def histogram(self, tag, values, step, bins=30):
        """A histogram of ``values`` in ``bins`` equal buckets (TensorBoard's HistogramProto:
        bucket i counts the values in (limit[i-1], limit[i]])."""
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if v.size == 0:
            return
        counts, edges = np.histogram(v, bins=bins if v.min() < v.max() else 1)
        histo = self._summary_pb2.HistogramProto(
            min=float(v.min()), max=float(v.max()), num=float(v.size), sum=float(v.sum()),
            sum_squares=float(np.dot(v, v)), bucket_limit=[float(e) for e in edges[1:]],
            bucket=[float(c) for c in counts])
        self._write(step, self._summary_pb2.Summary.Value(tag=tag, histo=histo))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()


class TensorBoard(Callback):
    """Log the metrics of ``fit`` (and ``evaluate``) and weight histograms for TensorBoard.

    Files go to ``log_dir/train`` and ``log_dir/validation``; view them with
    ``tensorboard --logdir log_dir``. Tags are Keras's: ``epoch_loss``, ``epoch_<metric>``
    (validation metrics under the same names in ``validation``), ``epoch_learning_rate``,
    ``batch_<metric>`` every ``update_freq`` batches, ``evaluation_<metric>_vs_iterations``
    after each validation, and ``<weight path>/histogram`` every ``histogram_freq`` epochs.

    Args:
        log_dir: the folder of the event files.
        histogram_freq: epochs between weight histograms (0: none).
        write_graph: accepted; shendu writes no graph (TensorBoard's graph view needs a
            TensorFlow graph).
        write_images: accepted; weight images are not written.
        write_steps_per_second: also log ``epoch_steps_per_second``/``batch_steps_per_second``.
        update_freq: ``'epoch'``, ``'batch'`` or an int N: log batch metrics every N batches.
        profile_batch: only 0 (shendu has no profiler to start).
        embeddings_freq, embeddings_metadata: accepted; embeddings are not written.

    Example:
        >>> cb = TensorBoard(log_dir="logs", histogram_freq=1)   # model.fit(..., callbacks=[cb])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if not (update_freq in ("epoch", "batch")
                or (isinstance(update_freq, int) and update_freq > 0)):
            raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive "
                             f"integer. Received: update_freq={update_freq!r}")
        if profile_batch not in (0, None, (0, 0), "0"):
            raise ValueError("TensorBoard: shendu has no profiler, so profile_batch must be 0. "
                             f"Received: profile_batch={profile_batch!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError("TensorBoard: `histogram_freq` must be a non-negative integer. "
                             f"Received: histogram_freq={histogram_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph, self.write_images = write_graph, write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start = self._batch_start = None
        self._epoch_steps = 0

    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = _Writer(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is None:
            return None
        try:
            return float(np.asarray(getattr(rate, "numpy", lambda: rate)()))
        except (TypeError, ValueError):
            return None

    # ---- training --------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._writer("train")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start, self._epoch_steps = time.time(), 0

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._epoch_steps += 1
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second and self._batch_start is not None:
            elapsed = max(time.time() - self._batch_start, 1e-9)
            writer.scalar("batch_steps_per_second", 1.0 / elapsed, self._global_train_batch)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.scalar(f"batch_{name}", value, self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        rate = self._learning_rate()
        if rate is not None:
            train["learning_rate"] = rate
        if self.write_steps_per_second and self._epoch_start is not None:
            train["steps_per_second"] = self._epoch_steps / max(time.time() - self._epoch_start,
                                                                1e-9)
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    if np.ndim(value) == 0:
                        writer.scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                path = getattr(weight, "path", None) or f"{layer.name}/{weight.name}"
                writer.histogram(f"{path.replace(':', '_')}/histogram", weight.numpy(), epoch)

    def on_train_end(self, logs=None):
        self._close()

    # ---- evaluation ------------------------------------------------------------------
    def on_test_end(self, logs=None):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None or not logs:
            return
        step = int(np.asarray(getattr(iterations, "numpy", lambda: iterations)()))
        writer = self._writer("validation")
        for name, value in logs.items():
            if np.ndim(value) == 0:
                writer.scalar(f"evaluation_{name}_vs_iterations", value, step)
        writer.flush()

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
