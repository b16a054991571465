"""Discretization: bucket continuous values by boundaries given or learned by ``adapt``."""
import numpy as np

from ...autograd.tensor import Tensor
from ..layer import Layer
from .category_encoding import encode_categorical


def _summarize(values, epsilon):
    """A quantile summary of ``values``: every k-th sorted value (k = n epsilon, at least 1;
    the k-th, 2k-th, ...), each standing for k values; all of them when n < 1 / epsilon."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size / (1.0 / epsilon), 1)
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.full(kept.shape, step, kept.dtype)])


def _compress(summary, epsilon):
    """The summary re-sampled at the cumulative-weight fractions epsilon, 2 epsilon, ..., 1
    (unchanged when it is already that small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    cum_frac = cum / cum[-1]
    bins = np.interp(fractions, cum_frac, summary[0])
    cum_at = np.interp(fractions, cum_frac, cum)
    weights = cum_at - np.concatenate(([0.0], cum_at[:-1]))
    return np.stack([bins, weights]).astype("float32")


def _merge(a, b, epsilon):
    merged = np.concatenate((a, b), axis=1)
    return _compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)


class Discretization(Layer):
    """Buckets each value: index i where boundaries[i-1] <= x < boundaries[i] (0 below the
    first boundary, len(boundaries) from the last one up), then encoded by ``output_mode``.

    Args:
        bin_boundaries: sorted boundaries; or
        num_bins: how many bins ``adapt`` learns (approximate quantiles, relative error
            about ``epsilon``, as Keras computes them).
        epsilon: 0.01.
        output_mode: 'int' (int64 indices), 'one_hot', 'multi_hot' or 'count'.
        sparse: must be False.

    Example:
        >>> import numpy as np, shendu
        >>> d = shendu.layers.Discretization(bin_boundaries=[0.0, 1.0])
        >>> d(np.array([[-1.5, 0.5, 1.0]])).numpy()
        array([[0, 1, 2]])
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("Discretization: sparse outputs are not supported; use "
                             "sparse=False. Received: sparse=True")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Discretization: `output_mode` must be one of 'int', 'one_hot', "
                             f"'multi_hot', 'count'. Received: output_mode={output_mode!r}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"Discretization: `num_bins` must be >= 0. "
                             f"Received: num_bins={num_bins}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Discretization: set `num_bins` or `bin_boundaries`, not both. "
                             f"Received: num_bins={num_bins} and bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins, self.epsilon = num_bins, epsilon
        self.output_mode, self.sparse = output_mode, sparse
        self.summary = None if self.bin_boundaries else np.zeros((2, 0), "float32")

    def adapt(self, data, steps=None):
        """Learn ``num_bins - 1`` boundaries from an array or an iterable of batches."""
        if self.num_bins is None:
            raise ValueError("Discretization: cannot adapt a layer made with `bin_boundaries`; "
                             "use `num_bins` instead.")
        self.summary = np.zeros((2, 0), "float32")
        batches = [data] if isinstance(data, (np.ndarray, Tensor)) or np.isscalar(data) else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            batch = batch.data if isinstance(batch, Tensor) else batch
            self.summary = _merge(_summarize(np.asarray(batch, "float32"), self.epsilon),
                                  self.summary, self.epsilon)
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def _convert_input(self, x):
        return x  # values are compared, never differentiated: no float cast here

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("Discretization: pass `bin_boundaries` or call `adapt(data)` "
                             "before calling the layer.")
        # Compared in the layer's float type, as Keras casts its inputs (a float64 value
        # just under a float32 boundary lands in the boundary's bin).
        values = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs, self.dtype)
        indices = np.digitize(values, np.asarray(self.bin_boundaries, self.dtype))
        dtype = "int64" if self.output_mode == "int" else self.dtype
        return Tensor(encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1,
                                         dtype))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return (input_shape[0],) + input_shape[2:] + (depth,) if len(input_shape) >= 2 else (depth,)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse}
