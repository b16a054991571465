"""Layer wrappers for sequences: Bidirectional, TimeDistributed; and the Masking layer."""
import numpy as np

from ... import ops
from ..layer import Layer, shape_error
from .cells import CELLS
from .rnn import GRU, LSTM, RNN, SimpleRNN, mask_array, symbolic_call_grouped

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)
_RNN_CLASSES = {c.__name__: c for c in (RNN, SimpleRNN, LSTM, GRU)}


def _serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _deserialize(config, custom_objects=None):
    table = {**_RNN_CLASSES, **(custom_objects or {})}
    name = config.get("class_name")
    if name not in table:
        raise ValueError(f"Unknown layer class '{name}' in a wrapper config; pass it in "
                         f"custom_objects (known: {sorted(table)})")
    cls = table[name]
    cfg = dict(config.get("config", {}))
    if name == "RNN":
        return cls.from_config(cfg, custom_objects={**CELLS, **(custom_objects or {})})
    return cls.from_config(cfg)


class Bidirectional(Layer):
    """Runs an RNN forwards and a copy of it backwards over the sequence and merges the two.

    Args:
        layer: an RNN layer (SimpleRNN, LSTM, GRU or RNN(cell)); it is re-created from its
            config as the forward layer (named ``forward_<name>``), so weights are not shared.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (return [forward, backward]).
        backward_layer: optional RNN to use as the backward layer (must have go_backwards=True
            relative to ``layer``, and the same return_sequences/return_state).

    The backward outputs of ``return_sequences`` are flipped back into input time order
    before merging. With ``return_state``: [merged, *forward_states, *backward_states].

    Example:
        >>> import numpy as np, shendu
        >>> bi = shendu.layers.Bidirectional(shendu.layers.LSTM(4, return_sequences=True))
        >>> bi(np.zeros((2, 5, 3), np.float32)).shape
        (2, 5, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional: `layer` must be an RNN layer. Received: layer={layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode. Received: merge_mode={merge_mode!r}; "
                             f"expected one of {list(_MERGE_MODES)}")
        cfg = layer.get_config()
        cfg["name"] = "forward_" + layer.name.removeprefix("forward_")
        self.forward_layer = _deserialize({"class_name": type(layer).__name__, "config": cfg})
        if backward_layer is None:
            bcfg = dict(cfg)
            bcfg["name"] = "backward_" + layer.name.removeprefix("forward_")
            bcfg["go_backwards"] = not layer.go_backwards
            self.backward_layer = _deserialize({"class_name": type(layer).__name__, "config": bcfg})
        else:
            if backward_layer.return_sequences != layer.return_sequences or \
                    backward_layer.return_state != layer.return_state:
                raise ValueError("Bidirectional: backward_layer must have the same return_sequences "
                                 "and return_state as layer")
            self.backward_layer = backward_layer
        self._given_backward = backward_layer is not None
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        for lay in (self.forward_layer, self.backward_layer):
            lay.zero_output_for_mask = self.return_sequences  # as Keras
        if weights is not None:
            self._initial_weights = weights

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        if getattr(self, "_initial_weights", None) is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def __call__(self, inputs, *args, **kwargs):
        if "mask" not in kwargs and getattr(inputs, "_keras_mask", None) is not None:
            kwargs["mask"] = inputs._keras_mask
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        kw = {"training": training}
        if mask is not None:
            kw["mask"] = mask_array(mask)
        f_init = b_init = None
        if initial_state is not None:
            half = len(initial_state) // 2
            f_init, b_init = list(initial_state[:half]), list(initial_state[half:])
        y_f = self.forward_layer(inputs, initial_state=f_init, **kw)
        y_b = self.backward_layer(inputs, initial_state=b_init, **kw)
        states = []
        if self.return_state:
            states = list(y_f[1:]) + list(y_b[1:])
            y_f, y_b = y_f[0], y_b[0]
        if self.return_sequences:
            y_b = y_b[:, ::-1]
        if self.merge_mode == "concat":
            out = ops.concatenate([y_f, y_b], axis=-1)
        elif self.merge_mode == "sum":
            out = y_f + y_b
        elif self.merge_mode == "mul":
            out = y_f * y_b
        elif self.merge_mode == "ave":
            out = (y_f + y_b) * 0.5
        else:
            out = [y_f, y_b]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def _symbolic_call(self, inputs, *args, **kwargs):
        return symbolic_call_grouped(self, super()._symbolic_call, inputs, *args, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences or self.return_state or self.merge_mode is None:
            return None
        return mask

    def compute_output_shape(self, input_shape):
        f = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            f, states = f[0], list(f[1:])
            states = states + states
        if self.merge_mode == "concat":
            out = [tuple(f[:-1]) + (f[-1] * 2,)]
        elif self.merge_mode is None:
            out = [tuple(f), tuple(f)]
        else:
            out = [tuple(f)]
        out = out + states
        return out[0] if len(out) == 1 else out

    def reset_states(self, states=None):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        cfg = {**super().get_config(), "layer": _serialize(self.forward_layer), "merge_mode": self.merge_mode}
        if self._given_backward:
            cfg["backward_layer"] = _serialize(self.backward_layer)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Layer):
    """Applies a layer to every time step: (batch, T, ...) -> (batch, T, ...out).

    The steps are folded into the batch ((batch * T, ...)), the layer is called once, and
    the result is unfolded, so the layer's weights are shared over time and there is no
    Python loop over steps.

    Example:
        >>> import numpy as np, shendu
        >>> td = shendu.layers.TimeDistributed(shendu.layers.Dense(6))
        >>> td(np.zeros((2, 5, 3), np.float32)).shape
        (2, 5, 6)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer. Received: layer={layer!r}")
        self.layer = layer

    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            raise shape_error(self, "an input of rank >= 3 (batch, timesteps, ...)", input_shape)

    def build(self, input_shape):
        self.layer._maybe_build((None,) + tuple(input_shape[2:]))

    def call(self, inputs, training=None):
        B, T = inputs.shape[:2]
        y = self.layer(ops.reshape(inputs, (B * T,) + tuple(inputs.shape[2:])), training=training)
        return ops.reshape(y, (B, T) + tuple(y.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = config["layer"]
        from .. import core
        table = {**_RNN_CLASSES, "Dense": core.Dense, "Activation": core.Activation,
                 **(custom_objects or {})}
        name = inner.get("class_name")
        if name not in table:
            raise ValueError(f"TimeDistributed.from_config: unknown layer class '{name}'; pass it "
                             f"in custom_objects (known: {sorted(table)})")
        config["layer"] = table[name].from_config(inner.get("config", {}))
        return cls(**config)


class Masking(Layer):
    """Masks time steps whose features all equal ``mask_value``.

    y = x * keep[..., None], keep = any(x != mask_value, axis=-1); the mask ``keep``
    (batch, timesteps) goes to the next layers as ``y._keras_mask`` (RNN layers skip
    those steps).

    Example:
        >>> import numpy as np, shendu
        >>> x = np.array([[[1.0], [0.0], [2.0]]], np.float32)
        >>> shendu.layers.Masking()(x)._keras_mask.tolist()
        [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        data = inputs.data if hasattr(inputs, "data") else np.asarray(inputs)
        return np.any(data != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self.compute_mask(inputs)
        out = inputs * keep[..., None].astype(inputs.dtype)
        out._keras_mask = keep
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
