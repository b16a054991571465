"""Utilities (``keras.utils``): the progress bar, label helpers, seeding,
``PyDataset`` and plotting."""
from .numerical_utils import normalize, to_categorical  # noqa: F401
from .plotting import plot_history  # noqa: F401
from .progbar import Progbar  # noqa: F401
from .py_dataset import PyDataset, Sequence  # noqa: F401
from .rng_utils import set_random_seed  # noqa: F401
from ..saving.registry import register_keras_serializable, register_serializable  # noqa: F401,E501
