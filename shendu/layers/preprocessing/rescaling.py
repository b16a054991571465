"""Rescaling: y = x * scale + offset (e.g. uint8 pixels to [0, 1] with scale=1/255)."""
import numpy as np

from ... import ops
from ..layer import Layer
from .image_ops import to_float


class Rescaling(Layer):
    """Multiplies the inputs by ``scale`` and adds ``offset``: y = x * scale + offset.

    Args:
        scale: a float, or a list of floats broadcast over the last axis (per channel).
        offset: a float or a list of floats, default 0.0.

    Integer inputs are cast to the layer's float dtype first. Differentiable:
    gx = gy * scale.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Rescaling(1 / 255)(np.array([[0, 255]], np.uint8)).numpy()
        array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                arr = None
            if arr is None or arr.ndim > 1 or not np.all(np.isfinite(arr)):
                raise ValueError(f"Rescaling: `{arg}` must be a finite number or a list of numbers "
                                 f"(one per channel). Received: {arg}={value!r}")
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        x = to_float(self, inputs)
        scale = np.asarray(self.scale, dtype=self.dtype)
        offset = np.asarray(self.offset, dtype=self.dtype)
        y = ops.multiply(x, scale)
        return ops.add(y, offset) if np.any(offset != 0) else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v
        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}
