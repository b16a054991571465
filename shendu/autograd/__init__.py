"""The engine: Tensor, Function, reverse-mode backward, no_grad, gradcheck."""
from .engine import grad  # noqa: F401
from .function import Function  # noqa: F401
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor import Tensor, as_tensor, tensor  # noqa: F401
from .variable import Variable  # noqa: F401
