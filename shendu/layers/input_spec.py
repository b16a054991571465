"""``InputSpec``: what a layer accepts (rank, some dimensions, dtype), checked by the layer.

A layer sets ``self.input_spec = InputSpec(ndim=4)`` (or one spec per input, a list) and
every input it is built or called symbolically on is checked against it, with an error
that names the layer, the rule and the shape received.

Example:
    >>> from shendu.layers import InputSpec
    >>> spec = InputSpec(min_ndim=2, axes={-1: 8})
    >>> assert_input_compatibility(spec, [(None, 8)], "demo")
    >>> assert_input_compatibility(spec, [(None, 3)], "demo")
    Traceback (most recent call last):
    ...
    ValueError: Input 0 of layer 'demo' is incompatible with the layer: expected axis -1 of input shape to have value 8, but received input with shape (None, 3)
"""
import numpy as np


class InputSpec:
    """The rank, dimensions and dtype a layer's input must have (``keras.InputSpec``).

    Args:
        dtype: expected dtype name, or None for any.
        shape: expected shape (None entries match anything).
        ndim, max_ndim, min_ndim: expected rank, or bounds on it.
        axes: ``{axis: size}`` for dimensions that must have a given size.
        allow_last_axis_squeeze: accept an input whose last axis of size 1 is missing or
            extra, as Keras does.
        name: the input's name (for dict inputs).
        optional: the input may be None.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = np.dtype(dtype).name if dtype is not None else None
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (TypeError, ValueError):
            raise TypeError(f"InputSpec: `axes` must be a dict with integer keys. Received: axes={axes!r}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            rank = self.ndim if self.ndim is not None else self.max_ndim
            if max(self.axes) > rank - 1 or min(self.axes) < -rank:
                raise ValueError(f"InputSpec: axes {sorted(self.axes)} are out of range for "
                                 f"ndim={rank}")

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                         ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                         ("min_ndim", self.min_ndim), ("axes", self.axes or None))
                 if v is not None]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def assert_input_compatibility(input_spec, shapes, layer_name, dtypes=None):
    """Raise a ValueError naming ``layer_name`` unless each shape meets its spec.

    ``input_spec`` is one ``InputSpec`` or a list (one per input); ``shapes`` the input
    shapes (a list, one per input); ``dtypes`` their dtypes, when known.
    """
    if input_spec is None:
        return
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    if len(specs) != len(shapes):
        raise ValueError(f"Layer '{layer_name}' expects {len(specs)} input(s), but it received "
                         f"{len(shapes)} input tensors")
    for i, (spec, shape) in enumerate(zip(specs, shapes)):
        if spec is None or (shape is None and spec.optional):
            continue
        _check_one(spec, tuple(shape), i, layer_name,
                   None if dtypes is None else np.dtype(dtypes[i]).name)


def _check_one(spec, shape, index, layer_name, dtype):
    def fail(rule):
        raise ValueError(f"Input {index} of layer '{layer_name}' is incompatible with the "
                         f"layer: {rule}, but received input with shape {shape}")
    ndim = len(shape)
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        fail(f"expected ndim={spec.ndim}, found ndim={ndim}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        fail(f"expected max_ndim={spec.max_ndim}, found ndim={ndim}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        fail(f"expected min_ndim={spec.min_ndim}, found ndim={ndim}")
    if spec.dtype is not None and dtype is not None and dtype != spec.dtype:
        raise ValueError(f"Input {index} of layer '{layer_name}' is incompatible with the layer: "
                         f"expected dtype={spec.dtype}, found dtype={dtype}")
    for axis, value in spec.axes.items():
        if value is None:
            continue
        if not -ndim <= axis < ndim or shape[axis] not in (value, None):
            fail(f"expected axis {axis} of input shape to have value {value}")
    if spec.shape is not None:
        want, got = spec.shape, shape
        if spec.allow_last_axis_squeeze:
            want = want[:-1] if want and want[-1] == 1 else want
            got = got[:-1] if got and got[-1] == 1 else got
        if len(want) != len(got) or any(w is not None and g is not None and w != g
                                        for w, g in zip(want, got)):
            fail(f"expected shape={spec.shape}")
