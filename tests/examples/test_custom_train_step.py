"""examples/custom_train_step.py: both hand-written steps train through fit (loss falls),
and validation runs the custom test_step."""
import importlib.util
import pathlib


def test_custom_train_step_example_trains():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "custom_train_step.py"
    spec = importlib.util.spec_from_file_location("custom_train_step_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    results = mod.main(["--epochs", "6"])
    custom, manual = results["CustomModel"], results["ManualMetricsModel"]
    assert custom["loss"][-1] < 0.2 * custom["loss"][0]
    assert manual["loss"][-1] < 0.2 * manual["loss"][0]
    assert set(custom) >= {"loss", "mae", "val_loss", "val_mae"}
    assert custom["val_loss"][-1] < custom["val_loss"][0]
