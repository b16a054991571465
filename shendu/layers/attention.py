"""Keras's attention layers: ``MultiHeadAttention`` and ``GroupQueryAttention``.

Both project query, key and value with ``EinsumDense`` sub-layers (named ``query``, ``key``,
``value``, optionally ``gate``, and ``attention_output``, created in Keras's order, so
``set_weights(keras_layer.get_weights())`` carries over), then attend with
``ops.dot_product_attention`` (the fused kernel, unless disabled) or, when the weights are
wanted (``return_attention_scores``) or dropped out (``dropout > 0``), with the explicit
softmax(Q K^T / sqrt(d)) V.

Masks: the Keras masks of query and value (and of key when it is given), as set by
``Embedding(mask_zero=True)``, an ``attention_mask`` (B, T, S) and ``use_causal_mask`` combine
into one boolean (B, T, S) mask: query t may attend to key s where all allow it.
"""
import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..autograd.tensor import Tensor
from .einsum_dense import EinsumDense
from .layer import KerasTensor, Layer, _flatten
from .regularization import Dropout


def _positive_int(layer, name, value, optional=False):
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer"
                         f"{' or None' if optional else ''}. Received: {name}={value!r}")
    return int(value)


def _bool_mask(m):
    if m is None:
        return None
    return np.asarray(m.data if isinstance(m, Tensor) else m).astype(bool, copy=False)


class _Attention(Layer):
    """What MultiHeadAttention and GroupQueryAttention share: the call plumbing (query,
    value, key and their masks), the mask, the attention itself and the configuration."""

    supports_masking = True

    def _init_common(self, dropout, use_bias, sliding_window, flash_attention,
                     kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                     activity_regularizer, kernel_constraint, bias_constraint, use_gate, seed):
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"{type(self).__name__}: `dropout` must be in [0, 1]. "
                             f"Received: dropout={dropout!r}")
        if sliding_window is not None:
            raise ValueError(f"{type(self).__name__}: `sliding_window` is not supported by "
                             f"shendu yet. Received: sliding_window={sliding_window!r}")
        self._dropout = float(dropout)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._dropout_layer = Dropout(self._dropout, seed=seed)
        self._return_scores = False

    def _dense(self, equation, output_shape, bias_axes, name, input_shape, activation=None):
        # Each sub-layer gets its own copy of the initializers (one shared instance with a
        # seed would give every projection the same values).
        init = initializers.serialize(self._kernel_initializer)
        binit = initializers.serialize(self._bias_initializer)
        layer = EinsumDense(equation, output_shape, activation=activation,
                            bias_axes=bias_axes if self._use_bias else None,
                            kernel_initializer=initializers.get(init),
                            bias_initializer=initializers.get(binit),
                            kernel_regularizer=self._kernel_regularizer,
                            bias_regularizer=self._bias_regularizer,
                            activity_regularizer=self._activity_regularizer,
                            kernel_constraint=self._kernel_constraint,
                            bias_constraint=self._bias_constraint, dtype=self.dtype, name=name)
        layer.build(tuple(input_shape))
        return layer

    @staticmethod
    def _shapes(input_shape):
        if isinstance(input_shape, list):
            q, v = tuple(input_shape[0]), tuple(input_shape[1])
            k = tuple(input_shape[2]) if len(input_shape) > 2 and input_shape[2] is not None else v
            return q, v, k
        return tuple(input_shape), tuple(input_shape), tuple(input_shape)

    def _check_input_shape(self, input_shape):
        q, v, k = self._shapes(input_shape)
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects query, value and key "
                             "of rank 3 (batch, length, features); attention over other axes is "
                             f"not supported by shendu yet. Received: query.shape={q}, "
                             f"value.shape={v}, key.shape={k}")
        if v[1] != k[1]:
            raise ValueError(f"{type(self).__name__} '{self.name}': value and key must have the "
                             f"same length. Received: value.shape={v}, key.shape={k}")

    def __call__(self, query, value=None, key=None, **kwargs):
        if isinstance(query, (list, tuple)) and value is None:  # a Functional graph's replay
            query, value, key = (list(query) + [None, None])[:3]
        if value is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs `query` and `value`. "
                             "Received: value=None")
        self._return_scores = bool(kwargs.get("return_attention_scores", False))
        if any(isinstance(t, KerasTensor) for t in _flatten([query, value, key])):
            return Layer.__call__(self, [query, value, key if key is not None else value],
                                  **kwargs)
        # The Keras masks travel on the tensors (Embedding(mask_zero=True) sets them).
        kwargs.setdefault("query_mask", getattr(query, "_keras_mask", None))
        kwargs.setdefault("value_mask", getattr(value, "_keras_mask", None))
        if key is not None:
            kwargs.setdefault("key_mask", getattr(key, "_keras_mask", None))
        return Layer.__call__(self, [query, value, key if key is not None else value], **kwargs)

    def compute_mask(self, inputs, mask=None):
        return getattr(inputs[0], "_keras_mask", None) if isinstance(inputs, list) else None

    def _attention_mask(self, T, S, query_mask, value_mask, key_mask, attention_mask, causal):
        mask = None
        parts = []
        if query_mask is not None:
            parts.append(_bool_mask(query_mask)[:, :, None])
        for m in (value_mask, key_mask):
            if m is not None:
                parts.append(_bool_mask(m)[:, None, :])
        if causal:
            parts.append(np.tril(np.ones((T, S), bool))[None])
        if attention_mask is not None:
            parts.append(_bool_mask(attention_mask))
        for p in parts:
            mask = p if mask is None else mask & p
        return mask

    def call(self, inputs, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value, key = inputs
        T, S = query.shape[1], value.shape[1]
        causal_only = use_causal_mask and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask))
        mask = None if causal_only else self._attention_mask(
            T, S, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        gate = self._gate_dense(query) if self._use_gate else None
        q = self._query_dense(query)
        k = self._key_dense(key)
        v = self._value_dense(value)
        out, scores = self._attend(q, k, v, mask, causal_only, training, return_attention_scores)
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        return (out, scores) if return_attention_scores else out

    def _attend(self, q, k, v, mask, causal_only, training, return_scores):
        """(output (B, T, N, Hv), weights (B, N, T, S) or None) of projected q, k, v."""
        if self._flash_attention and return_scores:
            raise ValueError(f"{type(self).__name__} '{self.name}': returning attention scores "
                             "is not supported with flash_attention=True; disable it to get "
                             "the scores")
        scale = 1.0 / float(np.sqrt(q.shape[-1]))
        if self._dropout == 0 and not return_scores:
            return ops.dot_product_attention(
                q, k, v, mask=None if mask is None else mask[:, None], scale=scale,
                is_causal=causal_only, flash_attention=self._flash_attention), None
        if causal_only:
            mask = np.tril(np.ones((q.shape[1], k.shape[1]), bool))[None]
        groups = q.shape[2] // k.shape[2]
        if groups > 1:  # query head n reads key/value head n // groups
            k, v = ops.repeat(k, groups, axis=2), ops.repeat(v, groups, axis=2)
        logits = ops.einsum("bsnh,btnh->bnts", k, q * scale)
        scores = _masked_softmax(logits, None if mask is None else mask[:, None])
        dropped = self._dropout_layer(scores, training=training) if self._dropout else scores
        return ops.einsum("bnts,bsnh->btnh", dropped, v), scores

    def _common_config(self):
        return {"dropout": self._dropout, "use_bias": self._use_bias, "use_gate": self._use_gate,
                "sliding_window": None,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint),
                "seed": self.seed}


