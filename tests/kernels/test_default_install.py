"""A plain ``pip install shendu`` gets the split thread path.

The split path (ops sharing a batch among shendu's threads while BLAS runs on one) needs
threadpoolctl to pin BLAS; without it every op runs whole and the reference convnet's
step is about a quarter slower. So threadpoolctl is a core dependency, not an extra.
These tests do not skip without it: a missing threadpoolctl is the failure they catch.
"""
import pathlib
import re

import numpy as np

from shendu.kernels import threads

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _core_dependencies():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]


def test_threadpoolctl_is_a_core_dependency():
    deps = _core_dependencies()
    assert "threadpoolctl" in deps, deps
    assert set(deps) <= {"numpy", "numba", "threadpoolctl"}  # the run-time dependencies, no more


def test_the_installed_metadata_requires_threadpoolctl_unconditionally():
    from importlib import metadata
    requires = metadata.requires("shendu") or []
    core = [r for r in requires if "extra ==" not in r]
    assert any(r.lower().startswith("threadpoolctl") for r in core), requires


def test_this_environment_can_pin_blas_and_split(monkeypatch):
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    limiter = threads._limit_blas(1)
    assert limiter is not None, "BLAS cannot be pinned: is threadpoolctl installed?"
    limiter.restore_original_limits()
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    assert threads._splittable() == 2
    with threads.owning_cores() as own:
        assert own.owned and threads.split_parallelism() == 2
    assert threads.split_parallelism() == 1
