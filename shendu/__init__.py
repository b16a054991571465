"""shendu (深度, "deep"): a readable deep-learning library with a Keras-compatible API.

    import shendu as keras          # Keras programs run unchanged
    x = shendu.tensor([1.0, 2.0], requires_grad=True)   # or PyTorch-style autograd
"""
__version__ = "0.1.0"

from . import config  # noqa: F401
from .autograd import (Function, Tensor, as_tensor, enable_grad, is_grad_enabled,  # noqa: F401
                       Variable, no_grad, set_grad_enabled, tensor)
from . import ops  # noqa: F401
from .ops.creation import (arange, eye, full, ones, rand, randint, randn, zeros,  # noqa: F401
                           zeros_like, ones_like)
from .ops.random import Generator, manual_seed  # noqa: F401
from . import testing  # noqa: F401
from . import (activations, constraints, initializers, layers, regularizers,  # noqa: F401,E402
               losses, metrics, optimizers, callbacks, utils, models, data, saving)
from .layers import Input, InputLayer, InputSpec, KerasTensor, Layer  # noqa: F401,E402
from .models import Model, Sequential  # noqa: F401,E402
# Keras's base classes, at the top level as in Keras.
from .layers.operation import Operation  # noqa: F401,E402
from .losses import Loss  # noqa: F401,E402
from .metrics import Metric  # noqa: F401,E402
from .optimizers import Optimizer  # noqa: F401,E402
from .initializers import Initializer  # noqa: F401,E402
from .regularizers import Regularizer  # noqa: F401,E402
from .mixed_precision import DTypePolicy, FloatDTypePolicy  # noqa: F401,E402
from .scopes import RematScope, StatelessScope, device, name_scope, remat  # noqa: F401,E402


def version():
    """shendu's version string (Keras's ``keras.version()``)."""
    return __version__


# Keras's smaller namespaces, imported on first use so that `import shendu` stays fast.
_LAZY_MODULES = ("datasets", "backend", "random", "tree", "preprocessing", "mixed_precision", "explain")


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'shendu' has no attribute {name!r}")
