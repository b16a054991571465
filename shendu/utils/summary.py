"""``model.summary()``: the Keras table of layers, output shapes and parameter counts."""


def _fmt_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _rows(model):
    rows = []
    layers = model.layers
    seq_shape = getattr(model, "_input_batch_shape", None) if type(model).__name__ == "Sequential" else None
    shape = seq_shape
    for layer in layers:
        if seq_shape is not None:
            shape = layer.compute_output_shape(shape)
            out = shape
        else:
            try:
                out = layer.output_shape
            except (AttributeError, Exception):  # noqa: BLE001 - unbuilt subclassed layers
                out = None
        rows.append((f"{layer.name} ({type(layer).__name__})", _fmt_shape(out),
                     f"{layer.count_params():,}"))
    return rows


def print_summary(model, print_fn=None, line_length=None):
    print_fn = print_fn or print
    rows = _rows(model)
    head = ("Layer (type)", "Output Shape", "Param #")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
    widths = [max(widths[0], 28), max(widths[1], 24), max(widths[2], 10)]
    total_width = sum(widths) + 6
    line = "─" * total_width

    def fmt(r):
        return f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]:>{widths[2]}}"

    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    print_fn(fmt(head))
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
