"""One thread budget for BLAS, Numba and shendu's own threads.

Policy, in two modes; at any moment only one pool is busy:

* Inside the steps of ``fit``/``evaluate``/``predict`` (``owning_cores()``, at the
  bottom of this file), BLAS runs on one thread, and the ops that can split their work
  over the batch (the conv + ReLU + pool op, the LSTM) run one part per core on
  shendu's threads, each part doing its products and kernels in its own cache.
* Everywhere else, the matrix products (BLAS) get the whole budget of ``n`` threads and
  every op runs whole.

The Numba kernels themselves are serial loops in both modes. Ops run one after another, so at any moment only one pool
is busy -- and there is only one pool: a Numba parallel region right after a BLAS call
finds the BLAS threads still spinning for work and both slow down (a naive mix of both
pools ran several times slower than either alone). The kernels are memory-bound passes
whose cost on 2 cores is dominated by bandwidth, so a second thread buys them little;
the BLAS products are compute-bound and scale.

Numba's own parallel loops were measured against this policy (benchmarks/MEASUREMENTS.md):
on its workqueue layer a training step gained a little but inference and the cold compile
lost more, and on its OpenMP layer (threads spin, as OpenBLAS's do) everything ran far
slower. The serial policy is the only one that cannot degrade into the OpenMP case when
a user's Numba picks that layer. (``SHENDU_NUMBA_PARALLEL=1`` turns ``prange`` on, to
repeat the measurement.)

``set_num_threads(n)`` sets BLAS's pool (through threadpoolctl when it is installed)
and Numba's (for kernels that may later use ``prange``; applied when Numba loads).
While ``shendu.config.enable_determinism()`` is on, BLAS stays pinned to one thread.
"""
import contextlib
import os
import sys
import threading

_STATE = {"n": None, "controller": None, "modules": 0}


def default_num_threads():
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def set_num_threads(n):
    """Use ``n`` threads for BLAS matrix products and Numba kernels (n >= 1)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int. Received: n={n}")
    _STATE["n"] = n
    if not _STATE.get("pinned"):  # enable_determinism() keeps BLAS at one thread
        _limit_blas(n)
    _apply_to_numba()


def _limit_blas(n):
    """Limit BLAS to ``n`` threads; the limiter (to restore from), or None without
    threadpoolctl (BLAS then keeps OMP_NUM_THREADS / OPENBLAS_NUM_THREADS)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    # The controller knows the libraries loaded when it was made; a BLAS that arrives
    # later (SciPy's, through an import) must be limited too, so it is made again whenever
    # a module has been imported since (a BLAS only ever arrives with an import).
    if _STATE["controller"] is None or _STATE["modules"] != len(sys.modules):
        _STATE["controller"] = ThreadpoolController()
        _STATE["modules"] = len(sys.modules)
    return _STATE["controller"].limit(limits=n, user_api="blas")


def pin_blas_to_one_thread(pin):
    """While pinned, BLAS products run on one thread, so their summation order does not
    depend on the thread count (``shendu.config.enable_determinism``); unpinning restores
    the limits from before (and a later ``set_num_threads``). Returns whether BLAS is
    pinned (False without threadpoolctl)."""
    if pin and not _STATE.get("pinned"):
        _STATE["pinned"] = _limit_blas(1)
    elif not pin and _STATE.get("pinned"):
        _STATE.pop("pinned").restore_original_limits()
        if _STATE["n"] is not None:
            _limit_blas(_STATE["n"])
    return bool(_STATE.get("pinned"))


def get_num_threads():
    """The thread count set by ``set_num_threads``, else the cores available."""
    return _STATE["n"] or default_num_threads()


def _apply_to_numba():
    if _STATE["n"] is None or "numba" not in sys.modules:
        return
    import numba
    numba.set_num_threads(min(_STATE["n"], numba.config.NUMBA_NUM_THREADS))


# ---- shendu's own threads: one op split over the batch -------------------------------------
# An op whose work splits into independent parts (the rows of a batch through a
# recurrence, the chunks of a convolution) can run each part on its own core with
# single-threaded BLAS, instead of calling multi-threaded BLAS for each product and then
# a serial kernel on results that sit half in the other core's cache.
#
# It pays only while no multi-threaded BLAS call happens around it: OpenBLAS's threads
# spin for a while after each call, and a split op that starts then shares the cores
# with them, and the step gets slower than not splitting at all. So ops split only inside
# ``owning_cores()`` -- the training, evaluation and prediction steps of
# ``fit``/``evaluate``/``predict`` and the ``*_on_batch`` methods -- which limit BLAS to
# one thread for the step (faster convnet steps and inference). A model none of whose ops
# splits (dense layers only) learns so in its first step and keeps BLAS's threads after
# it (the MLP is faster with BLAS on two threads). Outside the steps (a model called
# directly, user code between steps) BLAS has its threads and every op runs whole.
# (The numbers: benchmarks/MEASUREMENTS.md.)

