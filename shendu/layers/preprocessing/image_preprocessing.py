"""Deterministic image layers: CenterCrop and Resizing (channels-last, differentiable)."""
from ... import ops
from ..layer import Layer
from .image_ops import (INTERPOLATIONS, batched, check_choice, check_data_format,
                        check_image_rank, check_size, output_image_shape, resize, smart_resize,
                        to_float, unbatched)


class CenterCrop(Layer):
    """Crops the central ``height`` x ``width`` window of each image.

    An image smaller than the target (in either dimension) is instead centre-cropped to the
    largest window with the target aspect ratio and resized (bilinear) to the target, as
    Keras does. Inputs (N, H, W, C) or one image (H, W, C); integer images are cast to the
    layer's float dtype. Differentiable (a slice, or the bilinear resize).

    Args:
        height, width: the output size.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.CenterCrop(2, 2)(np.arange(16.).reshape(1, 4, 4, 1))[0, ..., 0].numpy()
        array([[ 5.,  6.],
               [ 9., 10.]], dtype=float32)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_size("CenterCrop", height=height, width=width)
        self.height, self.width = int(height), int(width)
        self.data_format = check_data_format("CenterCrop", data_format)

    def _check_input_shape(self, input_shape):
        check_image_rank(self, input_shape)

    def call(self, inputs):
        x, single = batched(to_float(self, inputs))
        _, h, w, _ = x.shape
        if h >= self.height and w >= self.width:
            top, left = int((h - self.height) / 2), int((w - self.width) / 2)
            y = ops.getitem(x, (slice(None), slice(top, top + self.height),
                                slice(left, left + self.width)))
        else:
            y = smart_resize(x, self.height, self.width)
        return unbatched(y, single)

    def compute_output_shape(self, input_shape):
        return output_image_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}


class Resizing(Layer):
    """Resizes images to ``height`` x ``width``.

    bilinear uses half-pixel centres (TF's ``half_pixel_centers``, PyTorch's
    ``align_corners=False``, no antialiasing); nearest picks ``floor((dst + 0.5) * in / out)``.
    One vectorized gather and blend for the whole batch (see ``image_ops.resize``);
    differentiable with respect to the images.

    Args:
        height, width: the output size.
        interpolation: 'bilinear' (default) or 'nearest'.
        crop_to_aspect_ratio: first centre-crop each image to the largest window with the
            target aspect ratio, so the content is not distorted.
        pad_to_aspect_ratio: instead pad (centred, with ``fill_value``) to the target aspect
            ratio. At most one of the two.
        fill_mode: 'constant' (the only mode of the padding).
        fill_value: the padding value.
        antialias: only False is supported.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Resizing(1, 2)(np.array([[[[0.], [2.]], [[4.], [6.]]]])).numpy().ravel()
        array([2., 4.], dtype=float32)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_size("Resizing", height=height, width=width)
        self.height, self.width = int(height), int(width)
        self.interpolation = check_choice("Resizing", "interpolation", interpolation, INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` "
                             "may be True. Received: both True")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = check_choice("Resizing", "fill_mode", fill_mode, ("constant",))
        self.fill_value = float(fill_value)
        if antialias:
            raise NotImplementedError("Resizing: antialias=True is not supported. "
                                      "Received: antialias=True")
        self.antialias = False
        self.data_format = check_data_format("Resizing", data_format)

    def _check_input_shape(self, input_shape):
        check_image_rank(self, input_shape)

    def call(self, inputs):
        x, single = batched(to_float(self, inputs))
        _, h, w, _ = x.shape
        if self.crop_to_aspect_ratio:
            y = smart_resize(x, self.height, self.width, self.interpolation)
        else:
            if self.pad_to_aspect_ratio:
                ph = max(h, int(float(w * self.height) / self.width))
                pw = max(w, int(float(h * self.width) / self.height))
                top, left = int((ph - h) / 2), int((pw - w) / 2)
                if (ph, pw) != (h, w):
                    x = ops.pad(x, ((0, 0), (top, ph - h - top), (left, pw - w - left), (0, 0)),
                                constant_values=self.fill_value)
            y = resize(x, self.height, self.width, self.interpolation)
        return unbatched(y, single)

    def compute_output_shape(self, input_shape):
        return output_image_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias,
                "data_format": self.data_format}

