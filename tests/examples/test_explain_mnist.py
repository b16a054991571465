"""examples/explain_mnist.py trains the reference convnet briefly, explains held-out digits
and writes its picture; integrated gradients are complete to 1% on the trained model."""
import importlib.util
import pathlib

import numpy as np
import pytest


@pytest.mark.slow
def test_explain_mnist_example_writes_its_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the example's picture needs matplotlib")
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "explain_mnist.py"
    spec = importlib.util.spec_from_file_location("explain_mnist_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "explain.png"
    completeness = mod.main(["--train-images", "1000", "--digits", "3", "--steps", "64",
                             "--output", str(out)])
    assert completeness.shape == (3,) and np.all(completeness <= 0.01), completeness
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in capsys.readouterr().out
