"""``data_format="channels_first"`` for layers written channels-last.

The conv, pooling, padding, cropping and upsampling layers compute on channels-last
data, (batch, *spatial, channels). A layer class decorated with ``computes_channels_last``
also takes channels-first data, (batch, channels, *spatial), when its ``data_format`` is
``"channels_first"``: the input is moved to channels-last before the layer's own ``call``
and the output moved back after it (an output of lower rank, such as a global pooling's
(batch, channels), needs no move). Shapes given to ``build`` and
``compute_output_shape`` are moved the same way, so weights keep Keras's layout, which is
the same for both formats (a Conv2D kernel is (kh, kw, in, out) either way).

The two moves are transposes: one copy each of the input and the output. Channels-last
is the faster layout here; channels-first is for programs and weights written for it.
"""
import functools

from .. import ops


def _perm_to_last(rank):
    return (0,) + tuple(range(2, rank)) + (1,)


def _perm_to_first(rank):
    return (0, rank - 1) + tuple(range(1, rank - 1))


def _shape_moved(shape, perm):
    return tuple(shape[i] for i in perm)


def _is_shape(shape):
    return isinstance(shape, (tuple, list)) and len(shape) >= 3 and \
        not any(isinstance(s, (tuple, list)) for s in shape)


def computes_channels_last(cls):
    """Class decorator: ``cls.call``, ``cls.build`` and ``cls.compute_output_shape``
    (channels-last) also serve ``self.data_format == "channels_first"``, by moving the
    channels axis around them."""
    call = cls.__dict__["call"]
    output_shape = cls.__dict__.get("compute_output_shape")

    @functools.wraps(call)
    def wrapped_call(self, inputs, *args, **kwargs):
        if self.data_format != "channels_first":
            return call(self, inputs, *args, **kwargs)
        rank = inputs.ndim
        out = call(self, ops.transpose(inputs, _perm_to_last(rank)), *args, **kwargs)
        return ops.transpose(out, _perm_to_first(rank)) if out.ndim == rank else out

    build = cls.__dict__.get("build")

    def wrapped_maybe_build(self, input_shape):
        if self.data_format != "channels_first" or not _is_shape(input_shape):
            return super(cls, self)._maybe_build(input_shape)
        if not self.built:  # Layer._maybe_build, with the shape check on the moved shape
            self._check_input_shape(_shape_moved(input_shape, _perm_to_last(len(input_shape))))
            self.build(input_shape)
            self.built = True
            self._build_input_shape = tuple(input_shape)

    def wrapped_build(self, input_shape=None):
        if self.data_format != "channels_first" or not _is_shape(input_shape):
            return build(self, input_shape)
        build(self, _shape_moved(input_shape, _perm_to_last(len(input_shape))))
        self._build_input_shape = tuple(input_shape)  # the caller's shape, for build configs

    cls.call = wrapped_call
    cls._maybe_build = wrapped_maybe_build
    if build is not None:
        cls.build = functools.wraps(build)(wrapped_build)
    if output_shape is not None:
        @functools.wraps(output_shape)
        def wrapped_output_shape(self, input_shape):
            if self.data_format != "channels_first" or not _is_shape(input_shape):
                return output_shape(self, input_shape)
            rank = len(input_shape)
            out = output_shape(self, _shape_moved(input_shape, _perm_to_last(rank)))
            return _shape_moved(out, _perm_to_first(rank)) if len(out) == rank else out
        cls.compute_output_shape = wrapped_output_shape
    return cls

