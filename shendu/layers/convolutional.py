"""Convolution layers (channels-last): Conv1D/2D, Conv1DTranspose/2DTranspose,
DepthwiseConv1D/2D, SeparableConv1D/2D.

Shapes follow Keras: inputs (batch, *spatial, channels); kernels
(*kernel_size, in_channels // groups, filters) for Conv, (*kernel_size, filters,
in_channels) for ConvTranspose and (*kernel_size, in_channels, depth_multiplier)
for DepthwiseConv. Output lengths along each spatial axis, with the dilated
kernel extent k_eff = (k - 1) * d + 1:

    'valid':            floor((n - k_eff) / s) + 1
    'same' / 'causal':  ceil(n / s)

The arithmetic lives in ``conv_output_length`` so that ``compute_output_shape``
never touches data. The computation itself is one op (``ops.conv``,
``ops.conv_transpose``, ``ops.depthwise_conv``) plus the bias and activation.
"""
import numpy as np

from .. import activations, config, constraints, initializers, ops, regularizers
from ..ops.conv import conv_transpose_output_length
from .channels_first import computes_channels_last
from .layer import Layer, shape_error

# --- argument normalization (shared with pooling and reshaping layers) --------------


def normalize_tuple(value, n, name, layer, allow_zero=False):
    """An int or a sequence of n ints as a tuple of n ints (> 0, or >= 0 with allow_zero)."""
    try:
        out = (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    except (TypeError, ValueError):
        out = None
    low = 0 if allow_zero else 1
    if out is None or len(out) != n or any(v < low for v in out):
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: `{name}` must be a {what} int or a tuple of {n} {what} ints. "
                         f"Received: {name}={value!r}")
    return out


def normalize_padding(padding, layer, allowed=("valid", "same")):
    p = str(padding).lower() if isinstance(padding, str) else None
    if p not in allowed:
        raise ValueError(f"{layer}: `padding` must be one of {list(allowed)}. Received: padding={padding!r}")
    return p


def normalize_data_format(data_format, layer):
    """'channels_last' or 'channels_first'; None (the Keras default) means the global
    ``config.image_data_format()``. Layers run channels-first data through their
    channels-last computation (``channels_first.computes_channels_last``)."""
    if data_format is None:
        data_format = config.image_data_format()
    if data_format in ("channels_last", "channels_first"):
        return data_format
    raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first'. "
                     f"Received: data_format={data_format!r}")


