"""plot_model / model_to_dot: the DOT text always; pictures when Graphviz is installed."""
import shutil

import pytest

import shendu
from shendu import layers
from shendu.utils import model_to_dot, plot_model


def _functional():
    a = shendu.Input((8,), name="a")
    b = shendu.Input((4,), name="b")
    h = layers.Dense(6, activation="relu", name="hidden")(a)
    merged = layers.Concatenate(name="merge")([h, b])
    out = layers.Dense(1, name="out")(merged)
    return shendu.Model([a, b], out)


def test_functional_graph_has_every_layer_and_edge():
    dot = model_to_dot(_functional(), show_shapes=True, show_layer_activations=True,
                       show_trainable=True)
    labels = [label for _, label in dot.get_nodes()]
    assert len(labels) == 5
    assert any(label.startswith("hidden (Dense)") and "Activation: relu" in label
               and "Output shape: (None, 6)" in label for label in labels)
    assert any("merge (Concatenate)" in label and "(None, 10)" in label for label in labels)
    ids = {label.split(" ")[0]: node_id for node_id, label in dot.get_nodes()}
    edges = set(dot.get_edges())
    assert (ids["a"], ids["hidden"]) in edges and (ids["b"], ids["merge"]) in edges
    assert (ids["hidden"], ids["merge"]) in edges and (ids["merge"], ids["out"]) in edges
    assert len(edges) == 4
    text = dot.to_string()
    assert text.startswith("digraph") and text.count("->") == 4


def test_sequential_graph_and_dot_file(tmp_path):
    model = shendu.Sequential([shendu.Input((3,)), layers.Dense(4, name="d1"),
                               layers.Dense(2, name="d2")])
    dot = model_to_dot(model, show_shapes=True, show_dtype=True)
    assert [label.split("\n")[0] for _, label in dot.get_nodes()] == \
        ["input_layer (InputLayer)", "d1 (Dense)", "d2 (Dense)"]
    assert "Output shape: (None, 2)" in dot.get_nodes()[-1][1]
    assert len(dot.get_edges()) == 2
    assert plot_model(model, to_file=tmp_path / "m.dot", show_layer_names=True) is None
    text = (tmp_path / "m.dot").read_text()
    assert "d1 (Dense)" in text and text.count("->") == 2
    with pytest.raises(ValueError, match="cannot write '.txt'"):
        plot_model(model, to_file=tmp_path / "m.txt")


def test_pictures_need_graphviz(tmp_path, monkeypatch):
    model = _functional()
    if shutil.which("dot") is None:
        with pytest.raises(OSError, match="install Graphviz"):
            plot_model(model, to_file=tmp_path / "m.png")
        assert not (tmp_path / "m.png").exists()
    else:
        plot_model(model, to_file=tmp_path / "m.png", show_shapes=True)
        assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = model_to_dot(model).create(prog="dot", format="svg")
        assert b"<svg" in svg and b"hidden" in svg
    monkeypatch.setenv("PATH", "")
    with pytest.raises(OSError, match="Graphviz's 'dot' program"):
        model_to_dot(model).create()


def test_dot_text_is_the_same_on_every_run():
    texts = []
    for _ in range(2):
        shendu.backend.clear_session()  # the same automatic model name both times
        texts.append(model_to_dot(_functional()).to_string())
    assert texts[0] == texts[1]
