"""Random augmentation layers: active only in training, seeded, vectorized over the batch.

Each layer works in two steps, as in Keras 3:

* ``get_random_transformation(images)`` draws one parameter per sample (a flip, a shift,
  an angle, a zoom, a contrast factor, a crop corner) from the layer's generator: its own
  ``np.random.Generator`` when it has a ``seed``, else shendu's global generator (which
  ``shendu.utils.set_random_seed`` reseeds);
* ``transform_images(images, transformation)`` applies them to the whole batch at once:
  the geometric layers compute the source coordinate of every output pixel of every sample
  with NumPy broadcasting and read them all with the one sampler of ``image_ops`` (fill
  modes reflect / wrap / constant / nearest; bilinear or nearest interpolation).

Called with ``training`` false or None they return their input (cast to the layer's
float dtype), except RandomCrop, which then centre-crops and resizes to its output size.

Gradients: the random parameters are data, not weights (these layers have none). The
geometric transforms are built on the differentiable gather, so a gradient does reach
their input, but they are meant for the input images, which are data.
"""
import math

import numpy as np

from ... import ops
from ...ops.random import as_generator
from ..layer import Layer
from .image_ops import (FILL_MODES, INTERPOLATIONS, affine_transform, batched, check_choice,
                        check_data_format, check_image_rank, check_size, output_image_shape,
                        sample, smart_resize, to_float, unbatched)


def _factor_range(layer_name, arg, factor, low=-1.0, high=1.0):
    """A number f -> (-|f|, |f|); a pair -> sorted; every value within [low, high]."""
    msg = (f"{layer_name}: `{arg}` must be a number or a pair of numbers in [{low}, {high}]. "
           f"Received: {arg}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, (int, float, np.number)) for f in factor):
            raise ValueError(msg)
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float, np.number)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(msg)
    if not (low <= lower and upper <= high):
        raise ValueError(msg)
    return lower, upper