def _masked_softmax(logits, mask):
    """Keras's Softmax-layer rule: masked logits become -1e9 (-3e4 in float16), then softmax
    (a row with every key masked attends uniformly)."""
    if mask is not None:
        big = -3e4 if np.dtype(logits.dtype) == np.float16 else -1e9
        logits = ops.where(mask, logits, np.dtype(logits.dtype).type(big))
    return ops.softmax(logits, axis=-1)


class MultiHeadAttention(_Attention):
    """Multi-head attention (Vaswani et al., 2017), Keras's ``MultiHeadAttention``.

    Args:
        num_heads: number of heads N.
        key_dim: size of each query/key head.
        value_dim: size of each value head (default ``key_dim``).
        dropout: rate of dropout on the attention weights.
        use_bias: biases in the four projections.
        output_shape: the output's last axis size (default: query's features).
        attention_axes: None or (1,): attention over the sequence axis (other axes are not
            supported yet).
        flash_attention: None (the config decides), True or False: the fused kernel.
        kernel_initializer, bias_initializer, *_regularizer, *_constraint: of the projections.
        use_gate: multiply the attention output by sigmoid(query projection) (Keras's gate).
        seed: seed of the dropout.

    Call: ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``; query (B, T, dim), value and key (B, S, dim).
    Returns (B, T, output dim), and the weights (B, N, T, S) with ``return_attention_scores``.

    Math, per head n: softmax(Q_n K_n^T / sqrt(key_dim) + masks) V_n, the heads' outputs
    projected together by the ``attention_output`` kernel (N, value_dim, out).

    Example:
        >>> import numpy as np
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.ones((1, 3, 8), "float32")
        >>> mha(x, x).shape
        (1, 3, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        name = "MultiHeadAttention"
        self._num_heads = _positive_int(name, "num_heads", num_heads)
        self._key_dim = _positive_int(name, "key_dim", key_dim)
        self._value_dim = _positive_int(name, "value_dim", value_dim, optional=True)
        if isinstance(output_shape, (int, np.integer)):
            output_shape = (int(output_shape),)
        self._output_shape = None if output_shape is None else tuple(output_shape)
        if self._output_shape is not None and len(self._output_shape) != 1:
            raise ValueError(f"{name}: only a one-axis `output_shape` is supported by shendu yet. "
                             f"Received: output_shape={output_shape!r}")
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        if attention_axes is not None and tuple(attention_axes) not in ((1,), (-2,)):
            raise ValueError(f"{name}: only attention over the sequence axis (attention_axes=None "
                             f"or (1,)) is supported by shendu yet. Received: "
                             f"attention_axes={attention_axes!r}")
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._init_common(dropout, use_bias, sliding_window, flash_attention,
                          kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, activity_regularizer, kernel_constraint,
                          bias_constraint, use_gate, seed)

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim or self._key_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)

    def build(self, input_shape):
        q, v, k = self._shapes(input_shape)
        n, kd, vd = self._num_heads, self._key_dim, self.value_dim
        self._query_dense = self._dense("abc,cde->abde", (None, n, kd), "de", "query", q)
        self._key_dense = self._dense("abc,cde->abde", (None, n, kd), "de", "key", k)
        if self._use_gate:
            self._gate_dense = self._dense("abc,cde->abde", (None, n, vd), "de", "gate", q,
                                           activation="sigmoid")
        out = self._output_shape or (q[-1],)
        self._value_dense = self._dense("abc,cde->abde", (None, n, vd), "de", "value", v)
        self._output_dense = self._dense("abcd,cde->abe", (None,) + tuple(out), "e",
                                         "attention_output", q[:2] + (n, vd))

    def compute_output_shape(self, input_shape):
        q, v, _ = self._shapes(input_shape)
        out = tuple(q[:-1]) + (self._output_shape or (q[-1],))
        if self._return_scores:
            return [out, (q[0], self._num_heads, q[1], v[1])]
        return out

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim,
                "output_shape": None if self._output_shape is None else list(self._output_shape),
                "attention_axes": None if self._attention_axes is None
                else list(self._attention_axes),
                **self._common_config()}


class GroupQueryAttention(_Attention):
    """Grouped-query attention (Ainslie et al., 2023), Keras's ``GroupQueryAttention``:
    ``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads, query head
    n reading key/value head n // (num_query_heads // num_key_value_heads).

    Args:
        head_dim: size of each head.
        num_query_heads: query heads (a multiple of ``num_key_value_heads``).
        num_key_value_heads: key/value heads (1: multi-query attention).
        dropout, use_bias, flash_attention, initializers, regularizers, constraints,
        use_gate, seed: as ``MultiHeadAttention``.

    Example:
        >>> import numpy as np
        >>> gqa = GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = np.ones((1, 3, 8), "float32")
        >>> gqa(x, x).shape
        (1, 3, 8)
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        name = "GroupQueryAttention"
        self.head_dim = _positive_int(name, "head_dim", head_dim)
        self.num_query_heads = _positive_int(name, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(name, "num_key_value_heads", num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"{name}: `num_query_heads` must be a multiple of "
                             f"`num_key_value_heads`. Received: num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}")
        self._init_common(dropout, use_bias, sliding_window, flash_attention,
                          kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, activity_regularizer, kernel_constraint,
                          bias_constraint, use_gate, seed)

    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)

    def build(self, input_shape):
        q, v, k = self._shapes(input_shape)
        nq, nkv, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = self._dense("bqm,muh->bquh", (None, nq, h), "uh", "query", q)
        self._key_dense = self._dense("bkm,mvh->bkvh", (None, nkv, h), "vh", "key", k)
        if self._use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", (None, nq, h), "uh", "gate", q,
                                           activation="sigmoid")
        self._value_dense = self._dense("bkm,mvh->bkvh", (None, nkv, h), "vh", "value", v)
        self._output_dense = self._dense("bquh,uhm->bqm", (None, q[-1]), "m",
                                         "attention_output", q[:2] + (nq, h))

    def compute_output_shape(self, input_shape):
        q, v, _ = self._shapes(input_shape)
        if self._return_scores:
            return [tuple(q), (q[0], self.num_query_heads, q[1], v[1])]
        return tuple(q)

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim,
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, **self._common_config()}


GroupedQueryAttention = GroupQueryAttention
