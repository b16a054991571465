"""Data-parallel training across processes and machines, over MPI (``mpi4py``).

An optional part of shendu: ``pip install 'shendu[mpi]'`` brings ``mpi4py`` and the
``mpich`` wheel (or use the cluster's own MPI with an ``mpi4py`` built against it).
Importing shendu never imports mpi4py; ``init()`` (or the first ``DataParallel``) does.

    import shendu
    from shendu import distributed as dist

    with dist.DataParallel():                     # batch_size is per rank
        model.fit(x, y, batch_size=64, epochs=3)  # global batch: 64 x dist.size()

Launch one process per rank:

    mpiexec -n 4 python train.py                               # one machine
    mpiexec -n 8 -f hosts python train.py                      # MPICH, a host file
    srun -N 2 --ntasks-per-node=4 python train.py              # Slurm (PMI/PMIx-enabled MPI)

See ``DataParallel`` for what is synchronized and how results compare with one process.
"""
import os

from .comm import (DistributedError, DistributedTimeoutError,  # noqa: F401
                   RankFailedError)

_comm = None


def init(timeout=60.0, num_threads="auto"):
    """Start MPI (once) and return shendu's communicator.

    Args:
        timeout: seconds a collective may wait for the other ranks (default 60).
        num_threads: compute threads for this rank: ``"auto"`` divides the node's cores
            by the ranks on the node (so N ranks do not each grab every core), an int
            sets it, None leaves the thread settings alone.

    Raises:
        ImportError: if mpi4py (or the MPI library under it) is not installed.
    """
    global _comm
    if _comm is None:
        try:
            from mpi4py import MPI  # noqa: F401 - initializes MPI
        except ImportError as e:
            raise ImportError("shendu.distributed needs mpi4py and an MPI library: "
                              "pip install 'shendu[mpi]' (mpi4py + the mpich wheel), or "
                              f"an mpi4py built against your cluster's MPI ({e})") from e
        from .comm import Communicator, install_excepthook
        _comm = Communicator(timeout=timeout)
        install_excepthook(_comm)
        if num_threads == "auto":
            num_threads = default_num_threads(_comm.local_size)
        if num_threads:
            set_num_threads(int(num_threads))
    return _comm


def rank():
    """This process's rank in the job (0 .. size() - 1)."""
    return init().rank


def size():
    """The number of ranks in the job."""
    return init().size


def local_rank():
    """This process's rank among the ranks on its node (for choosing a device or cores)."""
    return init().local_rank


def local_size():
    """The number of ranks on this process's node."""
    return init().local_size


def is_initialized():
    return _comm is not None


def barrier():
    """Wait (within the timeout) until every rank gets here."""
    import numpy as np
    init().allreduce(np.zeros(1), "barrier")


def scale_learning_rate(learning_rate, rule="linear"):
    """The learning rate for a global batch ``size()`` times larger than one process's.

    ``"linear"`` multiplies by ``size()`` (Goyal et al. 2017; for SGD, with warm-up),
    ``"sqrt"`` by ``sqrt(size())`` (often better for Adam), ``"none"`` leaves it.
    """
    n = size()
    factors = {"linear": n, "sqrt": n ** 0.5, "none": 1}
    if rule not in factors:
        raise ValueError(f"scale_learning_rate: rule must be one of {sorted(factors)}; "
                         f"received rule={rule!r}")
    return learning_rate * factors[rule]


def default_num_threads(ranks_on_node):
    """The node's cores divided by the ranks on it (at least 1); a rank that the launcher
    already bound to fewer cores keeps those."""
    cores = os.cpu_count() or 1
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        allowed = cores
    share = max(1, cores // max(1, ranks_on_node))
    return allowed if allowed < share else share


def set_num_threads(n):
    """Limit this process's compute threads (BLAS, Numba) to ``n``."""
    from .. import config
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)  # for anything started later (and BLAS not loaded yet)
    config.set_num_threads(n)  # the one thread budget (shendu/kernels/threads.py)


def __getattr__(name):
    # DataParallel imports the trainer machinery; load it on first use.
    if name == "DataParallel":
        from .data_parallel import DataParallel
        return DataParallel
    raise AttributeError(f"module 'shendu.distributed' has no attribute {name!r}")


__all__ = ["init", "rank", "size", "local_rank", "local_size", "is_initialized", "barrier",
           "scale_learning_rate", "set_num_threads", "DataParallel", "DistributedError",
           "RankFailedError", "DistributedTimeoutError"]
