"""examples/feature_extraction.py: the base learns task A; a head on its cut-out features
learns task B with the base frozen (the example asserts its weights stay unchanged), and
fine-tuning the whole model improves on it."""
import importlib.util
import pathlib

import pytest


@pytest.mark.slow
def test_feature_extraction_example():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "feature_extraction.py"
    spec = importlib.util.spec_from_file_location("feature_extraction_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(["--epochs", "6", "--samples", "800"])
    assert acc["base"] > 0.9
    assert acc["frozen_head"] > 0.5          # chance is 1/3
    assert acc["fine_tuned"] > acc["frozen_head"]
