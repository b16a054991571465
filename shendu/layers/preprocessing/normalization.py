"""Normalization: feature-wise standardization with statistics learned by ``adapt``."""
import numpy as np

from ... import config as _config
from ... import ops
from ..layer import Layer
from .image_ops import to_float


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1 per feature.

    y = (x - mean) / max(sqrt(variance), epsilon)    (invert: y = mean + x * max(sqrt(var), eps))

    Args:
        axis: the axis or axes that index *features* (each gets its own mean and variance);
            the statistics are computed over all the other axes. Default -1 (the last axis);
            None: one mean and variance for everything.
        mean, variance: the statistics, when known (scalars or arrays broadcastable to the
            feature shape). Give both or neither; when neither, call ``adapt(data)`` before
            use (the layer then holds them as non-trainable weights ``mean`` and ``variance``).
        invert: apply the inverse transformation (turn normalized values back into data).

    Differentiable with respect to the inputs: gx = gy / max(sqrt(variance), eps).

    Example:
        >>> import numpy as np, shendu
        >>> layer = shendu.layers.Normalization()
        >>> layer.adapt(np.array([[0., 10.], [2., 30.]]))
        >>> layer(np.array([[1., 20.]])).numpy()
        array([[0., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"Normalization: `axis` must be an int, a tuple of ints or None. "
                             f"Received: axis={axis!r}")
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: pass both `mean` and `variance`, or neither (then "
                             f"call adapt()). Received: mean={mean!r}, variance={variance!r}")
        if 0 in axis:
            raise ValueError(f"Normalization: `axis` may not include the batch axis 0. "
                             f"Received: axis={axis!r}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.mean = self.variance = None

    # ---- shapes ----------------------------------------------------------------------
    def _feature_axes(self, ndim):
        out = []
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"Normalization '{self.name}': axis {a} is out of range for "
                                 f"inputs of rank {ndim}")
            out.append(a % ndim)
        if 0 in out:
            raise ValueError(f"Normalization '{self.name}': `axis` may not include the batch "
                             f"axis. Received: axis={self.axis!r} for inputs of rank {ndim}")
        return tuple(sorted(set(out)))

    def build(self, input_shape):
        ndim = len(input_shape)
        self._keep = self._feature_axes(ndim)
        for a in self._keep:
            if input_shape[a] is None:
                raise ValueError(f"Normalization '{self.name}': feature axis {a} must have a "
                                 f"known size. Received input shape {tuple(input_shape)}")
        self._feature_shape = tuple(int(input_shape[a]) for a in self._keep)
        self._broadcast_shape = tuple(int(input_shape[d]) if d in self._keep else 1
                                      for d in range(ndim))
        if self.input_mean is None:
            self.mean = self.add_weight(self._feature_shape, "zeros", trainable=False, name="mean")
            self.variance = self.add_weight(self._feature_shape, "ones", trainable=False,
                                            name="variance")
        else:
            def fixed(value, arg):
                try:
                    return np.broadcast_to(np.asarray(value, np.float64), self._feature_shape)
                except ValueError:
                    raise ValueError(f"Normalization '{self.name}': `{arg}` of shape "
                                     f"{np.shape(value)} does not broadcast to the feature shape "
                                     f"{self._feature_shape}") from None
            self._fixed_mean = fixed(self.input_mean, "mean")
            self._fixed_variance = fixed(self.input_variance, "variance")

    # ---- adapt -----------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` per feature (in float64) and store them.

        Args:
            data: an array (a whole data set, batch axis first), or an iterable of batches
                such as a batched ``shendu.data.Dataset`` (of a tuple element, the first item
                is used). The statistics are exact, merged batch by batch.
            batch_size: with an array, the rows per chunk (default: all at once).
            steps: with an iterable, the number of batches to use (default: all).
        """
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}': adapt() is for a layer built without "
                             f"`mean` and `variance`; this one was given them.")
        if hasattr(data, "shape") and hasattr(data, "dtype") or isinstance(data, (list, np.ndarray)):
            arr = np.asarray(data)
            size = batch_size or max(len(arr), 1)
            batches = (arr[i:i + size] for i in range(0, len(arr), size))
        else:
            batches = iter(data)
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            batch = np.asarray(batch, dtype=np.float64)
            if not self.built:
                self._maybe_build((None,) + batch.shape[1:])
            if batch.ndim != len(self._broadcast_shape):
                raise ValueError(f"Normalization '{self.name}': adapt() expects batches of rank "
                                 f"{len(self._broadcast_shape)} (the layer's input rank). Received "
                                 f"a batch of shape {batch.shape}")
            reduce = tuple(d for d in range(batch.ndim) if d not in self._keep)
            n = int(np.prod([batch.shape[d] for d in reduce]))
            if n == 0:
                continue
            b_mean = batch.mean(axis=reduce, keepdims=True)
            b_m2 = ((batch - b_mean) ** 2).sum(axis=reduce, keepdims=True)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.'s parallel update of mean and sum of squared deviations
                total = count + n
                delta = b_mean - mean
                mean = mean + delta * (n / total)
                m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
                count = total
        if mean is None:
            raise ValueError(f"Normalization '{self.name}': adapt() received no data")
        self.mean.assign(mean.reshape(self._feature_shape).astype(self.mean.dtype))
        self.variance.assign((m2 / count).reshape(self._feature_shape).astype(self.variance.dtype))

    # ---- call ------------------------------------------------------------------------
    def call(self, inputs):
        x = to_float(self, inputs)
        if self.input_mean is None:
            mean, var = self.mean.data, self.variance.data
        else:
            mean, var = self._fixed_mean, self._fixed_variance
        mean = np.asarray(mean, np.float64).reshape(self._broadcast_shape).astype(self.dtype)
        std = np.maximum(np.sqrt(np.asarray(var, np.float64)), _config.epsilon())
        std = std.reshape(self._broadcast_shape).astype(self.dtype)
        if self.invert:
            return ops.add(ops.multiply(x, std), mean)
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v
        axis = None if self.axis == () else (self.axis[0] if len(self.axis) == 1 else list(self.axis))
        return {**super().get_config(), "axis": axis, "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
