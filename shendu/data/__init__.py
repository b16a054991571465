"""Input pipelines: ``Dataset.from_tensor_slices((x, y)).shuffle(...).batch(...)``."""
from .dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset  # noqa: F401
