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

Saved tensors and in-place changes: when forward saves an input's array for
backward, the node also records that input's version (``Tensor._version``). The
library bumps the version on every in-place write it makes or offers
(``Variable.assign``/``assign_add``/``assign_sub``, so ``set_weights`` and
``load_weights``, and every optimizer update), and backward refuses to use a
saved array whose tensor has changed since: the gradient would silently be
computed with the new values (PyTorch raises here too). Not seen: a raw NumPy
write into the array (``t.data[...] = v``, ``t.data += v``), which cannot be
noticed without comparing the data; rebinding ``t.data`` to a new array is
harmless, since the node keeps the old one.
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
            if ctx.saved:
                ctx.saved_versions = _saved_versions(ctx.saved, tensors)
            return Tensor._from_op(y, ctx)
        return Tensor._from_op(y, None)

    saved_versions = ()  # ((input index, its version when saved), ...): see the module docstring

    def check_saved_versions(self):
        """Raise if an input whose array this node saved was changed in place since forward."""
        for i, version in self.saved_versions:
            t = self.inputs[i]
            if t._version != version:
                raise RuntimeError(_modified_message(self, i, t, version))

    def release(self):
        """Drop saved arrays and inputs once backward has used them."""
        self.saved = ()
        self.inputs = ()
        self.__dict__.clear()
        self.released = True


def _saved_versions(saved, tensors):
    """(index, version) of each input whose array (or a view of it) is among ``saved``:
    identity checks only, no work proportional to the data."""
    out = []
    for i, t in enumerate(tensors):
        d = t.data
        for a in saved:
            if a is d or getattr(a, "base", None) is d:
                out.append((i, t._version))
                break
    return tuple(out)


def _modified_message(fn, i, t, version):
    name = getattr(t, "path", None) or t.name
    what = f"{type(t).__name__} '{name}'" if name else f"a {type(t).__name__}"
    return (f"A tensor saved by {type(fn).__name__} for backward was modified in place "
            f"(version {version} -> {t._version}): input {i} of {type(fn).__name__}, {what} of "
            f"shape {tuple(t.shape)} and dtype {t.dtype}. It was changed (by Variable.assign/"
            "assign_add/assign_sub, set_weights, load_weights or an optimizer step) after the "
            "forward pass that used it and before backward(), so the gradient would use the "
            "new values. Call backward() before updating the weights, or run the forward "
            "pass again.")


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