def conv_output_length(n, k, s, padding, d=1):
    """Output length of a convolution or pooling window along one axis (None stays None)."""
    if n is None:
        return None
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        return (n - k_eff) // s + 1
    return -(-n // s)  # 'same' and 'causal'


def _spatial_too_small(shape, ksize, dilation, padding):
    """True when some known spatial axis is shorter than the kernel under 'valid' padding."""
    if padding != "valid":
        return False
    return any(n is not None and n < (k - 1) * d + 1
               for n, k, d in zip(shape[1:-1], ksize, dilation))


class _ConvBase(Layer):
    """Shared machinery: argument storage, rank/channel checks, bias, activation, config."""

    rank = None
    _kernel_name = "kernel"
    _paddings = ("valid", "same")

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, self.rank, "strides", cls)
        self.padding = normalize_padding(padding, cls, self._paddings)
        self.data_format = normalize_data_format(data_format, cls)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: strides > 1 cannot be combined with dilation_rate > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self._in_channels = None

    def _expected(self):
        chans = f"{self._in_channels} channels" if self._in_channels is not None else "a known channel count"
        spatial = {1: "steps", 2: "height, width"}.get(self.rank, "*spatial")
        return f"a rank-{self.rank + 2} input (batch, {spatial}, channels) with {chans}"

    def _check_input_shape(self, input_shape):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) != self.rank + 2 or shape[-1] is None or any(
                isinstance(s, (tuple, list)) for s in shape):
            raise shape_error(self, self._expected(), shape)
        if self._in_channels is not None and shape[-1] != self._in_channels:
            raise shape_error(self, self._expected(), shape)
        if _spatial_too_small(shape, self.kernel_size, self.dilation_rate, self.padding):
            extent = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise shape_error(self, f"spatial sizes of at least the dilated kernel extent {extent} "
                                    f"with padding='valid'", shape)
        self._check_channels(shape[-1])

    def _check_channels(self, channels):
        """Further channel constraints (groups); override."""

    def _add_bias(self, filters):
        if not self.use_bias:
            return None
        return self.add_weight((filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint, name="bias")

    def _finish(self, y, batch, fused=False, biased=False):
        if fused:
            pass  # bias and activation already applied
        elif biased:
            y = self.activation(y)  # the bias already added (ops.conv_bias)
        elif self.bias is not None and self.activation is activations.relu:
            y = ops.bias_relu(y, self.bias)  # the common case, fused into one pass
        else:
            if self.bias is not None:
                y = ops.add(y, self.bias)
            y = self.activation(y)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(y) / max(batch, 1))
        return y

    def _spatial_out(self, input_shape):
        return tuple(conv_output_length(n, k, s, self.padding, d) for n, k, s, d in
                     zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


# --- Conv ---------------------------------------------------------------------


@computes_channels_last
class _Conv(_ConvBase):
    """y = activation(conv(x, kernel) + bias), kernel (*kernel_size, in // groups, filters).

    With groups = g the channels split into g equal groups; group i of the output
    (filters // g channels) sees only group i of the input.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                         bias_constraint, **kwargs)
        cls = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{cls}: `filters` must be a positive integer. Received: filters={filters!r}")
        if not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{cls}: `groups` must be a positive integer. Received: groups={groups!r}")
        if filters % groups:
            raise ValueError(f"{cls}: `filters` must be divisible by `groups`. "
                             f"Received: filters={filters}, groups={groups}")
        self.filters, self.groups = int(filters), int(groups)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _check_channels(self, channels):
        if channels % self.groups:
            raise shape_error(self, f"a channel count divisible by groups={self.groups}",
                              (None,) * (self.rank + 1) + (channels,))

    def build(self, input_shape):
        self._in_channels = int(input_shape[-1])
        shape = self.kernel_size + (self._in_channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self._add_bias(self.filters)

    def _conv(self, x, kernel, padding):
        return ops.conv(x, kernel, strides=self.strides, padding=padding,
                        dilation_rate=self.dilation_rate)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        padding = self.padding
        if padding == "causal":
            # Causal: pad (k_eff - 1) on the left only, so output t sees inputs <= t.
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            inputs = ops.pad(inputs, ((0, 0), (left, 0), (0, 0)))
            padding = "valid"
        if self.groups == 1 and self.bias is not None and self.activation is activations.relu:
            # the common case as one op (bias and ReLU applied while the product is in cache)
            y = ops.conv_bias_relu(inputs, self.kernel, self.bias, strides=self.strides,
                                   padding=padding, dilation_rate=self.dilation_rate)
            return self._finish(y, inputs.shape[0], fused=True)
        if self.groups == 1 and self.bias is not None:
            # the bias added to each piece of the product while it is in cache
            y = ops.conv_bias(inputs, self.kernel, self.bias, strides=self.strides,
                              padding=padding, dilation_rate=self.dilation_rate)
            return self._finish(y, inputs.shape[0], biased=True)
        if self.groups == 1:
            y = self._conv(inputs, self.kernel, padding)
        else:
            cg, fg = self._in_channels // self.groups, self.filters // self.groups
            lead = (slice(None),) * (self.rank + 1)
            y = ops.concatenate([
                self._conv(ops.getitem(inputs, lead + (slice(i * cg, (i + 1) * cg),)),
                           ops.getitem(self.kernel, lead + (slice(i * fg, (i + 1) * fg),)), padding)
                for i in range(self.groups)], axis=-1)
        return self._finish(y, inputs.shape[0])

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint)}


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels) -> (batch, new_steps, filters).

    Args:
        filters: number of output channels.
        kernel_size: int or (k,).
        strides: int or (s,), default 1.
        padding: 'valid', 'same' or 'causal' (left-padded: output t sees inputs <= t).
        data_format: None, 'channels_last' or 'channels_first'.
        dilation_rate: int or (d,).
        groups: split the channels into this many independent groups.
        activation, use_bias, kernel_initializer ('glorot_uniform'), bias_initializer
        ('zeros'), kernel/bias/activity regularizers, kernel/bias constraints: as Keras.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Conv1D(4, 3)(np.zeros((2, 10, 3), "float32")).shape
        (2, 8, 4)
    """
    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels) -> (batch, h', w', filters).

    Args: as :class:`Conv1D` with pairs for kernel_size, strides and dilation_rate;
    padding 'valid' or 'same' (out = ceil(n / stride), odd padding at the bottom/right).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Conv2D(8, 3, padding="same")(np.zeros((1, 5, 5, 2), "float32")).shape
        (1, 5, 5, 8)
    """
    rank = 2


# --- ConvTranspose ------------------------------------------------------------


@computes_channels_last
class _ConvTranspose(_ConvBase):
    """y = activation(conv_transpose(x, kernel) + bias), kernel (*kernel_size, filters, in).

    Output length per axis (k_eff = (k - 1) d + 1):
        output_padding None:  n s + max(k_eff - s, 0) ('valid'),  n s ('same');
        otherwise:            (n - 1) s + k_eff - 2 pad + output_padding, pad = 0 or k_eff // 2.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                         bias_constraint, **kwargs)
        cls = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{cls}: `filters` must be a positive integer. Received: filters={filters!r}")
        self.filters = int(filters)
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, self.rank, "output_padding", cls,
                                             allow_zero=True)
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise ValueError(f"{cls}: each `output_padding` must be smaller than its stride. "
                                 f"Received: output_padding={output_padding}, strides={self.strides}")
        self.output_padding = output_padding
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _check_input_shape(self, input_shape):
        # A transposed conv grows its input: no 'valid' minimum size.
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if len(shape) != self.rank + 2 or shape[-1] is None or \
                (self._in_channels is not None and shape[-1] != self._in_channels):
            raise shape_error(self, self._expected(), shape)

    def build(self, input_shape):
        self._in_channels = int(input_shape[-1])
        shape = self.kernel_size + (self.filters, self._in_channels)
        self.kernel = self.add_weight(shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = self._add_bias(self.filters)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        y = ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                               output_padding=self.output_padding, dilation_rate=self.dilation_rate)
        return self._finish(y, inputs.shape[0])

    def compute_output_shape(self, input_shape):
        op = self.output_padding or (None,) * self.rank
        spatial = tuple(None if n is None else conv_transpose_output_length(n, k, s, self.padding, p, d)
                        for n, k, s, p, d in zip(input_shape[1:-1], self.kernel_size, self.strides,
                                                 op, self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint)}


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution; kernel (k, filters, in_channels). See :class:`Conv2DTranspose`."""
    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (the adjoint of Conv2D), e.g. for upsampling decoders.

    Args:
        filters, kernel_size, strides, padding ('valid'/'same'), dilation_rate: as Conv2D.
        output_padding: None, int or pair, each smaller than its stride: extra rows/columns
            at the bottom/right of the output.
        The rest as Conv2D. The kernel has Keras's layout (kh, kw, filters, in_channels).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Conv2DTranspose(3, 3, strides=2, padding="same")(
        ...     np.zeros((1, 4, 4, 2), "float32")).shape
        (1, 8, 8, 3)
    """
    rank = 2


