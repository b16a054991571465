"""Layers that only rearrange their input: Flatten, Reshape, Permute, RepeatVector."""
import numpy as np

from .. import ops
from .channels_first import computes_channels_last
from .layer import Layer, shape_error


class Flatten(Layer):
    """Flattens every axis but the batch: (N, d1, d2, ...) -> (N, d1*d2*...)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.moveaxis(inputs, 1, -1)
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(s is None for s in rest) else int(np.prod(rest))
        return (input_shape[0], n)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape. Received: {self.target_shape}")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(s is None for s in rest):
            return (input_shape[0],) + tuple(None if s == -1 else s for s in self.target_shape)
        n = int(np.prod(rest))
        known = int(np.prod([s for s in self.target_shape if s != -1]))
        if -1 in self.target_shape:
            if known == 0 or n % known:
                raise shape_error(self, f"a size divisible by {known} to fill {self.target_shape}", input_shape)
            return (input_shape[0],) + tuple(n // known if s == -1 else s for s in self.target_shape)
        if known != n:
            raise shape_error(self, f"{known} elements per sample for target_shape {self.target_shape}",
                              input_shape)
        return (input_shape[0],) + self.target_shape

    def _check_input_shape(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` counts from 1 as in Keras: Permute((2, 1))."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}. Received: {self.dims}")

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(N, features) -> (N, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def _check_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise shape_error(self, "a rank-2 input (batch, features)", input_shape)

    def call(self, inputs):
        return ops.broadcast_to(ops.expand_dims(inputs, 1), (inputs.shape[0], self.n, inputs.shape[1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


# --- padding, cropping and upsampling of the spatial axes (channels-last) --------------


def _pairs(value, rank, name, layer):
    """int -> ((v, v),) * rank; rank ints -> ((v0, v0), ...); rank pairs as given (all >= 0).

    For rank 1 a pair (a, b) means (before, after), as Keras's ZeroPadding1D/Cropping1D.
    """
    try:
        if isinstance(value, (int, np.integer)):
            out = ((int(value), int(value)),) * rank
        elif rank == 1:
            a, b = value
            out = ((int(a), int(b)),)
        elif len(value) == rank and all(isinstance(v, (int, np.integer)) for v in value):
            out = tuple((int(v), int(v)) for v in value)
        else:
            out = tuple((int(a), int(b)) for a, b in value)
    except (TypeError, ValueError):
        out = None
    if out is None or len(out) != rank or any(v < 0 for p in out for v in p):
        raise ValueError(f"{layer}: `{name}` must be a non-negative int, a tuple of {rank} ints "
                         f"or a tuple of {rank} (before, after) pairs. Received: {name}={value!r}")
    return out


def _spatial_check(layer, rank, input_shape):
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != rank + 2 or any(isinstance(s, (tuple, list)) for s in shape):
        spatial = {1: "steps", 2: "height, width", 3: "depth, height, width"}[rank]
        raise shape_error(layer, f"a rank-{rank + 2} input (batch, {spatial}, channels)", shape)
    return shape


def _data_format(data_format, layer):
    from .convolutional import normalize_data_format
    return normalize_data_format(data_format, layer)


@computes_channels_last
class _ZeroPadding(Layer):
    rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)
        self.data_format = _data_format(data_format, type(self).__name__)

    def _check_input_shape(self, input_shape):
        _spatial_check(self, self.rank, input_shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        return ops.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(None if n is None else n + a + b for n, (a, b) in
                                         zip(input_shape[1:-1], self.padding)) + (input_shape[-1],)

    def get_config(self):
        pad = list(self.padding[0]) if self.rank == 1 else [list(p) for p in self.padding]
        return {**super().get_config(), "padding": pad, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps: (batch, steps, ch) -> (batch, steps + a + b, ch).

    Args:
        padding: int (both sides) or (a, b) (default 1).
    """
    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns around each image.

    Args:
        padding: int, (h, w) (symmetric), or ((top, bottom), (left, right)); default (1, 1).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.ZeroPadding2D(((1, 0), (2, 3)))(np.ones((1, 2, 2, 1), "float32")).shape
        (1, 3, 7, 1)
    """
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@computes_channels_last
class _Cropping(Layer):
    rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", type(self).__name__)
        self.data_format = _data_format(data_format, type(self).__name__)

    def _check_input_shape(self, input_shape):
        shape = _spatial_check(self, self.rank, input_shape)
        for n, (a, b) in zip(shape[1:-1], self.cropping):
            if n is not None and a + b >= n:
                raise shape_error(self, f"spatial sizes larger than the cropping {self.cropping}", shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        index = (slice(None),) + tuple(slice(a, n - b) for n, (a, b) in
                                       zip(inputs.shape[1:-1], self.cropping)) + (slice(None),)
        return ops.getitem(inputs, index)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(None if n is None else n - a - b for n, (a, b) in
                                         zip(input_shape[1:-1], self.cropping)) + (input_shape[-1],)

    def get_config(self):
        crop = list(self.cropping[0]) if self.rank == 1 else [list(p) for p in self.cropping]
        return {**super().get_config(), "cropping": crop, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Removes (a, b) steps from the start and end: (batch, steps, ch) -> (batch, steps - a - b, ch).

    Args:
        cropping: int or (a, b) (default (1, 1)).
    """
    rank = 1

    def __init__(self, cropping=(1, 1), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders of each image.

    Args:
        cropping: int, (h, w) (symmetric), or ((top, bottom), (left, right)); default no crop.
    """
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


def _linear_resize_axis(x, axis, scale):
    """Linear interpolation along ``axis`` to n * scale samples, half-pixel centres.

    Output sample o reads source coordinate c = (o + 0.5) / scale - 0.5, clamped to
    [0, n - 1]: y[o] = (1 - w) x[i0] + w x[i1], i0 = floor(c), i1 = min(i0 + 1, n - 1),
    w = c - i0 (TensorFlow's resize without antialiasing; PyTorch align_corners=False).
    """
    n = x.shape[axis]
    c = np.clip((np.arange(n * scale) + 0.5) / scale - 0.5, 0, n - 1)
    i0 = np.floor(c).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = n * scale
    w = (c - i0).astype(x.dtype).reshape(shape)
    return ops.add(ops.multiply(ops.take(x, i0, axis=axis), 1 - w),
                   ops.multiply(ops.take(x, i1, axis=axis), w))


class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, ch) -> (batch, steps * size, ch)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"UpSampling1D: `size` must be a positive integer. Received: size={size!r}")
        self.size = int(size)

    def _check_input_shape(self, input_shape):
        _spatial_check(self, 1, input_shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@computes_channels_last
class UpSampling2D(Layer):
    """Upsamples images by (size_h, size_w): nearest (repeat rows and columns) or bilinear.

    Args:
        size: int or (h, w) (default (2, 2)).
        data_format: None, 'channels_last' or 'channels_first'.
        interpolation: 'nearest' or 'bilinear' (half-pixel centres, as Keras on TensorFlow
            and PyTorch's ``interpolate(mode='bilinear', align_corners=False)``).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.UpSampling2D()(np.ones((1, 2, 3, 1), "float32")).shape
        (1, 4, 6, 1)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        from .convolutional import normalize_tuple
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = _data_format(data_format, "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: `interpolation` must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation

    def _check_input_shape(self, input_shape):
        _spatial_check(self, 2, input_shape)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        y = inputs
        for axis, s in ((1, self.size[0]), (2, self.size[1])):
            if s == 1:
                continue
            y = ops.repeat(y, s, axis=axis) if self.interpolation == "nearest" else \
                _linear_resize_axis(y, axis, s)
        return y

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(None if n is None else n * s for n, s in
                                         zip(input_shape[1:3], self.size)) + (input_shape[3],)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}