_POOL = {"workers": None}
_OWNED = {"depth": 0, "limiter": None}


def _splittable():
    """The thread count, or 1 where splitting would change results across thread counts
    (``enable_determinism``) or BLAS cannot be limited to one thread (no threadpoolctl)."""
    n = get_num_threads()
    if n < 2 or _STATE.get("pinned"):
        return 1
    from .. import config
    if config.is_determinism_enabled():
        return 1
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return 1
    return n


class _Ownership:
    """What an ``owning_cores`` block learned: whether it owned the cores (``owned``) and
    then whether any op asked to split (``asked``)."""
    owned = asked = False


@contextlib.contextmanager
def owning_cores(try_split=True):
    """A block in which shendu owns the cores: BLAS on one thread, and ops that can split
    their work over the batch do so on shendu's threads (``split_parallelism() > 1``).
    Yields an object that says, after the block, whether it ``owned`` the cores and then
    whether any op ``asked`` to split; a caller that learned that its steps never do
    passes ``try_split=False`` next time, and BLAS keeps its threads (a model of dense
    layers only runs faster with BLAS's own threads). Nested blocks are one block; the
    state is the process's, so two threads that each run steps share one budget."""
    own = _Ownership()
    outer = _OWNED["depth"] == 0
    if outer and try_split and _splittable() > 1:
        _OWNED["limiter"] = _limit_blas(1)
        _OWNED["asked"] = False
        own.owned = _OWNED["limiter"] is not None
    _OWNED["depth"] += 1
    try:
        yield own
    finally:
        _OWNED["depth"] -= 1
        own.asked = bool(_OWNED.get("asked"))
        if outer and _OWNED["limiter"] is not None:
            _OWNED["limiter"].restore_original_limits()
            _OWNED["limiter"] = None


def split_parallelism():
    """How many parts an op may split its work into now: the thread count inside
    ``owning_cores()`` (where allowed), else 1."""
    if _OWNED["limiter"] is None:
        return 1
    _OWNED["asked"] = True
    return _splittable()


class _Workers:
    """Worker threads that each wait on their own lock for a task: a round trip of
    ``parallel`` costs less than through concurrent.futures (most of it is waking a
    sleeping thread)."""

    def __init__(self, n):
        # plain locks used as binary semaphores (taken here, released by the other
        # thread): C-level, unlike threading.Semaphore's Python-level Condition
        self.go = [_locked() for _ in range(n)]
        self.done = [_locked() for _ in range(n)]
        self.tasks, self.results, self.errors = [None] * n, [None] * n, [None] * n
        self.busy = threading.Lock()
        for i in range(n):
            threading.Thread(target=self._loop, args=(i,), name=f"shendu-{i + 1}",
                             daemon=True).start()

    def _loop(self, i):
        _LOCAL.worker = True
        while True:
            self.go[i].acquire()
            try:
                self.results[i] = self.tasks[i]()
            except BaseException as e:  # handed to the caller, raised there
                self.errors[i] = e
            finally:
                self.tasks[i] = None
                self.done[i].release()

    def run(self, fns):
        rest = fns[1:]
        for i, f in enumerate(rest):
            self.tasks[i], self.results[i], self.errors[i] = f, None, None
            self.go[i].release()
        try:
            first = fns[0]()
        finally:
            for i in range(len(rest)):
                self.done[i].acquire()
        for e in self.errors[:len(rest)]:
            if e is not None:
                raise e
        return [first] + self.results[:len(rest)]


_LOCAL = threading.local()


def _locked():
    lock = threading.Lock()
    lock.acquire()
    return lock


def parallel(fns):
    """Run the callables ``fns`` at once, the first on the calling thread and the others on
    shendu's worker threads, with BLAS limited to one thread; their results, in order.
    An exception in any of them is raised here after all have finished. Called from a
    worker, or while another thread's call is running, the callables run one by one."""
    if len(fns) == 1 or getattr(_LOCAL, "worker", False):
        return [f() for f in fns]
    workers = _POOL.get("workers")
    if workers is None or len(workers.go) < len(fns) - 1:
        # (a smaller pool's threads stay parked on their locks: a few idle daemons at most)
        workers = _POOL["workers"] = _Workers(len(fns) - 1)
    if not workers.busy.acquire(blocking=False):
        return [f() for f in fns]
    limiter = _limit_blas(1) if _OWNED["limiter"] is None else None
    try:
        return workers.run(fns)
    finally:
        workers.busy.release()
        if limiter is not None:
            limiter.restore_original_limits()
