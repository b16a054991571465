"""Recurrent layers: cells, StackedRNNCells, the generic RNN, SimpleRNN/LSTM/GRU, Bidirectional, TimeDistributed, Masking."""
from .cells import GRUCell, LSTMCell, SimpleRNNCell  # noqa: F401
from .rnn import GRU, LSTM, RNN, SimpleRNN  # noqa: F401
from .stacked_rnn_cells import StackedRNNCells  # noqa: F401
from .wrappers import Bidirectional, Masking, TimeDistributed  # noqa: F401
