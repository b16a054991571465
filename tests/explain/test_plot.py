"""shendu.explain.plot: the colour blend, the PNG grid (atomic, readable) and token HTML."""
import numpy as np
import pytest

from shendu.explain import plot


def test_colorize_blends_the_colormap_over_the_image():
    matplotlib = pytest.importorskip("matplotlib", reason="the picture helpers need matplotlib")
    image = np.zeros((4, 4))
    image[0, 0] = 2.0  # scaled to 1
    heat = np.zeros((4, 4))
    heat[3, 3] = 5.0  # scaled to 1
    rgb = plot.colorize(image, heat, alpha=0.25, cmap="viridis")
    cmap = matplotlib.colormaps["viridis"]
    np.testing.assert_allclose(rgb[0, 0], 0.75 * 1.0 + 0.25 * np.array(cmap(0.0)[:3]))
    np.testing.assert_allclose(rgb[3, 3], 0.25 * np.array(cmap(1.0)[:3]))
    # attributions shaped like an (H, W, C) image: |.| summed over channels
    signed = np.zeros((4, 4, 3))
    signed[1, 2] = [-1.0, 0.5, 0.5]
    np.testing.assert_allclose(plot.colorize(np.ones((4, 4, 3)), signed, alpha=1.0)[1, 2],
                               matplotlib.colormaps["jet"](1.0)[:3])
    with pytest.raises(ValueError, match="match the image"):
        plot.colorize(image, np.zeros((3, 4)))


def test_heatmap_grid_writes_a_png(tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="the picture helpers need matplotlib")
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 8, 8, 1))
    path = plot.heatmap_grid(images, {"a": rng.uniform(size=(3, 8, 8)),
                                      "b": rng.normal(size=(3, 8, 8, 1))},
                             tmp_path / "sub" / "grid.png")
    picture = matplotlib.image.imread(path)
    assert picture.ndim == 3 and picture.shape[0] > picture.shape[1] * 0.5
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["grid.png"]  # no temp left
    assert picture[..., :3].std() > 0.05  # something was drawn
    one = plot.overlay(images[0], rng.uniform(size=(8, 8)), tmp_path / "one.png")
    assert matplotlib.image.imread(one).shape[2] in (3, 4)
    with pytest.raises(ValueError, match="entries"):
        plot.heatmap_grid(images, {"a": np.zeros((2, 8, 8))}, tmp_path / "bad.png")


def test_tokens_html_colours_by_sign_and_escapes():
    out = plot.tokens_html(["a", "<&>", "c"], [2.0, -1.0, 0.0])
    spans = out.split(" <span")
    assert "rgba(220, 40, 40, 1.000)\">a<" in spans[0]
    assert "rgba(40, 90, 220, 0.500)\">&lt;&amp;&gt;<" in spans[1]
    assert "0.000)\">c<" in spans[2]
    with pytest.raises(ValueError, match="2 tokens but 3"):
        plot.tokens_html(["a", "b"], [1, 2, 3])
