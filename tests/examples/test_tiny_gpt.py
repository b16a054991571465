"""The tiny GPT example (MultiHeadAttention with a causal mask) trains: its loss falls well
below the uniform guess, and it samples text."""
import importlib.util
import pathlib

import pytest


@pytest.mark.slow
def test_tiny_gpt_example_trains_and_samples(capsys):
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tiny_gpt.py"
    spec = importlib.util.spec_from_file_location("tiny_gpt_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    losses = mod.main(["--epochs", "8", "--seq-len", "32", "--dim", "48", "--sample-length", "20"])
    out = capsys.readouterr().out
    assert "--- sample" in out
    # 45 distinct characters: a uniform guess costs ln 45 = 3.8 nats per character
    assert losses[0] > 3.0 and losses[-1] < 2.7, losses
