"""Models: ``Sequential``, Functional ``Model(inputs, outputs)``, and subclassed ``Model``."""
from .functional import Functional  # noqa: F401
from .model import Model  # noqa: F401
from .sequential import Sequential  # noqa: F401
