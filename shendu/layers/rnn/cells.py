"""Recurrent cells: SimpleRNNCell, LSTMCell, GRUCell (Keras arguments, weights and layout).

A cell is a Layer that computes ONE time step::

    output, new_states = cell(x_t, states, training=...)

with weights as Keras stores them: ``kernel`` (input_dim, gates*units),
``recurrent_kernel`` (units, gates*units), ``bias``. ``RNN(cell)`` loops it over
time; for the built-in cells with supported activations ``RNN`` instead runs the
whole sequence as one fused Function (``shendu/ops/recurrent.py``), which computes the same thing.

Dropout (``dropout`` on the inputs, ``recurrent_dropout`` on the previous state where
it enters the recurrent product) uses one mask per sequence, fixed over time, drawn
only when training (Keras's DropoutRNNCell).
"""
import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...ops.random import as_generator
from ..layer import Layer
from ...ops import recurrent


def _check_units(cls, units):
    if not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(f"{cls}: `units` must be a positive integer. Received: units={units!r}")
    return int(units)


def _check_rate(cls, name, v):
    v = float(v)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{cls}: `{name}` must be in [0, 1]. Received: {name}={v}")
    return min(v, 1.0)


class _UnitForgetBias:
    """LSTM bias initializer with ``unit_forget_bias``: [init(n), ones(n), init(2n)]."""

    def __init__(self, init, units):
        self.init, self.units = init, units

    def __call__(self, shape, dtype=None):
        n = self.units
        parts = [self.init((n,), dtype), np.ones((n,), dtype or "float32"), self.init((2 * n,), dtype)]
        return np.concatenate([np.asarray(p) for p in parts]).astype(dtype or parts[0].dtype)


