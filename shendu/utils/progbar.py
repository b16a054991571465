"""``Progbar``: the Keras 3 progress bar, cheap enough to update every step."""
import math
import os
import sys
import time

import numpy as np

from .. import config as _config


def _interactive():
    """Whether stdout redraws in place (a terminal or a notebook), not a CI log."""
    stream = sys.stdout
    if hasattr(stream, "isatty"):
        try:
            if stream.isatty():
                return True
        except ValueError:  # a closed stream
            return False
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def _write(text):
    if _config.is_interactive_logging_enabled():
        sys.stdout.write(text)
        sys.stdout.flush()
    elif text.strip():
        _config.print_msg(text, line_break=False)


def _can_encode(text):
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _format_number(value):
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def _format_time_per_unit(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """Displays a progress bar with running metric averages.

    With ``verbose=1`` the line looks like::

          3/63 ━━━━━━━━━━━━━━━━━━━━ 2s 40ms/step - accuracy: 0.2183 - loss: 2.1201

    showing the ETA while running and the total time at the end. In a terminal
    or notebook it is redrawn in place at most every ``interval`` seconds; when
    stdout is not interactive (a CI log) only the final line is printed, so the
    log gets one line per epoch. ``verbose=2`` prints just that final line::

        63/63 - 3s - 45ms/step - accuracy: 0.9000 - loss: 0.3010

    Args:
        target: total number of steps, or None if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (bar) or 2 (one line at the end).
        interval: minimum seconds between two redraws.
        stateful_metrics: names of values shown as given; all others are shown
            as their average over the steps so far.
        unit_name: name of a step in the time-per-step display.

    Values are averaged over the steps so far, except that the final update's
    values are shown as given: the trainer passes the epoch's results there.

    Example:
        >>> bar = Progbar(3, verbose=2)
        >>> bar.update(1, [("loss", 1.0)])
        >>> bar.update(2, [("loss", 0.5)])
        >>> bar.update(3, [("loss", 0.7)])  # doctest: +ELLIPSIS
        3/3 - 0s - ...s/step - loss: 0.7000
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if target is not None and target < 0:
            raise ValueError(f"Progbar target must be None or >= 0; received target={target}")
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be "
                             "provided: the first names the metrics shown as given, the second "
                             "the only ones averaged over the steps.")
        # With stateless_metrics, only those are averaged; every other value is shown as given.
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        # With interactive logging off, one finished line per bar goes to the 'shendu' logger.
        self._dynamic_display = _interactive() and _config.is_interactive_logging_enabled()
        self._bar_char, self._todo_char = ("━", "─") if _can_encode("━─") else ("=", ".")
        self._seen_so_far = 0
        # name -> [weighted sum, weight] for averaged values, [value, 1] for stateful
        # ones, or the raw object for values that are not numbers.
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def update(self, current, values=None, finalize=None):
        """Record progress and redraw if due.

        Args:
            current: index of the current step (1-based count of steps done).
            values: list of ``(name, value)`` pairs for this step.
            finalize: whether this is the last update; default
                ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0:
            self._seen_so_far = current
            return
        for name, value in values or ():
            self._record(name, value, current, finalize)
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize and (not self._dynamic_display
                                 or now - self._last_update < self.interval):
                return
            self._draw_bar(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize:
            count = self._counter(current)
            line = f"{count} - {now - self._start:.0f}s - "
            line += _format_time_per_unit(time_per_unit, self.unit_name)
            line += self._metrics_text()
            _write(line + "\n")
        self._last_update = now

    def add(self, n, values=None):
        """Advance by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def _record(self, name, value, current, finalize):
        if name not in self._values:
            self._values_order.append(name)
        try:
            value = float(value)
        except (TypeError, ValueError):
            try:
                value = float(np.mean(value))
            except (TypeError, ValueError):
                self._values[name] = value
                return
        stateful = (name not in self.stateless_metrics if self.stateless_metrics is not None
                    else name in self.stateful_metrics)
        if finalize or stateful:
            # An end-of-epoch value is already the epoch's average.
            self._values[name] = [value, 1]
            return
        # Weight by the steps this value covers (add() may skip several at once).
        weight = max(current - self._seen_so_far, 1)
        entry = self._values.get(name)
        if isinstance(entry, list):
            entry[0] += value * weight
            entry[1] += weight
        else:
            self._values[name] = [value * weight, weight]

    def _metrics_text(self):
        parts = []
        for name in self._values_order:
            entry = self._values[name]
            if isinstance(entry, list):
                parts.append(f" - {name}: {_format_number(entry[0] / max(1, entry[1]))}")
            else:
                parts.append(f" - {name}: {entry}")
        return "".join(parts)

    def _counter(self, current):
        if self.target is None or self.target <= 0:
            return f"{current}"
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _draw_bar(self, current, now, time_per_unit, finalize):
        known = self.target is not None and self.target > 0
        if known:
            done = min(int(self.width * current / self.target), self.width)
            count = self._counter(current)
        else:
            count = "%7d/Unknown" % current
        if known and not finalize:
            when = _format_eta(time_per_unit * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        rest = " " + _format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()

        if self._dynamic_display:
            bold, green, grey, reset = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
            line = f"\r{bold}{count}{reset}"
            if known:
                # Colour tells done from remaining, so one bar character serves both.
                line += (f" {green}{self._bar_char * done}{reset}"
                         f"{grey}{self._bar_char * (self.width - done)}{reset}")
            line += f" {bold}{when}{reset}{rest}"
        else:
            line = count
            if known:
                line += " " + self._bar_char * done + self._todo_char * (self.width - done)
            line += f" {when}{rest}"
        width = len(count) + (1 + self.width if known else 0) + 1 + len(when) + len(rest)
        if self._dynamic_display and self._prev_total_width > width:
            line += " " * (self._prev_total_width - width)
        if finalize or not self._dynamic_display:
            line += "\n"
        _write(line)
        self._prev_total_width = width

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the first step (it includes warm-up)
        once later steps exist."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
