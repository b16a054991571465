"""The Dot merge layer: a per-sample dot product of two tensors along chosen axes."""
import numpy as np

from .. import ops
from .layer import Layer

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _resolve_axes(axes, ndim1, ndim2):
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    return [a % n if a < 0 else a for a, n in zip(axes, (ndim1, ndim2))]


def _batch_dot_subscripts(ndim1, ndim2, a1, a2):
    """Einsum subscripts contracting x's axis ``a1`` with y's axis ``a2``, sample by sample:
    the output keeps the batch axis, then x's other axes, then y's."""
    batch, summed = "z", "y"
    free = iter(_LETTERS[:24])
    sx = [batch] + [summed if i == a1 else next(free) for i in range(1, ndim1)]
    sy = [batch] + [summed if i == a2 else next(free) for i in range(1, ndim2)]
    out = [batch] + [c for c in sx[1:] if c != summed] + [c for c in sy[1:] if c != summed]
    return f"{''.join(sx)},{''.join(sy)}->{''.join(out)}"


class Dot(Layer):
    """out[b, ...] = sum_k x1[b, ..., k, ...] x2[b, ..., k, ...] along ``axes``.

    The output holds the batch axis, then x1's remaining axes, then x2's (two 2-D inputs
    give shape (batch, 1), as Keras). With ``normalize=True`` both inputs are L2-normalized
    along the dot axes first, so the output is the cosine similarity.
    Gradients: those of the contraction (ops.einsum) and of ops.normalize.

    Args:
        axes: an int, or a pair (axis of x1, axis of x2); never 0, the batch axis.
        normalize: L2-normalize along the dot axes first (False).

    Example:
        >>> import numpy as np, shendu
        >>> x = np.arange(6, dtype="float32").reshape(2, 3)
        >>> shendu.layers.Dot(axes=1)([x, x]).numpy()
        array([[ 5.],
               [50.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, (int, np.integer)):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Dot: `axes` must be an int or a list of two ints. "
                                f"Received: axes={axes!r}")
            if len(axes) != 2 or not all(isinstance(a, (int, np.integer)) for a in axes):
                raise ValueError(f"Dot: `axes` must hold exactly two integers. "
                                 f"Received: axes={axes!r}")
        self.axes = axes
        self.normalize = normalize

    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"Dot: the layer '{self.name}' must be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        s1, s2 = input_shape
        a1, a2 = _resolve_axes(self.axes, len(s1), len(s2))
        if 0 in (a1, a2) or not (a1 < len(s1) and a2 < len(s2)):
            raise ValueError(f"Dot: `axes` must name a non-batch axis of each input. "
                             f"Received: axes={self.axes} for input shapes {s1}, {s2}")
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Dot: incompatible input shapes: axis values {s1[a1]} (at axis {a1}) "
                             f"!= {s2[a2]} (at axis {a2}). Full input shapes: {s1}, {s2}")

    def call(self, inputs):
        x1, x2 = inputs
        a1, a2 = _resolve_axes(self.axes, x1.ndim, x2.ndim)
        if self.normalize:
            x1 = ops.normalize(x1, axis=a1)
            x2 = ops.normalize(x2, axis=a2)
        out = ops.einsum(_batch_dot_subscripts(x1.ndim, x2.ndim, a1, a2), x1, x2)
        return ops.expand_dims(out, 1) if out.ndim == 1 else out

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        s1, s2 = (list(s) for s in input_shape)
        a1, a2 = _resolve_axes(self.axes, len(s1), len(s2))
        s1.pop(a1)
        s2.pop(a2)
        out = s1 + s2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, **kwargs):
    """The functional form of :class:`Dot`: ``dot([x1, x2], axes=1)``."""
    return Dot(axes=axes, **kwargs)(inputs)
