"""The recurrent layer ``RNN(cell)`` and the Keras layers built on it: SimpleRNN, LSTM, GRU.

``RNN`` loops a cell over the time axis of a (batch, timesteps, features) input.
Built-in cells with supported activations run the whole sequence as one fused
Function (one input projection for all steps, a NumPy/Numba time loop, BPTT in
the same Function); any other cell -- your own included -- is stepped in Python
with ordinary ops, which autograd differentiates. Both give the same numbers.

Masking: a (batch, timesteps) boolean mask, given as ``mask=`` or attached by the
layer before (``Masking``, ``Embedding(mask_zero=True)``) as ``inputs._keras_mask``.
At a masked step the state is carried through unchanged and the step contributes
no gradient; its output repeats the previous output (zeros when
``zero_output_for_mask``, which Bidirectional sets), as Keras.
"""
import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...autograd.tensor import Tensor
from ..layer import Layer, _flatten, _map_structure_shapes, _shape_of, shape_error
from .cells import CELLS, GRUCell, LSTMCell, SimpleRNNCell
from .stacked_rnn_cells import StackedRNNCells
from .stacked_rnn_cells import cell_state_sizes as _sizes


def mask_array(mask):
    """A mask (Tensor, array or None) as a NumPy bool array, or None."""
    if mask is None:
        return None
    return np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)


def serialize_cell(cell):
    return {"class_name": type(cell).__name__, "config": cell.get_config()}


def deserialize_cell(config, custom_objects=None):
    if not isinstance(config, dict):
        return config
    table = {**CELLS, "StackedRNNCells": StackedRNNCells, **(custom_objects or {})}
    name = config.get("class_name")
    if name not in table:
        raise ValueError(f"RNN: unknown cell class '{name}'; pass it in custom_objects "
                         f"(known: {sorted(table)})")
    if issubclass(table[name], StackedRNNCells):
        return table[name].from_config(config.get("config", {}), custom_objects)
    return table[name].from_config(config.get("config", {}))


def symbolic_call_grouped(layer, symbolic_call, inputs, *args, **kwargs):
    """``Layer._symbolic_call`` for a layer whose output shapes nest lists (the states of
    a stack of cells, grouped by cell): one symbolic tensor per array, as the layer call
    produces them in a Functional model, handed out in the structure an eager call has."""
    nested = layer.compute_output_shape(_shape_of(inputs))
    if not (isinstance(nested, list) and any(isinstance(s, list) for s in nested)):
        return symbolic_call(inputs, *args, **kwargs)
    leaves = []
    _map_structure_shapes(leaves.append, nested)
    layer.__dict__["compute_output_shape"] = lambda input_shape: leaves
    try:
        flat = symbolic_call(inputs, *args, **kwargs)
    finally:
        del layer.__dict__["compute_output_shape"]
    tensors = iter(flat)
    return _map_structure_shapes(lambda shape: next(tensors), nested)


