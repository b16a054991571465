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


class Attention(Layer):
    """Dot-product attention (Luong-style), Keras's ``Attention``, on ``[query, value]`` or
    ``[query, value, key]`` (key defaults to value); query (B, Tq, dim), value/key (B, Tv, dim).

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores (initialised to 1).
        score_mode: ``'dot'``: scores = Q K^T; ``'concat'``: scores =
            c * sum(tanh(scale * (q_i + k_j))) with a learnt scalar c
            (``concat_score_weight``).
        dropout: rate of dropout on the attention weights (training only).
        seed: seed of the dropout.

    Call: ``layer([query, value(, key)], mask=None, training=False,
    return_attention_scores=False, use_causal_mask=False)``; ``mask`` is
    ``[query_mask, value_mask]`` (by default the Keras masks of the inputs). Masked keys get
    their score lowered by 1e9 before the softmax; masked queries output 0.

    Example:
        >>> import numpy as np
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> Attention()([q, v]).shape
        (2, 3, 4)
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Attention: score_mode must be 'dot' or 'concat'. "
                             f"Received: score_mode={score_mode!r}")
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"{type(self).__name__}: `dropout` must be in [0, 1]. "
                             f"Received: dropout={dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self._dropout_layer = Dropout(self.dropout, seed=seed)
        self._return_scores = False

    def _check_inputs(self, inputs):
        if not isinstance(inputs, list) or not 2 <= len(inputs) <= 3:
            got = f"a list of {len(inputs)}" if isinstance(inputs, list) else type(inputs).__name__
            raise ValueError(f"{type(self).__name__} '{self.name}' must be called on a list "
                             f"[query, value] or [query, value, key]. Received: {got}")

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        self._check_inputs(inputs)
        self._return_scores = bool(kwargs.get("return_attention_scores", False))
        if kwargs.get("mask") is None and not any(isinstance(t, KerasTensor) for t in inputs):
            masks = [getattr(t, "_keras_mask", None) for t in inputs]
            if any(m is not None for m in masks):
                kwargs["mask"] = masks
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape):
        self.scale = self.add_weight((), "ones", name="scale") if self.use_scale else None
        self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight") \
            if self.score_mode == "concat" else None

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = ops.matmul(q, ops.swapaxes(k, -2, -1))
            return s * self.scale if self.scale is not None else s
        pairs = ops.expand_dims(q, -2) + ops.expand_dims(k, -3)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * ops.sum(ops.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = _bool_mask(mask[0]) if mask else None
        v_mask = _bool_mask(mask[1]) if mask else None
        scores = self._scores(q, k)
        keep = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            tri = np.tril(np.ones(scores.shape[-2:], bool))[None]
            keep = tri if keep is None else keep & tri
        if keep is not None:
            big = 65504.0 if np.dtype(scores.dtype) == np.float16 else 1.0e9
            scores = ops.where(keep, scores, scores - np.dtype(scores.dtype).type(big))
        weights = ops.softmax(scores, axis=-1)
        dropped = self._dropout_layer(weights, training=training) \
            if training and self.dropout > 0 else weights
        out = ops.matmul(dropped, v)
        if q_mask is not None:
            out = ops.where(q_mask[..., None], out, np.dtype(out.dtype).type(0))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return getattr(inputs[0], "_keras_mask", None) if isinstance(inputs, list) else None

    def compute_output_shape(self, input_shape):
        q, v = tuple(input_shape[0]), tuple(input_shape[1])
        k = tuple(input_shape[2]) if len(input_shape) > 2 else v
        out = q[:-1] + (v[-1],)
        return [out, q[:-1] + (k[-2],)] if self._return_scores else out

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau-style), Keras's ``AdditiveAttention``:
    scores[i, j] = sum_d scale_d tanh(q_id + k_jd), with a learnt ``scale`` (dim,) when
    ``use_scale`` (default), then softmax over j and the weighted sum of values, masks and
    call arguments as ``Attention``.

    Example:
        >>> import numpy as np
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> AdditiveAttention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.scale = self.add_weight((dim,), "glorot_uniform", name="scale") \
            if self.use_scale else None

    def _scores(self, q, k):
        t = ops.tanh(ops.expand_dims(q, -2) + ops.expand_dims(k, -3))
        return ops.sum(t * self.scale if self.scale is not None else t, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
