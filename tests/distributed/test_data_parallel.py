"""DataParallel against one process, run as real MPI jobs (``mpiexec -n 2`` and ``-n 3``).

Each test starts ``mpiexec -n N python _scenarios.py <scenario> <tmpdir>`` and compares
what the ranks wrote with the same computation done here, in one process.
"""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import shendu
from shendu.testing import assert_allclose_normwise

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _scenarios as S  # noqa: E402

pytestmark = pytest.mark.mpi


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
requires_mpi = pytest.mark.skipif(
    MPIEXEC is None, reason="needs mpi4py and mpiexec: pip install 'shendu[mpi]'")


def run(n, scenario, out, *args, timeout=240, check=True, env=None):
    root = os.path.dirname(os.path.dirname(HERE))
    environ = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   **(env or {}))
    cmd = [MPIEXEC, "-n", str(n), sys.executable, os.path.join(HERE, "_scenarios.py"),
           scenario, str(out), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=environ)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _weights(npz):
    keys = sorted((k for k in npz.files if k.startswith("arr_")), key=lambda k: int(k[4:]))
    return [npz[k] for k in keys]


@requires_mpi
def test_averaged_gradient_equals_full_batch_gradient(tmp_path):
    run(2, "grads", tmp_path)
    got = np.load(tmp_path / "grads.npz")
    assert int(got["buckets"]) > 1  # overlapped buckets, not one buffer
    model = S.convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = S.data(16)
    loss = model.compute_loss(x, y, model(x, training=True))
    loss.backward()
    for g, v in zip(_weights(got), model.trainable_weights):
        assert_allclose_normwise(g, v.grad.numpy(), rtol=1e-5)  # ranks sum in another order


def _one_process_fit(n_samples, steps, epochs, batch_size=16):
    model = S.convnet()
    model.compile(optimizer=shendu.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = S.data(n_samples)
    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True,
                     steps_per_epoch=steps, verbose=0)
    return model, hist


@requires_mpi
@pytest.mark.parametrize("ranks,global_batch", [(2, 16), (3, 18)])
def test_ranks_take_the_same_adam_steps_as_one_process(tmp_path, ranks, global_batch):
    run(ranks, "train", tmp_path, global_batch)
    got = np.load(tmp_path / "train.npz")
    model, hist = _one_process_fit(64, 3, 1, batch_size=global_batch)
    for a, b in zip(_weights(got), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # measured: 8e-7 (2 ranks)
    assert abs(float(got["loss"]) - hist.history["loss"][-1]) < 1e-5


@requires_mpi
def test_uneven_epochs_with_shuffling_match_one_process(tmp_path):
    run(2, "train_epochs", tmp_path)
    got = np.load(tmp_path / "epochs.npz")
    model, hist = _one_process_fit(70, None, 2)
    for a, b in zip(_weights(got), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # measured: 1.6e-6
    np.testing.assert_allclose(got["loss"], hist.history["loss"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["accuracy"], hist.history["accuracy"], rtol=0, atol=1e-7)


@requires_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_uneven_evaluate_equals_one_process(tmp_path, ranks):
    run(ranks, "evaluate", tmp_path)
    got = np.load(tmp_path / "evaluate.npz")
    model = S.convnet()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", shendu.metrics.SparseTopKCategoricalAccuracy(k=2)])
    x, y = S.data(37)
    sw = np.linspace(0.5, 1.5, 37).astype(np.float32)
    cases = {"plain": model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True),
             "weighted": model.evaluate(x, y, sample_weight=sw, batch_size=10, verbose=0,
                                        return_dict=True),
             "tiny": model.evaluate(x[:1], y[:1], batch_size=10, verbose=0, return_dict=True)}
    for tag, logs in cases.items():
        for key, value in logs.items():
            # Accuracies are exact; the loss differs by float32 summation order (measured 1.2e-7).
            assert abs(float(got[f"{tag}_{key}"]) - value) <= 3e-7, (tag, key)


@requires_mpi
def test_a_failing_rank_stops_the_others_with_its_name(tmp_path):
    start = time.monotonic()
    proc = run(2, "fail", tmp_path, check=False, timeout=120, env={"SHENDU_TEST_TIMEOUT": "10"})
    assert proc.returncode != 0
    assert "RankFailedError: shendu.distributed: rank 1 failed: ValueError: boom on purpose" \
        in proc.stderr, proc.stderr
    assert time.monotonic() - start < 60


@requires_mpi
def test_a_stalled_rank_is_named_after_the_timeout(tmp_path):
    proc = run(2, "stall", tmp_path, check=False, timeout=120, env={"SHENDU_TEST_TIMEOUT": "3"})
    assert proc.returncode != 0
    assert "DistributedTimeoutError" in proc.stderr and "rank(s) [1] did not arrive" in proc.stderr, \
        proc.stderr


@requires_mpi
def test_only_rank_0_writes_checkpoints_and_resume_matches(tmp_path):
    run(2, "checkpoint", tmp_path)
    markers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("saved-by"))
    assert markers == ["saved-by-rank0-epoch1", "saved-by-rank0-epoch2"]
    r0, r1 = np.load(tmp_path / "resume-rank0.npz"), np.load(tmp_path / "resume-rank1.npz")
    np.testing.assert_array_equal(r0["resumed"], r1["resumed"])
    np.testing.assert_allclose(r0["resumed"], r0["straight"], rtol=0, atol=1e-6)


def test_importing_shendu_does_not_import_mpi4py():
    code = ("import sys, shendu, shendu.distributed; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HERE))))


def test_default_threads_share_the_node():
    from shendu.distributed import default_num_threads
    cores = os.cpu_count()
    assert default_num_threads(1) in (cores, len(os.sched_getaffinity(0)))
    assert default_num_threads(cores * 4) == 1