# --- DepthwiseConv ------------------------------------------------------------


@computes_channels_last
class _DepthwiseConv(_ConvBase):
    """y = activation(depthwise_conv(x, kernel) + bias), kernel (*kernel_size, in, depth_multiplier);
    output channel c * depth_multiplier + m comes from input channel c."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                         bias_constraint, **kwargs)
        cls = type(self).__name__
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier <= 0:
            raise ValueError(f"{cls}: `depth_multiplier` must be a positive integer. "
                             f"Received: depth_multiplier={depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        self._in_channels = int(input_shape[-1])
        shape = self.kernel_size + (self._in_channels, self.depth_multiplier)
        self.kernel = self.add_weight(shape, self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self.bias = self._add_bias(self._in_channels * self.depth_multiplier)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        y = ops.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                               dilation_rate=self.dilation_rate)
        return self._finish(y, inputs.shape[0])

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return (input_shape[0],) + self._spatial_out(input_shape) + \
            (None if c is None else c * self.depth_multiplier,)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint)}


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: each channel convolved with its own depth_multiplier filters."""
    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    Args:
        kernel_size, strides, padding, dilation_rate: as Conv2D.
        depth_multiplier: filters per input channel (output channels = in * depth_multiplier).
        depthwise_initializer / _regularizer / _constraint: for the kernel
            (kh, kw, in_channels, depth_multiplier). The rest as Conv2D.

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.DepthwiseConv2D(3, depth_multiplier=2)(np.zeros((1, 5, 5, 3), "float32")).shape
        (1, 3, 3, 6)
    """
    rank = 2


# --- SeparableConv ------------------------------------------------------------


@computes_channels_last
class _SeparableConv(_ConvBase):
    """Depthwise conv (strides, padding, dilation) then a pointwise 1x1 conv to ``filters``:
    y = activation(conv1x1(depthwise_conv(x, depthwise_kernel), pointwise_kernel) + bias)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                         bias_constraint, **kwargs)
        cls = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{cls}: `filters` must be a positive integer. Received: filters={filters!r}")
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier <= 0:
            raise ValueError(f"{cls}: `depth_multiplier` must be a positive integer. "
                             f"Received: depth_multiplier={depth_multiplier!r}")
        self.filters, self.depth_multiplier = int(filters), int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        self._in_channels = c = int(input_shape[-1])
        self.depthwise_kernel = self.add_weight(
            self.kernel_size + (c, self.depth_multiplier), self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
            name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            (1,) * self.rank + (c * self.depth_multiplier, self.filters), self.pointwise_initializer,
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint,
            name="pointwise_kernel")
        self.bias = self._add_bias(self.filters)

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        y = ops.depthwise_conv(inputs, self.depthwise_kernel, strides=self.strides,
                               padding=self.padding, dilation_rate=self.dilation_rate)
        y = ops.conv(y, self.pointwise_kernel)
        return self._finish(y, inputs.shape[0])

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                "pointwise_constraint": constraints.serialize(self.pointwise_constraint)}


class SeparableConv1D(_SeparableConv):
    """Depthwise-separable 1-D convolution. See :class:`SeparableConv2D`."""
    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2-D convolution: a depthwise conv then a 1x1 conv to ``filters``.

    Weights: depthwise_kernel (kh, kw, in, depth_multiplier), pointwise_kernel
    (1, 1, in * depth_multiplier, filters), bias (filters,).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.SeparableConv2D(4, 3)(np.zeros((1, 5, 5, 3), "float32")).shape
        (1, 3, 3, 4)
    """
    rank = 2


# Keras aliases
Convolution1D, Convolution2D = Conv1D, Conv2D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