class BaseRandomLayer(Layer):
    """Shared machinery: the seed and generator, the training switch, batched/unbatched."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"{type(self).__name__}: `seed` must be a non-negative integer or "
                             f"None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._generator = None if seed is None else np.random.default_rng(self.seed)
        self.data_format = check_data_format(type(self).__name__, data_format)

    @property
    def generator(self):
        """This layer's own generator (seeded layers) or shendu's current global one."""
        return self._generator if self._generator is not None else as_generator(None)

    def _rng(self, seed):
        return self.generator if seed is None else as_generator(seed)

    def _check_input_shape(self, input_shape):
        check_image_rank(self, input_shape)

    def call(self, inputs, training=None):
        x = to_float(self, inputs)
        if not training:
            return self.transform_images(x, None, training=False)
        check_image_rank(self, x.shape)
        return self.transform_images(x, self.get_random_transformation(x), training=True)

    def get_random_transformation(self, data, training=True, seed=None):
        """Draw this call's parameters for the images ``data`` (one per sample), as a dict."""
        if not training:
            return None
        shape = tuple(data.shape)
        n = 1 if len(shape) == 3 else shape[0]
        return self._draw(self._rng(seed), n, shape[-3], shape[-2])

    def transform_images(self, images, transformation, training=True):
        """Apply ``transformation`` (from ``get_random_transformation``) to the whole batch."""
        x, single = batched(to_float(self, images))
        if not training or transformation is None:
            y = self._inference(x)
        else:
            y = self._apply(x, transformation)
        return unbatched(y, single)

    def _inference(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class _AffineLayer(BaseRandomLayer):
    """A random layer whose transform is one affine map per sample, sampled in one call."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        name = type(self).__name__
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(name, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = float(fill_value)

    def _apply(self, x, transformation):
        _, h, w, _ = x.shape
        return affine_transform(x, self._matrix(transformation, h, w), self.interpolation,
                                self.fill_mode, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomFlip(BaseRandomLayer):
    """Flips each image horizontally and/or vertically with probability 1/2 (per sample).

    Args:
        mode: 'horizontal_and_vertical' (default; two independent coin flips per image),
            'horizontal' (left-right) or 'vertical' (up-down).
        seed: seed of the layer's own generator (default: shendu's global generator).

    The transformation is ``{'flip_horizontal': bool (N,), 'flip_vertical': bool (N,)}``.
    """

    MODES = ("horizontal_and_vertical", "horizontal", "vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = check_choice("RandomFlip", "mode", mode, self.MODES)

    def _draw(self, rng, n, h, w):
        none = np.zeros(n, bool)
        hor = rng.random(n) < 0.5 if self.mode != "vertical" else none
        ver = rng.random(n) < 0.5 if self.mode != "horizontal" else none
        return {"flip_horizontal": hor, "flip_vertical": ver}

    def _apply(self, x, t):
        _, h, w, _ = x.shape
        y, xs = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
        rows = np.where(np.asarray(t["flip_vertical"])[:, None, None], h - 1 - y, y)
        cols = np.where(np.asarray(t["flip_horizontal"])[:, None, None], w - 1 - xs, xs)
        return sample(x, rows, cols, "nearest", "nearest")

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width.

    Args:
        height_factor: a fraction f of the height (shift drawn from [-f, f]) or a pair
            (lower, upper); positive shifts move the content down.
        width_factor: the same for the width; positive shifts move the content right.
        fill_mode: 'reflect' (default), 'wrap', 'constant' or 'nearest'.
        interpolation: 'bilinear' (default) or 'nearest'.
        seed: seed of the layer's own generator.
        fill_value: the value outside the image with fill_mode='constant'.

    Output pixel (row, col) reads input (row - dy, col - dx), dy = u_h * H, dx = u_w * W.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_lower, self.height_upper = _factor_range("RandomTranslation", "height_factor",
                                                             height_factor)
        self.width_lower, self.width_upper = _factor_range("RandomTranslation", "width_factor",
                                                           width_factor)
        self.height_factor, self.width_factor = height_factor, width_factor

    def _draw(self, rng, n, h, w):
        dy = rng.uniform(self.height_lower, self.height_upper, n) * h
        dx = rng.uniform(self.width_lower, self.width_upper, n) * w
        return {"height_translation": dy, "width_translation": dx}

    def _matrix(self, t, h, w):
        dy, dx = np.asarray(t["height_translation"]), np.asarray(t["width_translation"])
        one, zero = np.ones_like(dx), np.zeros_like(dx)
        return np.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomRotation(_AffineLayer):
    """Rotates each image about its centre by a random angle.

    Args:
        factor: a fraction f of a full turn (angle drawn from [-f, f] * 2 pi) or a pair
            (lower, upper). Positive angles rotate counter-clockwise (as displayed, row 0 at
            the top): factor=(0.25, 0.25) is ``np.rot90`` for a square image.
        fill_mode, interpolation, seed, fill_value: as in RandomTranslation.

    With c = cos(a), s = sin(a) and the centre (cx, cy) = ((W-1)/2, (H-1)/2), output (x, y)
    reads input (c (x-cx) - s (y-cy) + cx, s (x-cx) + c (y-cy) + cy).
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.lower, self.upper = _factor_range("RandomRotation", "factor", factor)
        self.factor = factor

    def _draw(self, rng, n, h, w):
        return {"angle": rng.uniform(self.lower, self.upper, n) * 2.0 * math.pi}

    def _matrix(self, t, h, w):
        a = np.asarray(t["angle"], np.float64)
        c, s = np.cos(a), np.sin(a)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        zero = np.zeros_like(a)
        return np.stack([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms each image in or out about its centre by a random amount.

    Args:
        height_factor: a fraction f (zoom drawn from [-f, f]) or a pair (lower, upper);
            positive values zoom out (the content shrinks), negative values zoom in.
        width_factor: the same for the width; None (default) keeps the aspect ratio (the
            vertical zoom is used for both).
        fill_mode, interpolation, seed, fill_value: as in RandomTranslation.

    With zoom z = 1 + u, output (x, y) reads input (zx (x-cx) + cx, zy (y-cy) + cy).
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_lower, self.height_upper = _factor_range("RandomZoom", "height_factor",
                                                             height_factor)
        if width_factor is not None:
            self.width_lower, self.width_upper = _factor_range("RandomZoom", "width_factor",
                                                               width_factor)
        self.height_factor, self.width_factor = height_factor, width_factor

    def _draw(self, rng, n, h, w):
        zy = 1.0 + rng.uniform(self.height_lower, self.height_upper, n)
        zx = zy if self.width_factor is None else \
            1.0 + rng.uniform(self.width_lower, self.width_upper, n)
        return {"height_zoom": zy, "width_zoom": zx}

    def _matrix(self, t, h, w):
        zy, zx = np.asarray(t["height_zoom"], np.float64), np.asarray(t["width_zoom"], np.float64)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        zero = np.zeros_like(zx)
        return np.stack([zx, zero, cx * (1 - zx), zero, zy, cy * (1 - zy), zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomContrast(BaseRandomLayer):
    """Scales each image's deviation from its per-channel mean by a random factor.

    y = clip((x - mean) * a + mean, *value_range), mean over height and width per image and
    channel, a drawn per image from [1 - lower, 1 + upper].

    Args:
        factor: a number f in [0, 1] (lower = upper = f) or a pair (lower, upper).
        value_range: (low, high) the output is clipped to; default (0, 255).
        seed: seed of the layer's own generator.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        msg = (f"RandomContrast: `factor` must be a number or a pair of numbers in [0, 1]. "
               f"Received: factor={factor!r}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or not all(isinstance(f, (int, float, np.number)) for f in factor):
                raise ValueError(msg)
            self.lower, self.upper = float(factor[0]), float(factor[1])
        elif isinstance(factor, (int, float, np.number)) and not isinstance(factor, bool):
            self.lower = self.upper = float(factor)
        else:
            raise ValueError(msg)
        if not (0 <= self.lower <= 1 and 0 <= self.upper <= 1):
            raise ValueError(msg)
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
                and value_range[0] < value_range[1]):
            raise ValueError(f"RandomContrast: `value_range` must be a pair (low, high) with "
                             f"low < high. Received: value_range={value_range!r}")
        self.factor, self.value_range = factor, value_range

    def _draw(self, rng, n, h, w):
        return {"contrast_factor": rng.uniform(1.0 - self.lower, 1.0 + self.upper, n)}

    def _apply(self, x, t):
        a = np.asarray(t["contrast_factor"], np.float64).reshape(-1, 1, 1, 1).astype(self.dtype)
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        y = ops.add(ops.multiply(ops.subtract(x, mean), a), mean)
        return ops.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomCrop(BaseRandomLayer):
    """Crops a random ``height`` x ``width`` window from each image (its own corner per image).

    In training, each image gets a corner drawn uniformly among all valid ones (Keras 3 uses
    one corner for the whole batch; here each sample gets its own, gathered in one call).
    At inference, and in training when an image is smaller than the target, the images are
    centre-cropped to the largest window with the target aspect ratio and resized (bilinear)
    to height x width, as Keras does.

    Args:
        height, width: the output size.
        seed: seed of the layer's own generator.

    The transformation is ``{'top': int (N,), 'left': int (N,)}``.
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        check_size("RandomCrop", height=height, width=width)
        self.height, self.width = int(height), int(width)

    def _draw(self, rng, n, h, w):
        if h < self.height or w < self.width:
            return None
        return {"top": rng.integers(0, h - self.height + 1, n),
                "left": rng.integers(0, w - self.width + 1, n)}

    def _apply(self, x, t):
        rows = np.asarray(t["top"])[:, None, None] + np.arange(self.height)[None, :, None]
        cols = np.asarray(t["left"])[:, None, None] + np.arange(self.width)[None, None, :]
        return sample(x, rows, cols, "nearest", "nearest")

    def _inference(self, x):
        return smart_resize(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return output_image_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
