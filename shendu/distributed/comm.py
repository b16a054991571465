"""``Communicator``: the MPI calls data parallelism needs, none of which can hang forever.

Every collective is non-blocking (``Iallreduce``, ``Ibcast``) and waited on by polling
with a deadline. While it polls, a rank also reads a side channel (a duplicate of the
communicator) on which peers post two kinds of small message:

* ``FAILED``: "rank r raised this exception". The waiting rank raises
  :class:`RankFailedError` naming r, at once, instead of waiting for a collective that
  will never complete.
* ``WAITING``: "rank r has been waiting for collective k for half the timeout". When the
  deadline passes, the ranks that did not say so are the ones that stalled (or died), and
  :class:`DistributedTimeoutError` names them.

These messages cost nothing while all goes well: none is sent.

After such an error escapes, the process calls ``MPI_Abort`` (see ``install_excepthook``):
a rank stuck in a collective, or a stalled one, cannot be unwound any other way, and
``mpiexec`` then ends the whole job with a non-zero status.
"""
import os
import sys
import time
import traceback

import numpy as np

_FAILED, _WAITING, _ACK = 11, 12, 13   # tags on the side channel


class DistributedError(RuntimeError):
    """Another rank failed or stalled; this rank stops instead of hanging."""


class RankFailedError(DistributedError):
    """A peer rank raised an exception (its rank and message are in this error's text)."""


class DistributedTimeoutError(DistributedError):
    """A collective did not complete within the timeout; the text names the missing ranks."""


class Communicator:
    """An MPI communicator with deadline-bounded collectives.

    Args:
        comm: an ``mpi4py.MPI.Comm`` (COMM_WORLD by default).
        timeout: seconds a collective may wait for the slowest rank before every rank
            that is waiting raises :class:`DistributedTimeoutError`.
    """

    def __init__(self, comm=None, timeout=60.0):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.side = self.comm.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self.timeout = float(timeout)
        self._op = 0                      # collectives started so far (the same on every rank)
        self._waiting = {}                # rank -> last collective it said it was waiting for
        self._notified = False
        self._sends = []

    # ---- collectives ---------------------------------------------------------------------
    def iallreduce(self, buffer):
        """Start an in-place sum of ``buffer`` over all ranks; returns the request."""
        self._op += 1
        return self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)

    def allreduce(self, buffer, what="allreduce"):
        """Sum ``buffer`` (contiguous) over all ranks, in place, within the timeout."""
        self.wait([self.iallreduce(buffer)], what)
        return buffer

    def broadcast(self, arrays, what="broadcast", root=0):
        """Give every rank ``root``'s values of ``arrays`` (written in place)."""
        staged = [a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays]
        requests = []
        for a in staged:
            self._op += 1
            requests.append(self.comm.Ibcast(a, root=root))
        self.wait(requests, what)
        for a, s in zip(arrays, staged):
            if a is not s:
                a[...] = s

    def progress(self, requests):
        """Let MPI move pending non-blocking operations along (it has no thread of its own)."""
        if requests:
            self.MPI.Request.Testall(requests)

    def wait(self, requests, what):
        """Wait for ``requests``, watching the side channel; raise instead of hanging."""
        start = time.monotonic()
        announced = False
        pause = 1e-5
        while not self.MPI.Request.Testall(requests):
            self._read_side_channel()
            waited = time.monotonic() - start
            if not announced and waited > self.timeout / 2:
                announced = True
                self._post_all(np.array([self.rank, self._op], dtype=np.int64), _WAITING)
            if waited > self.timeout:
                self._read_side_channel()
                missing = [r for r in range(self.size) if r != self.rank
                           and self._waiting.get(r, -1) < self._op]
                raise DistributedTimeoutError(
                    f"shendu.distributed: rank {self.rank} waited more than {self.timeout:g} s "
                    f"for the other ranks in {what} (collective #{self._op}); rank(s) "
                    f"{missing or 'unknown'} did not arrive: they stalled or died")
            time.sleep(pause)
            pause = min(pause * 2, 2e-3)

    # ---- the side channel ----------------------------------------------------------------
    def _post_all(self, array, tag):
        for r in range(self.size):
            if r != self.rank:
                self._sends.append(self.side.Isend(array, dest=r, tag=tag))

    def _read_side_channel(self):
        MPI = self.MPI
        status = MPI.Status()
        while self.side.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            source, tag, count = status.Get_source(), status.Get_tag(), status.Get_count(MPI.BYTE)
            buf = np.empty(count, dtype=np.uint8)
            self.side.Recv(buf, source=source, tag=tag)
            if tag == _WAITING:
                r, op = buf.view(np.int64)
                self._waiting[int(r)] = max(self._waiting.get(int(r), -1), int(op))
            elif tag == _FAILED:
                self._sends.append(self.side.Isend(np.zeros(1, np.uint8), dest=source, tag=_ACK))
                self._notified = True   # the failing rank already knows; don't echo it back
                raise RankFailedError(f"shendu.distributed: rank {source} failed: "
                                      f"{buf.tobytes().decode('utf-8', 'replace')}")

    def notify_failure(self, exc):
        """Tell every other rank that this one failed with ``exc``; wait (up to the timeout)
        until they have read it, so their errors can name this rank before the job ends."""
        if self._notified or self.size == 1:
            return
        self._notified = True
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._post_all(np.frombuffer(text.encode("utf-8")[:4000], dtype=np.uint8).copy(), _FAILED)
        acks, deadline = 0, time.monotonic() + self.timeout
        status = self.MPI.Status()
        while acks < self.size - 1 and time.monotonic() < deadline:
            if self.side.Iprobe(source=self.MPI.ANY_SOURCE, tag=_ACK, status=status):
                self.side.Recv(np.empty(1, np.uint8), source=status.Get_source(), tag=_ACK)
                acks += 1
            else:
                time.sleep(1e-3)
        # A peer acknowledges before it prints its RankFailedError; aborting at once could
        # end the job mid-print and lose the message that names this rank. Give it a moment
        # (the peer's own abort usually ends the job first).
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)  # let mpiexec forward what this rank printed: Abort drops the rest
        self.comm.Abort(code)


def install_excepthook(communicator):
    """On an uncaught exception: print it, tell the other ranks, then end the whole job.

    Without this, a rank that raises leaves the others blocked in their next collective,
    and mpiexec waits for them forever.
    """
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, DistributedError):
            # The line that names the culprit first: the traceback after it may be cut
            # off when the job is aborted.
            sys.stderr.write(f"{exc_type.__name__}: {exc}\n")
            sys.stderr.flush()
        if not getattr(exc, "_shendu_reported", False):
            previous(exc_type, exc, tb)
        try:
            # A peer's failure or a timeout is already known to (or unreachable by) the others.
            if not issubclass(exc_type, (DistributedError, KeyboardInterrupt)):
                communicator.notify_failure(exc)
        finally:
            communicator.abort(1)

    sys.excepthook = hook
    return previous


def cores_per_node():
    """The cores this process may use (its CPU affinity), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1
