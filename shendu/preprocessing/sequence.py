"""``keras.preprocessing.sequence``: ``pad_sequences`` under its older name."""
from ..utils.sequence_utils import pad_sequences  # noqa: F401
