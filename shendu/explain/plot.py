"""Pictures of attributions: heat maps over images (a PNG), attributions over tokens (HTML).

The PNG helpers need matplotlib (``pip install matplotlib`` or ``pip install shendu[plot]``);
they draw off-screen and leave pyplot's global state alone. ``tokens_html`` needs nothing.
"""
import html
import os

import numpy as np


def _matplotlib(who):
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"{who} needs matplotlib, which is not installed. Install it with "
                          "`pip install matplotlib` (or `pip install shendu[plot]`).") from e
    return colormaps, FigureCanvasAgg, Figure


def _unit(a):
    """Scale to [0, 1] (a constant map becomes zeros)."""
    a = np.asarray(a, np.float64)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _as_rgb(image):
    """(H, W), (H, W, 1) or (H, W, 3) -> (H, W, 3) in [0, 1]."""
    image = np.asarray(image, np.float64)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an image of shape (H, W), (H, W, 1) or (H, W, 3). "
                         f"Received: shape {image.shape}")
    return _unit(image)


def _as_map(heat, size):
    """An (H, W) magnitude map from a Grad-CAM map or attributions shaped like the image."""
    heat = np.abs(np.asarray(heat, np.float64))
    if heat.ndim == 3:  # (H, W, C) attributions: total magnitude per pixel
        heat = heat.sum(axis=-1)
    if heat.shape != tuple(size):
        raise ValueError(f"the heat map must match the image's (H, W) = {tuple(size)}. "
                         f"Received: shape {heat.shape}")
    return _unit(heat)


def colorize(image, heat, alpha=0.5, cmap="jet"):
    """The RGB array of ``heat`` (coloured by ``cmap``) blended over ``image``:
    (1 - alpha) * image + alpha * cmap(heat), both scaled to [0, 1] first.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3).
        heat: (H, W) (Grad-CAM) or shaped like the image (summed |.| over channels).
        alpha: the heat map's opacity.
        cmap: a matplotlib colormap name.

    Returns:
        An (H, W, 3) float array in [0, 1].
    """
    colormaps, _, _ = _matplotlib("colorize")
    rgb = _as_rgb(image)
    colors = colormaps[cmap](_as_map(heat, rgb.shape[:2]))[..., :3]
    return (1.0 - alpha) * rgb + alpha * colors


def heatmap_grid(images, maps, path="attributions.png", alpha=0.5, cmap="jet"):
    """Write a PNG grid: one row per image, the image then each method's map over it.

    Args:
        images: (n, H, W[, C]) images.
        maps: {column title: (n, H, W) or (n, H, W, C) attributions}, e.g.
            ``{"Grad-CAM": explain.grad_cam(...), "IG": explain.integrated_gradients(...)[0]}``.
        path: the PNG file; written atomically, missing directories created.
        alpha, cmap: as ``colorize``.

    Returns:
        ``path``.
    """
    _, FigureCanvasAgg, Figure = _matplotlib("heatmap_grid")
    from ..saving.atomic_file import atomic_write

    images = np.asarray(images)
    for title, m in maps.items():
        if len(m) != len(images):
            raise ValueError(f"heatmap_grid: map {title!r} has {len(m)} entries for "
                             f"{len(images)} images")
    cols = 1 + len(maps)
    fig = Figure(figsize=(1.8 * cols, 1.8 * len(images)))
    FigureCanvasAgg(fig)
    for i, image in enumerate(images):
        panels = [("input", _as_rgb(image))] + [
            (title, colorize(image, m[i], alpha, cmap)) for title, m in maps.items()]
        for j, (title, rgb) in enumerate(panels):
            ax = fig.add_subplot(len(images), cols, i * cols + j + 1)
            ax.imshow(rgb, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=9)
    fig.tight_layout()
    dirname = os.path.dirname(os.fspath(path))
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    with atomic_write(path, "write the attribution picture") as f:
        fig.savefig(f, format="png")
    return path


def overlay(image, heat, path="heatmap.png", alpha=0.5, cmap="jet"):
    """Write one image with its heat map over it (and the image beside it) to a PNG.
    Arguments as ``heatmap_grid`` for a single image; returns ``path``."""
    return heatmap_grid(np.asarray(image)[None], {"attribution": np.asarray(heat)[None]},
                        path, alpha, cmap)


def tokens_html(tokens, attributions):
    """An HTML snippet colouring each token by its attribution: red for positive, blue for
    negative, opacity |a| / max|a|. Tokens are HTML-escaped.

    Args:
        tokens: a sequence of strings.
        attributions: one number per token (sum an embedding's attributions over its
            features first).

    Example:
        >>> print(tokens_html(["good", "<b>"], [1.0, -0.5]))
        <span style="background-color: rgba(220, 40, 40, 1.000)">good</span> \
<span style="background-color: rgba(40, 90, 220, 0.500)">&lt;b&gt;</span>
    """
    a = np.asarray(attributions, np.float64).reshape(-1)
    if len(a) != len(tokens):
        raise ValueError(f"tokens_html: {len(tokens)} tokens but {len(a)} attributions")
    top = np.abs(a).max() if len(a) else 0.0
    spans = []
    for token, v in zip(tokens, a):  # a loop over tokens to write text, not over model inputs
        color = "220, 40, 40" if v >= 0 else "40, 90, 220"
        opacity = abs(v) / top if top > 0 else 0.0
        spans.append(f'<span style="background-color: rgba({color}, {opacity:.3f})">'
                     f"{html.escape(str(token))}</span>")
    return " ".join(spans)
