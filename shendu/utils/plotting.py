"""``plot_history``: training curves from a ``History`` to a PNG."""
import os


def plot_history(history, path="history.png", metrics=None):
    """Draw each metric's training (and validation) curve per epoch into a PNG.

    Needs matplotlib (``pip install matplotlib`` or ``pip install shendu[plot]``);
    it draws off-screen and leaves pyplot's global state alone.

    Args:
        history: a ``History`` (what ``fit`` returns) or its ``history`` dict.
        path: the PNG file to write; missing directories are created.
        metrics: names to plot (without ``val_``); default every logged metric.
            ``val_<name>`` is drawn on the same axes when present.

    Returns:
        ``path``.

    Raises:
        ImportError: if matplotlib is not installed.
        ValueError: if the history is empty or a requested metric is missing.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history expected a History or a non-empty dict of per-epoch "
                         f"values; received {history!r}")
    available = []
    for key in logs:
        name = key[4:] if key.startswith("val_") else key
        if name not in available:
            available.append(name)
    if metrics is None:
        metrics = available
    elif isinstance(metrics, str):
        metrics = [metrics]
    for name in metrics:
        if name not in logs and f"val_{name}" not in logs:
            raise ValueError(f"plot_history: metric {name!r} is not in the history; "
                             f"available: {available}")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError("plot_history needs matplotlib, which is not installed. Install it "
                          "with `pip install matplotlib` (or `pip install shendu[plot]`).") from e

    epochs = list(getattr(history, "epoch", None) or [])
    cols = min(len(metrics), 3)
    rows = -(-len(metrics) // cols)
    fig = Figure(figsize=(4.5 * cols, 3.5 * rows))
    FigureCanvasAgg(fig)
    for i, name in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            values = logs.get(key)
            if not values:
                continue
            x = ([e + 1 for e in epochs] if len(epochs) == len(values)
                 else list(range(1, len(values) + 1)))
            ax.plot(x, [float(v) for v in values], marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    dirname = os.path.dirname(os.fspath(path))
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    fig.savefig(path, format="png")
    return path
