"""The character-level LSTM example trains (loss falls) and samples text."""
import importlib.util
import pathlib


def test_char_rnn_example_trains_and_samples(capsys):
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "char_rnn.py"
    spec = importlib.util.spec_from_file_location("char_rnn_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    loss, acc = mod.main(["--epochs", "10", "--sample-length", "30", "--units", "64"])
    out = capsys.readouterr().out
    assert "--- sample" in out and loss < 2.8
