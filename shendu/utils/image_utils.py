"""Image files to arrays and back: ``load_img``, ``img_to_array``, ``array_to_img``,
``save_img``, ``smart_resize``. Reading and writing image files needs pillow
(``pip install shendu[image]`` or ``pip install pillow``), imported only when used.
"""
import io
import os

import numpy as np

from .. import config as _config

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil_image():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Reading and writing images needs pillow: pip install pillow "
                          "(or pip install 'shendu[image]')") from None
    return Image


def _data_format(data_format, fn):
    data_format = data_format or _config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{fn}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def _resample(interpolation, fn):
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{fn}: `interpolation` must be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    return getattr(_pil_image().Resampling, interpolation.upper())


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Read an image file into a PIL image.

    Args:
        path: a file path (str or ``pathlib.Path``) or a binary file-like object.
        color_mode: ``'grayscale'``, ``'rgb'`` or ``'rgba'``.
        target_size: ``(height, width)`` to resize to, or None for the file's size.
        interpolation: ``'nearest'``, ``'bilinear'``, ``'bicubic'``, ``'hamming'``,
            ``'box'`` or ``'lanczos'``.
        keep_aspect_ratio: crop the central part with the target's aspect ratio before
            resizing, instead of stretching.

    Returns:
        A ``PIL.Image.Image``.
    """
    Image = _pil_image()
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError("load_img: `color_mode` must be 'grayscale', 'rgb' or 'rgba'. "
                         f"Received: color_mode={color_mode!r}")
    if isinstance(path, io.BytesIO) or hasattr(path, "read"):
        img = Image.open(path)
    elif isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: `path` must be a path or a file-like object. "
                        f"Received: path={path!r}")
    if img.mode != modes[color_mode]:
        # grayscale PNGs with 16 bits (I;16) convert through I, as Keras does.
        img = img.convert("I").convert("L") if color_mode == "grayscale" and \
            img.mode in ("I;16", "I;16B", "I") else img.convert(modes[color_mode])
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if (img.size[0], img.size[1]) != (width, height):
            resample = _resample(interpolation, "load_img")
            if keep_aspect_ratio:
                w, h = img.size
                crop_h = min(h, int(round(w * height / width)))
                crop_w = min(w, int(round(h * width / height)))
                top, left = (h - crop_h) // 2, (w - crop_w) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            img = img.resize((width, height), resample)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a NumPy array: (height, width, channels) channels-last, or
    (channels, height, width) channels-first; dtype default ``floatx()``."""
    data_format = _data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or _config.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return np.ascontiguousarray(x.transpose(2, 0, 1)) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array (height, width, 1|3|4 channels, or channels-first) as a PIL image.

    With ``scale``, the values are shifted and scaled to fill 0-255 (x - min) / (max - min).
    """
    Image = _pil_image()
    data_format = _data_format(data_format, "array_to_img")
    x = np.asarray(getattr(x, "data", x), dtype=dtype or _config.floatx())
    if x.ndim != 3:
        raise ValueError("array_to_img: expected an image array of rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"array_to_img: unsupported channel number: {channels}")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    arr = x[:, :, 0] if channels == 1 else x
    if channels == 1 and np.max(arr) > 255:  # 16-bit grayscale, as Keras
        return Image.fromarray(arr.astype(np.int32), "I")
    return Image.fromarray(arr.astype(np.uint8), mode)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write an image array to a file (the format from ``file_format`` or the file's
    extension); extra keyword arguments go to pillow's ``save`` (e.g. ``quality``)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    fmt = (file_format or os.path.splitext(str(path))[1].lstrip(".") or "png").lower()
    if img.mode == "RGBA" and fmt in ("jpg", "jpeg"):
        import warnings
        warnings.warn("save_img: JPEG has no alpha channel; the image is saved as RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    fmt = {"jpg": "jpeg", "tif": "tiff"}.get(fmt, fmt)
    from ..saving.atomic_file import atomic_write
    with atomic_write(path, "save the image") as f:  # a failed save leaves no half file
        img.save(f, format=fmt, **kwargs)


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last",
                 backend_module=None):
    """Resize images to ``size`` (height, width) without distorting them: the largest central
    crop with the target's aspect ratio is taken, then resized.

    Args:
        x: an image (height, width, channels) or a batch (n, height, width, channels)
            (channels first with ``data_format='channels_first'``).
        size: ``(height, width)``.
        interpolation: as in ``load_img``.

    Returns:
        A float array of the resized image(s).
    """
    Image = _pil_image()
    resample = _resample(interpolation, "smart_resize")
    x = np.asarray(getattr(x, "data", x))
    if x.ndim not in (3, 4):
        raise ValueError("smart_resize: expected an image array of rank 3 or 4 (a batch). "
                         f"Received: shape={x.shape}")
    batch = x if x.ndim == 4 else x[None]
    if data_format == "channels_first":
        batch = batch.transpose(0, 2, 3, 1)
    h, w = batch.shape[1:3]
    th, tw = int(size[0]), int(size[1])
    crop_h = min(h, int(round(w * th / tw)))
    crop_w = min(w, int(round(h * tw / th)))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    batch = batch[:, top:top + crop_h, left:left + crop_w].astype(np.float32)
    out = np.empty((batch.shape[0], th, tw, batch.shape[3]), np.float32)
    for i, image in enumerate(batch):
        for c in range(image.shape[2]):
            channel = Image.fromarray(image[:, :, c], "F").resize((tw, th), resample)
            out[i, :, :, c] = np.asarray(channel)
    if data_format == "channels_first":
        out = out.transpose(0, 3, 1, 2)
    return out if x.ndim == 4 else out[0]
