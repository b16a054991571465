"""``StackedRNNCells``: a list of RNN cells stepped as one cell (``RNN([cell_a, cell_b])``)."""
import numpy as np

from ..layer import Layer, _flatten


def cell_state_sizes(cell):
    """A cell's state sizes as a flat list of ints (a stack of cells: every cell's in turn)."""
    size = cell.state_size
    return [int(s) for s in _flatten(list(size))] if isinstance(size, (list, tuple)) \
        else [int(size)]


class StackedRNNCells(Layer):
    """Runs a list of cells as one cell: at each step the first cell reads the input,
    each next cell reads the output of the one before, and the step's output is the last
    cell's.

    The states are grouped by cell (Keras's structure): ``state_size`` is
    ``[cell.state_size for cell in cells]``, and ``call`` takes and returns one entry per
    cell, a list for a cell with several states (an LSTM cell's ``[h, c]``). ``call``
    also takes the states as one flat list (what ``RNN`` passes) and then returns them
    flat. Weights are the cells' own, in cell order.

    Args:
        cells: a list of cells (layers with ``call(inputs, states)`` and ``state_size``).

    Example:
        >>> import numpy as np, shendu
        >>> from shendu import layers
        >>> rnn = layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], return_state=True)
        >>> out, lstm_states, gru_state = rnn(np.zeros((2, 5, 6), np.float32))
        >>> out.shape, [s.shape for s in lstm_states], gru_state.shape
        ((2, 3), [(2, 4), (2, 4)], (2, 3))
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError("StackedRNNCells expects a non-empty list of cells. "
                             f"Received: cells={cells!r}")
        for cell in cells:
            if not callable(getattr(cell, "call", None)) or not hasattr(cell, "state_size"):
                raise ValueError("StackedRNNCells: every cell must have a `call` method and a "
                                 f"`state_size`. Received: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def _counts(self):
        return [len(cell_state_sizes(cell)) for cell in self.cells]

    def nest_states(self, flat):
        """Flat states grouped by cell: one entry per cell, a list for a cell whose
        ``state_size`` is a list."""
        out, i = [], 0
        for cell, n in zip(self.cells, self._counts()):
            group = list(flat[i:i + n])
            out.append(group if isinstance(cell.state_size, (list, tuple)) else group[0])
            i += n
        return out

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                states.append(cell.get_initial_state(batch_size))
            else:
                states.append([np.zeros((batch_size or 1, s), self.dtype)
                               for s in cell_state_sizes(cell)])
        return states

    def build(self, input_shape):
        batch = input_shape[0]
        for cell in self.cells:
            cell._maybe_build(input_shape)
            input_shape = (batch, _output_size(cell))
        for w in self.weights:
            if not w.path.startswith(self.name + "/"):
                w.path = f"{self.name}/{w.path}"  # Keras's path: rnn/stacked_rnn_cells/lstm_cell/kernel

    def call(self, inputs, states, training=False):
        counts = self._counts()
        flat = len(states) == sum(counts) and not any(isinstance(s, (list, tuple)) for s in states)
        groups = self.nest_states(states) if flat else list(states)
        if len(groups) != len(self.cells) or any(
                len(g) != n if isinstance(g, (list, tuple)) else n != 1
                for g, n in zip(groups, counts)):
            raise ValueError(f"StackedRNNCells '{self.name}' expects the states of its "
                             f"{len(self.cells)} cells, {counts} array(s) each, grouped by cell "
                             f"or flat; received {len(states)} entries")
        new_states = []
        for cell, group in zip(self.cells, groups):
            nested = isinstance(group, (list, tuple))
            inputs, new = cell(inputs, list(group) if nested else [group], training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            new_states.append(new if nested else new[0])
        if flat:
            return inputs, _flatten(new_states)
        return inputs, new_states

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size)

    def get_config(self):
        from .rnn import serialize_cell
        return {**super().get_config(), "cells": [serialize_cell(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .rnn import deserialize_cell
        config = dict(config)
        cells = config.pop("cells", None)
        if not isinstance(cells, list):
            raise ValueError("StackedRNNCells.from_config: `cells` must be a list of cell "
                             f"configs. Received: cells={cells!r}")
        return cls([deserialize_cell(c, custom_objects) for c in cells], **config)


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else cell_state_sizes(cell)[0]
