"""Progbar output, captured (stdout is not a tty under capsys)."""
import re

import numpy as np

from shendu.utils import Progbar

BAR = "━" * 20


def plain(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_non_tty_prints_only_the_final_line(capsys):
    bar = Progbar(63)
    for step in range(1, 64):
        bar.update(step, [("accuracy", 0.5), ("loss", 2.0)])
    out = capsys.readouterr().out
    assert "\r" not in out and out.count("\n") == 1
    assert re.fullmatch(rf"63/63 {BAR} 0s \d+[mu]?s/step - accuracy: 0.5000 - loss: 2.0000\n",
                        out), out


def test_counter_is_padded_to_the_target_width(capsys):
    bar = Progbar(100)
    bar.update(7, finalize=True)
    assert capsys.readouterr().out.startswith("  7/100 " + "━" * 1 + "─" * 19 + " ")


def test_values_are_running_averages_weighted_by_steps(capsys):
    bar = Progbar(10, verbose=1)
    bar._dynamic_display = True
    bar.interval = 0.0
    bar.update(1, [("loss", 4.0)])
    bar.update(3, [("loss", 1.0)])  # covers two steps
    out = plain(capsys.readouterr().out)
    draws = out.split("\r")[1:]
    assert draws[0].startswith(" 1/10 " + "━" * 2 + "━" * 18)
    assert "- loss: 4.0000" in draws[0]
    assert "- loss: 2.0000" in draws[1]  # (4 + 1 + 1) / 3
    assert re.search(r" 3/10 ━{20} \d+s \d+[mu]?s/step", draws[1])


def test_dynamic_display_redraws_in_place_with_eta_then_total(capsys):
    bar = Progbar(3, interval=0.0)
    bar._dynamic_display = True
    for step in (1, 2, 3):
        bar.update(step, [("loss", 1.0)])
    raw = capsys.readouterr().out
    assert raw.count("\r") == 3 and raw.endswith("\n") and raw.count("\n") == 1
    assert "\x1b[32m" in raw  # the finished part is green
    last = plain(raw.split("\r")[-1])
    assert last.startswith("3/3 " + BAR + " 0s ")


def test_redraws_are_throttled_by_interval(capsys):
    bar = Progbar(1000, interval=60.0)
    bar._dynamic_display = True
    for step in range(1, 1000):
        bar.update(step, [("loss", 1.0)])
    assert capsys.readouterr().out.count("\r") == 1  # only the first draw


def test_stateful_metrics_shown_as_given(capsys):
    bar = Progbar(2, stateful_metrics=["acc"])
    bar.update(1, [("acc", 0.2), ("loss", 1.0)])
    bar.update(2, [("acc", 0.8), ("loss", 3.0)], finalize=False)
    bar.update(2, [], finalize=True)
    out = capsys.readouterr().out
    assert out.endswith("- acc: 0.8000 - loss: 2.0000\n")


def test_small_values_use_scientific_notation_and_arrays_are_averaged(capsys):
    bar = Progbar(1)
    bar.update(1, [("lr", 1e-5), ("mae", np.array([1.0, 3.0]))])
    assert capsys.readouterr().out.endswith("- lr: 1.0000e-05 - mae: 2.0000\n")


def test_verbose_2_prints_one_line_at_the_end(capsys):
    bar = Progbar(63, verbose=2)
    for step in range(1, 63):
        bar.update(step, [("accuracy", 0.25), ("loss", 1.5)])
    assert capsys.readouterr().out == ""
    bar.update(63, [("accuracy", 0.9), ("loss", 0.3), ("val_accuracy", 0.85)])
    out = capsys.readouterr().out
    assert re.fullmatch(r"63/63 - 0s - \d+[mu]?s/step - accuracy: 0.9000 - loss: 0.3000 - "
                        r"val_accuracy: 0.8500\n", out), out


def test_verbose_0_is_silent_and_add_advances(capsys):
    bar = Progbar(4, verbose=0)
    bar.add(2, [("loss", 1.0)])
    bar.add(2)
    assert capsys.readouterr().out == ""
    bar = Progbar(4)
    bar.add(2, [("loss", 1.0)])
    bar.add(2, [("loss", 3.0)])
    assert capsys.readouterr().out.startswith("4/4 " + BAR)


def test_unknown_target(capsys):
    bar = Progbar(None)
    for step in range(1, 4):
        bar.update(step, [("loss", 1.0)])
    assert capsys.readouterr().out == ""
    bar.update(3, finalize=True)
    assert capsys.readouterr().out.startswith("      3/Unknown 0s ")


def test_time_formats():
    from shendu.utils.progbar import _format_eta, _format_time_per_unit
    assert _format_time_per_unit(2.4, "step") == "2s/step"
    assert _format_time_per_unit(0.045, "step") == "45ms/step"
    assert _format_time_per_unit(4e-5, "sample") == "40us/sample"
    assert _format_eta(42.7) == "42s"
    assert _format_eta(125) == "2:05"
    assert _format_eta(3725) == "1:02:05"


def test_stateless_metrics_are_the_only_ones_averaged():
    import pytest
    bar = Progbar(3, verbose=2, stateless_metrics=["loss"])
    bar.update(1, [("loss", 1.0), ("acc", 0.1)])
    bar.update(2, [("loss", 3.0), ("acc", 0.2)])
    bar.add(0)
    assert bar._values["loss"] == [4.0, 2] and bar._values["acc"] == [0.2, 1]
    with pytest.raises(ValueError, match="Only one of `stateful_metrics` or `stateless_metrics`"):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
