"""CategoryEncoding, and the integer -> one_hot / multi_hot / count encoding that the
lookup, hashing and discretization layers share."""
import numpy as np

from ...autograd.tensor import Tensor
from ..layer import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def encode_categorical(indices, output_mode, depth, dtype, count_weights=None, idf_weights=None):
    """Integer ``indices`` (values in [0, depth)) encoded as Keras does.

    int: the indices themselves (cast to ``dtype``). one_hot: a trailing axis of size
    ``depth`` (a trailing input axis of size 1 is replaced). multi_hot / count / tf_idf:
    one row of ``depth`` per sample (a 1-D input is one sample), holding 1 where a value
    occurs / the (weighted) number of occurrences / the count times ``idf_weights``.
    """
    indices = np.asarray(indices)
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return (indices[..., None] == np.arange(depth)).astype(dtype)
    rows = indices.reshape(1, -1) if indices.ndim == 1 else indices.reshape(indices.shape[0], -1)
    out = np.zeros((rows.shape[0], depth), np.float64)
    weights = np.ones(rows.shape) if count_weights is None else \
        np.asarray(count_weights, np.float64).reshape(rows.shape)
    np.add.at(out, (np.arange(rows.shape[0])[:, None], rows), weights)
    if output_mode == "multi_hot":
        out = (out > 0).astype(np.float64)
    elif output_mode == "tf_idf":
        out = out * np.asarray(idf_weights, np.float64)
    out = out.astype(dtype)
    return out[0] if indices.ndim == 1 else out


def check_in_range(layer, values, depth):
    if values.size and (values.min() < 0 or values.max() >= depth):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': input values must be in the "
                         f"range 0 <= values < num_tokens with num_tokens={depth}. Received: "
                         f"values in [{values.min()}, {values.max()}]")


class CategoryEncoding(Layer):
    """Encodes integer features as one-hot, multi-hot or count vectors of ``num_tokens``.

    Args:
        num_tokens: the number of tokens (values in [0, num_tokens)); required, >= 1.
        output_mode: 'multi_hot' (default), 'one_hot' or 'count'.
        sparse: must be False (dense outputs only).

    ``call(inputs, count_weights=None)``: ``count_weights`` weighs each input value in
    'count' mode. Not differentiable (integer inputs).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1]])).numpy()
        array([[1., 2., 0., 0.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":  # Keras's old name
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"CategoryEncoding: unknown `output_mode`; expected 'count', "
                             f"'one_hot' or 'multi_hot'. Received: output_mode={output_mode!r}")
        if num_tokens is None:
            raise ValueError("CategoryEncoding: `num_tokens` must be set. Received: "
                             "num_tokens=None")
        if num_tokens < 1:
            raise ValueError(f"CategoryEncoding: `num_tokens` must be >= 1. "
                             f"Received: num_tokens={num_tokens}")
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported; "
                             "use sparse=False. Received: sparse=True")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse

    def call(self, inputs, count_weights=None):
        values = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs)
        if values.dtype.kind == "f":
            values = values.astype(np.int64)
        check_in_range(self, values, self.num_tokens)
        if count_weights is not None:
            if isinstance(count_weights, Tensor):
                count_weights = count_weights.data
        return Tensor(encode_categorical(values, self.output_mode, self.num_tokens, self.dtype,
                                         count_weights=count_weights))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return (input_shape[0], self.num_tokens) if len(input_shape) > 1 else (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}