class DropoutRNNCell:
    """Mixin: dropout masks of a cell, drawn once per sequence and cached until reset."""

    def _init_dropout(self, dropout, recurrent_dropout, seed):
        name = type(self).__name__
        self.dropout = _check_rate(name, "dropout", dropout)
        self.recurrent_dropout = _check_rate(name, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _draw(self, shape, rate, dtype):
        rng = self._rng if self._rng is not None else as_generator(None)
        keep = rng.random(shape) >= rate
        return keep.astype(dtype) * np.asarray(1.0 / (1.0 - rate), dtype)

    def get_dropout_mask(self, step_input):
        """(batch, input_dim) keep-mask scaled by 1/(1-rate), the same for every step."""
        if self._dropout_mask is None and 0 < self.dropout < 1:
            self._dropout_mask = self._draw(step_input.shape, self.dropout, self.dtype)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._recurrent_dropout_mask is None and 0 < self.recurrent_dropout < 1:
            self._recurrent_dropout_mask = self._draw(step_state.shape, self.recurrent_dropout, self.dtype)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


class _Cell(DropoutRNNCell, Layer):
    """Shared arguments, weights and configuration of the three built-in cells."""

    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = _check_units(name, units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_dropout(dropout, recurrent_dropout, seed)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) != 2 or input_shape[-1] is None:
            from ..layer import shape_error
            raise shape_error(self, "one time step (batch, features)", input_shape)

    def _bias_init(self):
        return self.bias_initializer

    def _bias_shape(self):
        return (self.gates * self.units,)

    def build(self, input_shape):
        g = self.gates * self.units
        self.kernel = self.add_weight((input_shape[-1], g), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight((self.units, g), self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint,
                                                name="recurrent_kernel")
        # Orthogonal() can return a Fortran-ordered array; keep weights C-contiguous so that
        # in-place updates through `.data.reshape(-1)` (gradcheck) reach them.
        self.recurrent_kernel.data = np.ascontiguousarray(self.recurrent_kernel.data)
        self.bias = self.add_weight(self._bias_shape(), self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias") if self.use_bias else None

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [np.zeros((batch_size or 1, s), self.dtype) for s in sizes]

    def _step_masks(self, inputs, h_tm1, training):
        dp = self.get_dropout_mask(inputs) if training else None
        rdp = self.get_recurrent_dropout_mask(h_tm1) if training else None
        return dp, rdp

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}

    # ---- the fused whole-sequence path used by RNN ----------------------------------
    def _fusable(self):
        names = [activations.serialize(self.activation)]
        if hasattr(self, "recurrent_activation"):
            names.append(activations.serialize(self.recurrent_activation))
        return all(n in recurrent.FUSED_ACTIVATIONS for n in names) and \
            type(self).call is type(self)._builtin_call

    def _input_projection(self, x, bias):
        """xw = x W + b for all steps as one (T*B, D) x (D, G) product, time-major
        (T, B, G): the small input is transposed, not the wide projection. (x has had its
        input dropout, ``_input_dropout``, first.)"""
        B, T, D = x.shape
        x = ops.reshape(ops.transpose(x, (1, 0, 2)), (T * B, D))
        xw = ops.linear(x, self.kernel, bias)
        return ops.reshape(xw, (T, B, xw.shape[-1]))

    def _input_dropout(self, x, training):
        """x times the cell's input-dropout mask (one (B, D) mask for every step)."""
        if training:
            dp = self.get_dropout_mask(np.empty((x.shape[0], x.shape[2])))
            if dp is not None:
                x = x * dp[:, None, :]
        return x

    def _fused_params(self, x, mask, training, reverse, sequences, zero_masked):
        rdp = self.get_recurrent_dropout_mask(np.empty((x.shape[0], self.units))) if training else None
        return dict(mask=mask, rmask=rdp, reverse=bool(reverse), sequences=bool(sequences),
                    zero_masked=bool(zero_masked), activation=activations.serialize(self.activation))


class SimpleRNNCell(_Cell):
    """Fully connected recurrence: h_t = activation(x_t W + b + h_{t-1} U).

    Args:
        units: size of the state (and output).
        activation: default 'tanh'.
        use_bias, kernel_initializer ('glorot_uniform'), recurrent_initializer
        ('orthogonal'), bias_initializer ('zeros'), regularizers and constraints of
        kernel, recurrent_kernel and bias: as Keras.
        dropout, recurrent_dropout: fractions dropped from x_t and from h_{t-1} (training only).
        seed: seed of the dropout masks.

    Weights: kernel (input_dim, units), recurrent_kernel (units, units), bias (units,).
    Gradients (one step): da = dh act'(a); gx = da W^T; gW = x^T da; gU = h^T da; gb = sum da.

    Example:
        >>> import numpy as np, shendu
        >>> cell = shendu.layers.SimpleRNNCell(4)
        >>> out, states = cell(np.ones((2, 3), np.float32), [np.zeros((2, 4), np.float32)])
        >>> out.shape
        (2, 4)
    """

    gates = 1

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        dp, rdp = self._step_masks(inputs, h_tm1, training)
        if dp is not None:
            inputs = inputs * dp
        h_in = h_tm1 * rdp if rdp is not None else h_tm1
        h = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        h = self.activation(h + ops.matmul(h_in, self.recurrent_kernel))
        return h, [h]

    _builtin_call = call

    def _fused_sequence(self, x, states, mask, training, reverse, sequences, zero_masked):
        x = self._input_dropout(x, training)  # first: the masks are drawn in this order
        xw = self._input_projection(x, self.bias)
        p = self._fused_params(x, mask, training, reverse, sequences, zero_masked)
        return recurrent.SimpleRNNSequence.apply(xw, self.recurrent_kernel, states[0], **p), 1


class LSTMCell(_Cell):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997), Keras's layout.

    With z = x_t W + h_{t-1} U + b split into the gates (i, f, c, o):
        i = ract(z_i), f = ract(z_f), g = act(z_c), o = ract(z_o)
        c_t = f c_{t-1} + i g,   h_t = o act(c_t)
    (act = ``activation`` 'tanh', ract = ``recurrent_activation`` 'sigmoid'). The backward
    pass is written out in ``recurrent.LSTMSequence``.

    Args: as SimpleRNNCell, plus ``recurrent_activation`` and ``unit_forget_bias`` (True:
    the forget-gate bias starts at 1, as Jozefowicz et al. 2015 recommend and Keras does).

    Weights: kernel (input_dim, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    States: [h, c].
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states
        dp, rdp = self._step_masks(inputs, h_tm1, training)
        if dp is not None:
            inputs = inputs * dp
        h_in = h_tm1 * rdp if rdp is not None else h_tm1
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_in, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        n = self.units
        i = self.recurrent_activation(z[:, :n])
        f = self.recurrent_activation(z[:, n:2 * n])
        g = self.activation(z[:, 2 * n:3 * n])
        o = self.recurrent_activation(z[:, 3 * n:])
        c = f * c_tm1 + i * g
        h = o * self.activation(c)
        return h, [h, c]

    _builtin_call = call

    def _fused_sequence(self, x, states, mask, training, reverse, sequences, zero_masked):
        x = self._input_dropout(x, training)  # first: the masks are drawn in this order
        p = self._fused_params(x, mask, training, reverse, sequences, zero_masked)
        p["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        parts = self._batch_parts(x, p)
        if parts > 1:
            bias = self.bias if self.bias is not None else np.zeros(4 * self.units, x.dtype)
            return recurrent.LSTMBatchSplit.apply(x, self.kernel, bias, self.recurrent_kernel,
                                              states[0], states[1], parts=parts, **p), 2
        xw = self._input_projection(x, self.bias)
        return recurrent.LSTMSequence.apply(xw, self.recurrent_kernel, states[0], states[1], **p), 2

    def _batch_parts(self, x, p):
        """How many threads the fused LSTM splits the batch over (1: no split)."""
        return recurrent.lstm_batch_parts(x, p)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """Gated recurrent unit (Cho et al. 2014), Keras's layout, gate order (z, r, h).

    reset_after=True (default, = PyTorch and cuDNN): bias (2, 3 units) = [input bias, recurrent bias],
        x_ = x_t W + b_in,  q = h_{t-1} U + b_rec
        z = ract(x_z + q_z), r = ract(x_r + q_r), hh = act(x_h + r q_h)
    reset_after=False: bias (3 units,),  hh = act(x_h + (r h_{t-1}) U_h)
    and in both  h_t = z h_{t-1} + (1 - z) hh.

    Args: as SimpleRNNCell, plus ``recurrent_activation`` ('sigmoid') and ``reset_after``.
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        dp, rdp = self._step_masks(inputs, h_tm1, training)
        if dp is not None:
            inputs = inputs * dp
        h_in = h_tm1 * rdp if rdp is not None else h_tm1
        n = self.units
        b_in = b_rec = None
        if self.bias is not None:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        x_ = ops.matmul(inputs, self.kernel)
        if b_in is not None:
            x_ = x_ + b_in
        U = self.recurrent_kernel
        if self.reset_after:
            q = ops.matmul(h_in, U)
            if b_rec is not None:
                q = q + b_rec
            z = self.recurrent_activation(x_[:, :n] + q[:, :n])
            r = self.recurrent_activation(x_[:, n:2 * n] + q[:, n:2 * n])
            hh = self.activation(x_[:, 2 * n:] + r * q[:, 2 * n:])
        else:
            q = ops.matmul(h_in, U[:, :2 * n])
            z = self.recurrent_activation(x_[:, :n] + q[:, :n])
            r = self.recurrent_activation(x_[:, n:2 * n] + q[:, n:])
            hh = self.activation(x_[:, 2 * n:] + ops.matmul(r * h_in, U[:, 2 * n:]))
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]

    _builtin_call = call

    def _fusable(self):
        return self.reset_after and super()._fusable()

    def _fused_sequence(self, x, states, mask, training, reverse, sequences, zero_masked):
        if self.bias is not None:
            b_in, b_rec = self.bias[0], self.bias[1]
        else:
            b_in, b_rec = None, np.zeros((3 * self.units,), self.dtype)
        x = self._input_dropout(x, training)  # first: the masks are drawn in this order
        xw = self._input_projection(x, b_in)
        p = self._fused_params(x, mask, training, reverse, sequences, zero_masked)
        p["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return recurrent.GRUSequence.apply(xw, self.recurrent_kernel, b_rec, states[0], **p), 1

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


CELLS = {c.__name__: c for c in (SimpleRNNCell, LSTMCell, GRUCell)}
