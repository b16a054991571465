"""``model.summary()``: the Keras table of layers, output shapes and parameter counts.

Options as Keras's: ``expand_nested`` lists the layers inside nested models (indented
under their model), ``show_trainable`` adds a Trainable column (Y, N, or - for a layer
without weights), ``layer_range=(first, last)`` prints only the layers from the one
whose name matches ``first`` to the one matching ``last`` (regular expressions, both
included), and ``line_length``/``positions`` set the table's width and column edges.
"""
import re


def _fmt_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _output_shape(layer, seq_shape):
    if seq_shape is not None:
        return layer.compute_output_shape(seq_shape)
    if hasattr(layer, "batch_shape"):  # an InputLayer
        return layer.batch_shape
    try:
        return layer.output_shape
    except Exception:  # noqa: BLE001 - an unbuilt subclassed layer has no shape yet
        return None


def _trainable_mark(layer):
    if not layer.weights:
        return "-"
    return "Y" if layer.trainable else "N"


def _layer_rows(model, expand_nested, depth=0):
    """(layer, name column, output shape, depth) for each layer, nested ones after their model."""
    rows = []
    seq_shape = getattr(model, "_input_batch_shape", None) if type(model).__name__ == "Sequential" else None
    shape = seq_shape
    for layer in model.layers:
        out = _output_shape(layer, shape)
        if seq_shape is not None:
            shape = out
        rows.append((layer, out, depth))
        if expand_nested and hasattr(layer, "get_layer") and layer.layers:
            rows += _layer_rows(layer, expand_nested, depth + 1)
    return rows


def _select_range(rows, layer_range):
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2 or \
            not all(isinstance(n, str) for n in layer_range):
        raise ValueError("layer_range must be a list or tuple of 2 strings (the first and the "
                         f"last layer's names or patterns). Received: layer_range={layer_range!r}")
    names = [layer.name for layer, _, _ in rows]
    start = next((i for i, n in enumerate(names) if re.match(layer_range[0], n)), None)
    end = next((i for i in range(len(names) - 1, -1, -1) if re.match(layer_range[1], names[i])), None)
    if start is None or end is None or end < start:
        raise ValueError(f"layer_range={list(layer_range)} does not match a range of layer names; "
                         f"the layers are {names}")
    return rows[start:end + 1]


def _widths(heads, rows, line_length, positions):
    natural = [max(len(heads[i]), *(len(r[i]) for r in rows)) if rows else len(heads[i])
               for i in range(len(heads))]
    minimum = [28, 24, 10, 9][:len(heads)]
    widths = [max(n, m) for n, m in zip(natural, minimum)]
    if positions is not None:
        if len(positions) != len(heads):
            raise ValueError(f"positions must give {len(heads)} column edges; received {positions!r}")
        total = line_length or sum(widths) + 3 * (len(heads) - 1)
        edges = [int(p * total) if p <= 1 else int(p) for p in positions]
        widths = [max(e - s, 4) for s, e in zip([0] + edges[:-1], edges)]
    elif line_length is not None:
        # The first column takes what is left of line_length (Keras's rule of thumb).
        rest = sum(widths[1:]) + 3 * (len(heads) - 1)
        widths[0] = max(line_length - rest, 10)
    return widths


def print_summary(model, print_fn=None, line_length=None, positions=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    print_fn = print_fn or print
    layer_rows = _select_range(_layer_rows(model, expand_nested), layer_range)
    heads = ("Layer (type)", "Output Shape", "Param #") + (("Trainable",) if show_trainable else ())
    rows = []
    for layer, out, depth in layer_rows:
        name = ("  " * (depth - 1) + " └ " if depth else "") + f"{layer.name} ({type(layer).__name__})"
        row = (name, _fmt_shape(out), f"{layer.count_params():,}")
        rows.append(row + ((_trainable_mark(layer),) if show_trainable else ()))
    widths = _widths(heads, rows, line_length, positions)
    total_width = sum(widths) + 3 * (len(heads) - 1)
    line = "─" * total_width

    def fmt(r):
        cells = [f"{r[0]:<{widths[0]}}", f"{r[1]:<{widths[1]}}", f"{r[2]:>{widths[2]}}"]
        if len(r) > 3:
            cells.append(f"{r[3]:^{widths[3]}}")
        return "   ".join(cells)

    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    print_fn(fmt(heads))
    print_fn("═" * total_width)
    for i, r in enumerate(rows):
        print_fn(fmt(r))
        print_fn(line if i == len(rows) - 1 else "")
    trainable = sum(w.size for w in model.trainable_weights)
    non_trainable = sum(w.size for w in model.non_trainable_weights)
    total = trainable + non_trainable
    size = sum(w.data.nbytes for w in model.weights)
    print_fn(f" Total params: {total:,} ({_human(size)})")
    print_fn(f" Trainable params: {trainable:,} ({_human(sum(w.data.nbytes for w in model.trainable_weights))})")
    print_fn(f" Non-trainable params: {non_trainable:,} "
             f"({_human(sum(w.data.nbytes for w in model.non_trainable_weights))})")


def _human(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024
