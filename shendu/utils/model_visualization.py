"""``plot_model`` and ``model_to_dot``: a picture of a model's layer graph.

The graph is written in Graphviz's DOT language by shendu itself (no pydot needed), so
``plot_model(model, "model.dot")`` works with no extra package. Pictures (PNG, SVG, PDF,
JPEG) are drawn by Graphviz's ``dot`` program, which must be installed
(``apt install graphviz``, ``brew install graphviz``, ``conda install graphviz``).
"""
import os
import shutil
import subprocess

_PICTURE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "gif", "ps")


class DotGraph:
    """A graph in the DOT language, with the few methods of ``pydot.Dot`` that Keras
    programs use: ``to_string()``, ``create(prog, format)`` and ``write(path, format)``."""

    def __init__(self, name, rankdir="TB", dpi=200, splines="ortho"):
        self.name, self.rankdir, self.dpi, self.splines = name, rankdir, dpi, splines
        self.nodes = []   # (id, label)
        self.edges = []   # (from id, to id)

    def add_node(self, node_id, label):
        self.nodes.append((node_id, label))

    def add_edge(self, src, dst):
        if (src, dst) not in self.edges:
            self.edges.append((src, dst))

    def get_nodes(self):
        return list(self.nodes)

    def get_edges(self):
        return list(self.edges)

    def to_string(self):
        lines = [f"digraph {_quote(self.name)} {{",
                 f"  graph [rankdir={self.rankdir}, dpi={int(self.dpi)}, concentrate=true, "
                 f"splines={_quote(self.splines)}];",
                 "  node [shape=record, fontname=Helvetica];"]
        lines += [f"  {_quote(node_id)} [label={_quote(label)}];" for node_id, label in self.nodes]
        lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in self.edges]
        return "\n".join(lines + ["}"]) + "\n"

    def create(self, prog="dot", format="png"):
        """The picture as bytes, drawn by Graphviz's ``prog`` (``dot``)."""
        exe = shutil.which(prog)
        if exe is None:
            raise OSError(f"Drawing the model needs Graphviz's '{prog}' program, which was not "
                          "found on PATH: install Graphviz (apt install graphviz, brew install "
                          "graphviz or conda install graphviz), or save the graph as '.dot' text.")
        done = subprocess.run([exe, f"-T{format}"], input=self.to_string().encode("utf-8"),
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise OSError(f"Graphviz '{prog}' failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def write(self, path, format="raw", prog="dot"):
        """Write the DOT text (``format='raw'``) or a picture, atomically."""
        data = self.to_string().encode("utf-8") if format in ("raw", "dot") else \
            self.create(prog, format)
        from ..saving.atomic_file import atomic_write
        with atomic_write(path, "write the graph") as f:
            f.write(data)


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') \
        .replace("{", "\\{").replace("}", "\\}").replace("|", "\\|") \
        .replace("<", "\\<").replace(">", "\\>").replace("\n", "\\n") + '"'


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _label(layer_name, class_name, shape, dtype, layer, show_shapes, show_dtype,
           show_layer_names, show_layer_activations, show_trainable):
    parts = [f"{layer_name} ({class_name})" if show_layer_names else class_name]
    if show_layer_activations and layer is not None and hasattr(layer, "activation"):
        act = getattr(layer.activation, "__name__", str(layer.activation))
        parts.append(f"Activation: {act}")
    if show_shapes:
        parts.append(f"Output shape: {_shape_text(shape)}")
    if show_dtype:
        parts.append(f"Output dtype: {dtype}")
    if show_trainable and layer is not None:
        parts.append(f"Trainable: {'Y' if layer.trainable else 'N'}")
    return "\n".join(parts)


def _tensors(structure):
    from ..layers.layer import _flatten
    return _flatten(structure)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, splines="ortho", **kwargs):
    """The layer graph of ``model`` as a :class:`DotGraph`: one node per layer (and per
    input), one edge per connection. A nested model is drawn as one node (``expand_nested``
    is accepted and not drawn differently).

    Example:
        >>> import shendu
        >>> m = shendu.Sequential([shendu.Input((4,)), shendu.layers.Dense(2, name="out")])
        >>> "out (Dense)" in model_to_dot(m).to_string()
        True
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"model_to_dot: `rankdir` must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    if not getattr(model, "built", True) and not getattr(model, "_nodes", None):
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    flags = dict(show_shapes=show_shapes, show_dtype=show_dtype,
                 show_layer_names=show_layer_names,
                 show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    dot = DotGraph(model.name, rankdir, dpi, splines)
    numbers = {}  # layer -> a node id that is the same on every run (not id())

    def node_id(layer):
        return f"layer_{numbers.setdefault(id(layer), len(numbers))}"
    nodes = getattr(model, "_nodes", None)
    if nodes is not None:  # Functional: the recorded calls
        for t in _tensors(model.inputs):
            dot.add_node(f"input:{t.name}", _label(t.name, "InputLayer", t.shape, t.dtype, None,
                                                   **flags))
        for node in nodes:
            outs = _tensors(node.outputs)
            shapes = [o.shape for o in outs]
            dot.add_node(node_id(node.layer), _label(
                node.layer.name, type(node.layer).__name__,
                shapes[0] if len(shapes) == 1 else shapes,
                outs[0].dtype if outs else None, node.layer, **flags))
            for parent in node.parent_tensors:
                src = node_id(parent.node.layer) if parent.node is not None else \
                    f"input:{parent.name}"
                dot.add_edge(src, node_id(node.layer))
        return dot
    layers = list(getattr(model, "layers", []) or [])
    shape = getattr(model, "_input_batch_shape", None)
    previous = None
    if shape is not None:
        previous = "input:0"
        dot.add_node(previous, _label("input_layer", "InputLayer", shape, model.dtype, None,
                                      **flags))
    if not layers:  # a subclassed model or a lone layer: one box
        dot.add_node(node_id(model), _label(model.name, type(model).__name__, None,
                                                  model.dtype, model, **flags))
        return dot
    for layer in layers:
        try:
            shape = layer.compute_output_shape(shape) if shape is not None else None
        except Exception:  # noqa: BLE001 - a layer that cannot say: shown as '?'
            shape = None
        this = node_id(layer)
        dot.add_node(this, _label(layer.name, type(layer).__name__, shape, layer.dtype, layer,
                                  **flags))
        if previous is not None:
            dot.add_edge(previous, this)
        previous = this
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho", **kwargs):
    """Draw ``model``'s layer graph into ``to_file``: ``.dot`` writes the DOT text (no extra
    software); ``.png``, ``.svg``, ``.pdf``, ``.jpg`` need Graphviz's ``dot`` program.

    Returns:
        In a Jupyter notebook, an ``IPython.display.Image`` of a PNG; otherwise None.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if ext not in _PICTURE_FORMATS + ("dot", "gv"):
        raise ValueError(f"plot_model: cannot write '.{ext}' files; use one of "
                         f"{('dot',) + _PICTURE_FORMATS}. Received: to_file={to_file!r}")
    dot.write(to_file, format="raw" if ext in ("dot", "gv") else ext)
    if ext == "png":
        try:
            from IPython import display, get_ipython
            if get_ipython() is not None:
                return display.Image(filename=to_file)
        except ImportError:
            pass
    return None