class RNN(Layer):
    """Base class for recurrent layers: runs ``cell`` over the time axis.

    Args:
        cell: a cell Layer with ``call(inputs, states, training)`` returning
            ``(output, new_states)``, a ``state_size`` (int or list) and optionally
            ``output_size`` and ``get_initial_state(batch_size)``; or a list of cells,
            run as one ``StackedRNNCells`` (each cell reads the output of the one before).
        return_sequences: return every step's output (batch, timesteps, units) instead of
            the last one (batch, units).
        return_state: also return the final states: ``[output, *states]``; with a
            list of cells, one entry per cell (a list ``[h, c]`` for an LSTM cell).
        go_backwards: process the sequence backwards (outputs come in processing order).
        stateful: the final states of a batch are the initial states of the next one
            (same batch size); ``reset_states()`` zeroes them.
        unroll: accepted for Keras compatibility (the loop is never unrolled).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call arguments: ``inputs`` (batch, timesteps, features), ``initial_state`` (list of
    (batch, state_size) arrays; for a list of cells, grouped by cell as ``return_state``
    gives them, or flat), ``mask`` (batch, timesteps) bool, ``training``.

    Example:
        >>> import numpy as np, shendu
        >>> layer = shendu.layers.RNN(shendu.layers.LSTMCell(8), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), np.float32)).shape
        (2, 5, 8)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, activity_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell, dtype=kwargs.get("dtype"))
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"RNN: `cell` must be a layer with call(inputs, states) and a "
                             f"state_size. Received: cell={cell!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.states = None

    # ---- calling ----------------------------------------------------------------------
    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        if "mask" not in kwargs and getattr(inputs, "_keras_mask", None) is not None:
            kwargs["mask"] = inputs._keras_mask
        if initial_state is not None:
            inputs = [inputs] + _flatten(initial_state)  # (states grouped by cell, or flat)
        return super().__call__(inputs, *args, **kwargs)

    def _symbolic_call(self, inputs, *args, **kwargs):
        return symbolic_call_grouped(self, super()._symbolic_call, inputs, *args, **kwargs)

    def _check_input_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if not isinstance(shape, tuple) or len(shape) != 3 or shape[-1] is None:
            raise shape_error(self, "a 3-D input (batch, timesteps, features)", shape)

    def _check_features(self, shape):
        """Each call's input against the shape the weights were built for: the cell sees
        (batch, features) slices, so the user's (batch, timesteps, features) is named here."""
        built = self._build_input_shape
        built = built[0] if isinstance(built, list) else built
        if len(shape) != 3 or (built is not None and shape[-1] != built[-1]):
            features = built[-1] if built is not None else "features"
            raise shape_error(self, f"a 3-D input (batch, timesteps, {features})", shape)

    def build(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        self.cell._maybe_build((shape[0], shape[-1]))
        for w in self.cell.weights:
            if not w.path.startswith(self.name + "/"):
                w.path = f"{self.name}/{w.path}"  # Keras's path: lstm/lstm_cell/kernel

    def get_initial_state(self, batch_size):
        """The states a sequence starts from when none are given: the cell's
        ``get_initial_state``, else zeros (a flat list, one array per state)."""
        if hasattr(self.cell, "get_initial_state"):
            return _flatten(self.cell.get_initial_state(batch_size))
        return [np.zeros((batch_size, s), self.dtype) for s in _sizes(self.cell)]

    def _initial_states(self, batch, initial_state):
        sizes = _sizes(self.cell)
        if initial_state is not None:
            if len(initial_state) != len(sizes):
                raise ValueError(f"Layer '{self.name}' expects {len(sizes)} initial state(s) of sizes "
                                 f"{sizes}, received {len(initial_state)}")
            return list(initial_state)
        if self.stateful and self.states is not None:
            if self.states[0].shape[0] != batch:
                raise ValueError(f"Stateful layer '{self.name}' holds states for batch size "
                                 f"{self.states[0].shape[0]}, received a batch of {batch}; "
                                 "a stateful RNN needs a fixed batch size (or reset_states())")
            return [s for s in self.states]
        return self.get_initial_state(batch)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], (list(inputs[1:]) or initial_state)
        mask = mask_array(mask if mask is not None else getattr(inputs, "_keras_mask", None))
        if mask is not None and mask.ndim == 3:
            mask = mask.any(axis=-1)
        self._check_features(tuple(inputs.shape))
        B, T = inputs.shape[:2]
        states = self._initial_states(B, initial_state)
        cell = self.cell
        training = bool(training)
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(cell, reset):
                getattr(cell, reset)()
        if getattr(cell, "_fusable", None) is not None and cell._fusable() and T > 0:
            packed, k = cell._fused_sequence(inputs, states, mask, training, self.go_backwards,
                                             self.return_sequences, self.zero_output_for_mask)
            j = T if self.return_sequences else 0
            seq = packed[:, :T] if self.return_sequences else None
            last = packed[:, j]
            finals = [packed[:, j + 1 + i] for i in range(k)]
        else:
            seq, last, finals = self._loop(inputs, states, mask, training)
        if self.stateful:
            self.states = [np.array(f.data if isinstance(f, Tensor) else f) for f in finals]
        output = seq if self.return_sequences else last
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(output) / max(B, 1))
        if self.return_state:
            return [output] + self._group_states(list(finals))
        return output

    def _group_states(self, flat):
        return self.cell.nest_states(flat) if isinstance(self.cell, StackedRNNCells) else flat

    def _loop(self, x, states, mask, training):
        """Step the cell in Python (any cell); autograd differentiates through the steps."""
        T = x.shape[1]
        states = [s if isinstance(s, Tensor) else Tensor(s) for s in states]
        order = range(T - 1, -1, -1) if self.go_backwards else range(T)
        outs, prev = [], None
        for t in order:
            out, new = self.cell(x[:, t], states, training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                m = mask[:, t:t + 1]
                new = [ops.where(m, a, b) for a, b in zip(new, states)]
                if self.zero_output_for_mask or prev is None:
                    prev = ops.zeros_like(out)
                out = ops.where(m, out, prev)
            states, prev = new, out
            outs.append(out)
        seq = ops.stack(outs, axis=1) if self.return_sequences else None
        return seq, outs[-1], states

    def compute_mask(self, inputs, mask=None):
        """The output's mask (the input's, for sequences); with ``return_state``, a list
        with None for each state entry, as Keras."""
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(self._group_states(_sizes(self.cell)))
        return out

    def reset_states(self, states=None):
        """Zero the states of a stateful layer (or set them to ``states``)."""
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' is not stateful: reset_states() needs stateful=True")
        if states is not None:
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            self.states = [np.array(s.data if isinstance(s, Tensor) else s, dtype=self.dtype) for s in states]
        elif self.states is not None:
            self.states = [np.zeros_like(s) for s in self.states]
        else:
            batch = (self._batch_input_shape or (None,))[0]
            self.states = [np.zeros((batch, s), self.dtype) for s in _sizes(self.cell)] if batch else None

    reset_state = reset_states

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        B, T = shape[0], shape[1]
        n = getattr(self.cell, "output_size", None) or _sizes(self.cell)[0]
        out = (B, T, n) if self.return_sequences else (B, n)
        if self.return_state:
            return [out] + self._group_states([(B, s) for s in _sizes(self.cell)])
        return out

    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    def get_config(self):
        return {**super().get_config(), "cell": serialize_cell(self.cell), **self._rnn_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cell"] = deserialize_cell(config["cell"], custom_objects)
        return cls(**config)


_CELL_BASE_KEYS = ("name", "trainable", "dtype")


class _KerasRNN(RNN):
    """SimpleRNN / LSTM / GRU: an RNN whose cell is built from the layer's own arguments."""

    cell_class = None
    _takes_use_cudnn = False  # LSTM and GRU (Keras's argument)

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, activity_regularizer=None,
                 **kwargs):
        base = {k: kwargs.pop(k) for k in ("name", "trainable", "dtype", "input_shape",
                                           "batch_input_shape", "batch_size", "input_dim",
                                           "autocast") if k in kwargs}
        if self._takes_use_cudnn:
            self.__dict__["use_cudnn"] = _check_use_cudnn(type(self).__name__,
                                                          kwargs.pop("use_cudnn", "auto"))
        cell = self.cell_class(units, dtype=base.get("dtype"), trainable=base.get("trainable", True),
                               **kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask,
                         activity_regularizer=activity_regularizer, **base)

    def __getattr__(self, name):
        # units, activation, dropout, ... and the weights are the cell's (as Keras).
        if name.startswith("__") or "cell" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["cell"], name)

    def get_config(self):
        cell_cfg = {k: v for k, v in self.cell.get_config().items() if k not in _CELL_BASE_KEYS}
        return {**Layer.get_config(self), **cell_cfg, **self._rnn_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _check_use_cudnn(cls, use_cudnn):
    # Keras picks cuDNN's kernel when it can ("auto"); shendu has none: "auto" and False
    # both run shendu's own loop, and True (cuDNN or an error, in Keras) cannot be met.
    if isinstance(use_cudnn, str) and use_cudnn != "auto" or use_cudnn not in ("auto", True, False):
        raise ValueError(f"{cls}: `use_cudnn` must be one of 'auto', True, False. "
                         f"Received: use_cudnn={use_cudnn!r}")
    if use_cudnn is True:
        raise ValueError(f"{cls}: use_cudnn=True asks for cuDNN, which shendu does not use; "
                         "pass use_cudnn='auto' (the default) or False")
    return use_cudnn


class SimpleRNN(_KerasRNN):
    """Fully connected RNN, h_t = activation(x_t W + h_{t-1} U + b): ``SimpleRNN(units, ...)``.

    Arguments: those of ``SimpleRNNCell`` (units, activation='tanh', use_bias, initializers
    'glorot_uniform'/'orthogonal'/'zeros', regularizers, constraints, dropout,
    recurrent_dropout, seed) and of ``RNN`` (return_sequences, return_state, go_backwards,
    stateful, unroll).
    """

    cell_class = SimpleRNNCell


class LSTM(_KerasRNN):
    """Long short-term memory layer: ``LSTM(units, ...)`` with Keras's arguments and weights.

    Arguments: those of ``LSTMCell`` (units, activation='tanh', recurrent_activation='sigmoid',
    use_bias, kernel/recurrent/bias initializers 'glorot_uniform'/'orthogonal'/'zeros',
    unit_forget_bias=True, regularizers, constraints, dropout, recurrent_dropout, seed) and of
    ``RNN``. Weights: kernel (input_dim, 4 units), recurrent_kernel (units, 4 units),
    bias (4 units,), gates in the order i, f, c, o. With return_state: [output, h, c].

    Example:
        >>> import numpy as np, shendu
        >>> out, h, c = shendu.layers.LSTM(4, return_state=True)(np.zeros((2, 5, 3), np.float32))
        >>> out.shape, h.shape, c.shape
        ((2, 4), (2, 4), (2, 4))
    """

    cell_class = LSTMCell
    _takes_use_cudnn = True


class GRU(_KerasRNN):
    """Gated recurrent unit layer: ``GRU(units, ...)``, ``reset_after=True`` by default (Keras 3,
    PyTorch and cuDNN's formulation; bias of shape (2, 3 units)), gates in the order z, r, h.

    Arguments: those of ``GRUCell`` and of ``RNN``.
    """

    cell_class = GRUCell
    _takes_use_cudnn = True
