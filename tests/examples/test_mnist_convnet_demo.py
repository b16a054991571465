"""`make demo`'s program, run as a user would, offline, on the bundled sample."""
import os
import subprocess
import sys

import numpy as np
import pytest

import shendu


@pytest.mark.slow
def test_demo_runs_offline_on_bundled_sample(tmp_path):
    env = dict(os.environ, SHENDU_OFFLINE="1", SHENDU_HOME=str(tmp_path / "home"))
    out = tmp_path / "demo.shendu"
    proc = subprocess.run([sys.executable, "-m", "shendu.examples.mnist_convnet", "--epochs", "1",
                           "--verbose", "2", "--output", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "bundled MNIST sample" in lines[0] and "not found" in lines[0]
    assert any(l.startswith("Test loss:") for l in lines)
    acc = float([l for l in lines if l.startswith("Test loss:")][0].split("Test accuracy:")[1].split()[0])
    assert acc > 0.85, f"one epoch on the sample: {acc}"
    assert out.exists() and out.stat().st_size > 0
    model = shendu.models.load_model(str(out))  # the saved file is a loadable model
    assert model.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape == (2, 10)


def test_demo_help_says_how_long():
    proc = subprocess.run([sys.executable, "-m", "shendu.examples.mnist_convnet", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "per epoch" in proc.stdout
