"""The graph node: one differentiable operation with its forward and backward.

An op subclasses :class:`Function` and writes two methods side by side::

    class Exp(Function):
        '''y = e^x;  gx = gy * y'''
        def forward(ctx, x):
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y
        def backward(ctx, gy):
            y, = ctx.saved
            return gy * y

``forward`` receives plain arrays (the ``.data`` of each input Tensor) and the
op's keyword parameters; ``backward`` receives the gradient of the loss with
respect to the output and returns one gradient per input (or ``None`` for an
input that needs none). ``ctx`` is the node itself: whatever forward stores on
it, backward can read. Gradients may have the broadcast shape of the output;
the engine sums them back to each input's shape, once, in one place.
"""
import numpy as np

from .grad_mode import is_grad_enabled


class Function:
    """Base class of every differentiable op. Call ``MyOp.apply(*inputs, **params)``."""

    __slots__ = ("inputs", "needs_input_grad", "saved", "released", "__dict__")

    def __init__(self):
        self.inputs = ()
        self.needs_input_grad = ()
        self.saved = ()
        self.released = False

    def save_for_backward(self, *arrays):
        """Keep what backward needs (only that: memory lives as long as the graph)."""
        self.saved = arrays

    def forward(ctx, *xs, **params):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} must define forward")

    def backward(ctx, gy):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} has no backward")

    @classmethod
    def apply(cls, *inputs, **params):
        from .tensor import Tensor, as_tensor

        ref = _reference_dtype(inputs)
        tensors = tuple(x if isinstance(x, Tensor) else as_tensor(x, dtype=_scalar_dtype(x, ref))
                        for x in inputs)
        ctx = cls()
        y = ctx.forward(*(t.data for t in tensors), **params)
        needs = tuple(t.requires_grad for t in tensors)
        if is_grad_enabled() and any(needs):
            ctx.inputs = tensors
            ctx.needs_input_grad = needs
            return Tensor._from_op(y, ctx)
        return Tensor._from_op(y, None)

    def release(self):
        """Drop saved arrays and inputs once backward has used them."""
        self.saved = ()
        self.inputs = ()
        self.__dict__.clear()
        self.released = True


def _reference_dtype(inputs):
    from .tensor import Tensor
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            return x.data.dtype
    for x in inputs:
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return x.dtype
    return None


def _scalar_dtype(x, ref):
    # Python numbers are "weak": they take the float type of the tensors they meet,
    # so `x * 2.0` stays float32 (as in PyTorch and NumPy 2).
    if isinstance(x, (bool, int, float)) and ref is not None:
        return ref
    return None
