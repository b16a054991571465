"""StringLookup and IntegerLookup: map tokens to indices in a vocabulary (given, read from
a file, or learned by ``adapt``), with Keras's index layout:

    [mask token (int mode only)] [num_oov_indices OOV slots] [vocabulary, most frequent first]
"""
import os

import numpy as np

from ...autograd.tensor import Tensor
from ..layer import Layer
from .category_encoding import OUTPUT_MODES, encode_categorical


def as_token_array(x):
    """Strings (Python, bytes or NumPy) as a NumPy str array; numbers as their array."""
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind == "S":
        return np.char.decode(a, "utf-8")
    if a.dtype.kind == "O":
        return np.vectorize(lambda s: s.decode("utf-8") if isinstance(s, bytes) else s,
                            otypes=[str])(a) if a.size else a.astype(str)
    return a


class IndexLookup(Layer):
    """The lookup machinery StringLookup and IntegerLookup share (Keras's argument names)."""

    _string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{cls}: if set, `max_tokens` must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices is None or num_oov_indices < 0:
            raise ValueError(f"{cls}: `num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{cls}: `output_mode` must be one of {OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: `output_mode` must be 'int' when `invert` is true. "
                             f"Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"{cls}: sparse outputs are not supported; use sparse=False. "
                             f"Received: sparse=True")
        if pad_to_max_tokens and max_tokens is None and output_mode != "int":
            raise ValueError(f"{cls}: `max_tokens` must be set when `pad_to_max_tokens` is "
                             f"true. Received: max_tokens=None")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: `idf_weights` should only be set if output_mode is "
                             f"'tf_idf'. Received: output_mode={output_mode!r}")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens, self.sparse = pad_to_max_tokens, sparse
        self.input_vocabulary, self.input_idf_weights = vocabulary, idf_weights
        self._vocab = []          # the learned or given tokens, in index order
        self._index = {}          # token -> index
        self.idf_weights = None   # per output index, tf_idf only
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---- the index layout -------------------------------------------------------------
    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self):
        """The number of indices the layer outputs: special tokens plus the vocabulary."""
        return len(self._vocab) + self._token_start()

    def _depth(self):
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return self.max_tokens
        return self.vocabulary_size()

    def _key(self, token):
        return str(token) if self._string else int(token)

    # ---- vocabulary -------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        """The tokens in index order (the mask and OOV tokens first unless excluded)."""
        special = ([self.mask_token] if self._oov_start() else []) + \
            [self.oov_token] * self.num_oov_indices
        vocab = special + list(self._vocab)
        return vocab[self._token_start():] if not include_special_tokens else vocab

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list, an array, or the path of a one-token-per-line file);
        the mask and OOV tokens may lead it, in that order, and are then taken out."""
        cls = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: `idf_weights` should only be set if output_mode is "
                             f"'tf_idf'. Received: output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str):
            if not os.path.isfile(vocabulary):
                raise ValueError(f"{cls}: vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError(f"{cls}: output_mode 'tf_idf' does not support loading a "
                                 f"vocabulary from file.")
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        tokens = [self._key(t) for t in np.asarray(as_token_array(vocabulary)).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f"{cls}: cannot set an empty vocabulary. "
                             f"Received: vocabulary={tokens}")
        seen, repeated = set(), []
        for t in tokens:
            (repeated.append(t) if t in seen else seen.add(t))
        if repeated:
            raise ValueError(f"{cls}: the vocabulary has repeated terms; make it unique. "
                             f"The repeated terms are: {repeated}")
        mask, oov = self.mask_token, self.oov_token
        mask = None if mask is None else self._key(mask)
        oov = None if oov is None else self._key(oov)
        start = 0
        if mask is not None and tokens[0] == mask:
            start = 1
        if mask is not None and mask in tokens[start:]:
            raise ValueError(f"{cls}: found the mask token {mask!r} at an unexpected place in "
                             f"`vocabulary`; leave it out, or put it first.")
        lead = tokens[start:start + self.num_oov_indices]
        if oov is not None and lead and all(t == oov for t in lead) and \
                len(lead) == self.num_oov_indices:
            start += self.num_oov_indices
        if oov is not None and oov in tokens[start:]:
            raise ValueError(f"{cls}: found the OOV token {oov!r} at an unexpected place in "
                             f"`vocabulary`; leave it out, or put it (num_oov_indices times) "
                             f"at the start, after the mask token.")
        tokens = tokens[start:]
        if self.max_tokens is not None and len(tokens) + self._token_start() > self.max_tokens:
            raise ValueError(f"{cls}: attempted to set a vocabulary larger than the maximum "
                             f"vocab size. Received vocabulary size is "
                             f"{len(tokens) + self._token_start()}; `max_tokens` is "
                             f"{self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights.data if isinstance(idf_weights, Tensor) else idf_weights,
                             np.float64)
            if idf.ndim != 1:
                raise ValueError(f"{cls}: `idf_weights` must be a 1-D array. "
                                 f"Received: shape {idf.shape}")
            if len(idf) == len(tokens) + start:
                idf = idf[start:]  # weights given for the special tokens too
            if len(idf) != len(tokens):
                raise ValueError(f"{cls}: `idf_weights` must be the same length as the "
                                 f"vocabulary. len(idf_weights) is {len(idf)}; len(vocabulary) "
                                 f"is {len(tokens)}")
            self._set_idf(idf)

    def _set_tokens(self, tokens):
        self._vocab = list(tokens)
        start = self._token_start()
        self._index = {t: i + start for i, t in enumerate(self._vocab)}

    def _set_idf(self, idf):
        """Weights for the vocabulary; the special indices get their mean, the padding 0."""
        front = np.full(self._token_start(), idf.mean() if idf.size else 0.0)
        weights = np.concatenate([front, idf])
        weights = np.concatenate([weights, np.zeros(max(self._depth() - weights.size, 0))])
        self.idf_weights = weights.astype(self.dtype)

    # ---- adapt --------------------------------------------------------------------------
    def _tokens_of(self, batch):
        return as_token_array(batch)

    def adapt(self, data, steps=None):
        """Learn the vocabulary from an array or an iterable of batches: tokens by
        decreasing frequency, ties broken by decreasing token (Keras's order), at most
        ``max_tokens`` indices in all; for 'tf_idf', also the inverse document frequencies
        idf(t) = log(1 + documents / (1 + documents containing t)), a document being one
        row of a batch (one element of a 1-D batch)."""
        counts, doc_counts, documents = {}, {}, 0
        batches = [data] if isinstance(data, (np.ndarray, Tensor, list, tuple, str)) else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            tokens = self._tokens_of(batch)
            rows = tokens if isinstance(tokens, list) else (
                [tokens] if np.ndim(tokens) == 0 else
                list(tokens.reshape(-1, 1) if np.ndim(tokens) == 1 else
                     tokens.reshape(tokens.shape[0], -1)))
            for row in rows:
                row = [self._key(t) for t in np.asarray(row).reshape(-1).tolist()]
                for t in row:
                    counts[t] = counts.get(t, 0) + 1
                for t in set(row):
                    doc_counts[t] = doc_counts.get(t, 0) + 1
                documents += 1
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(self._key(special), None)
        ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            ordered = ordered[:max(self.max_tokens - self._token_start(), 0)]
        self._set_tokens(ordered)
        if self.output_mode == "tf_idf":
            dc = np.array([doc_counts[t] for t in ordered], np.float64)
            self._set_idf(np.log(1.0 + documents / (1.0 + dc)))

    # ---- call ---------------------------------------------------------------------------
    def _convert_input(self, x):
        return x if isinstance(x, Tensor) and not self.invert else as_token_array(x)

    def _lookup(self, tokens):
        """Indices of ``tokens`` (any shape); -1 for the mask token outside int mode."""
        cls = type(self).__name__
        flat = tokens.reshape(-1).tolist()
        default = -2
        idx = np.array([self._index.get(self._key(t), default) for t in flat], np.int64)
        idx = idx.reshape(tokens.shape)
        oov = idx == default
        if self.mask_token is not None:
            is_mask = (tokens == self.mask_token)
            idx = np.where(is_mask, 0 if self.output_mode == "int" else -1, idx)
            oov &= ~is_mask
        if oov.any():
            if self.num_oov_indices == 0:
                raise ValueError(f"{cls} '{self.name}': when `num_oov_indices=0` all inputs "
                                 f"should be in the vocabulary; found OOV values "
                                 f"{sorted(set(np.asarray(tokens)[oov].tolist()))[:10]}. "
                                 f"Consider setting `num_oov_indices=1`.")
            if self.num_oov_indices == 1:
                bucket = np.zeros(idx.shape, np.int64)
            elif not self._string:
                bucket = np.mod(tokens.astype(np.int64), self.num_oov_indices)
            else:
                raise NotImplementedError(
                    f"{cls}: num_oov_indices > 1 hashes string tokens with FarmHash (as Keras "
                    f"does through TensorFlow), which shendu does not implement. Received: "
                    f"num_oov_indices={self.num_oov_indices}")
            idx = np.where(oov, bucket + self._oov_start(), idx)
        return idx

    def _invert(self, indices):
        vocab = self.get_vocabulary()
        if indices.size and (indices.min() < 0):
            raise ValueError(f"{type(self).__name__} '{self.name}': inverted lookups take "
                             f"indices >= 0. Received: {indices.min()}")
        table = np.array(vocab, dtype=object if self._string else np.int64)
        out = np.where(indices < len(vocab), table[np.minimum(indices, len(vocab) - 1)],
                       self.oov_token)
        return out.astype(str) if self._string else out.astype(np.int64)

    def call(self, inputs):
        if self.invert:
            return self._invert(np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs,
                                           np.int64))
        return self.encode(np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs))

    def encode(self, tokens, ignore=None):
        """The output for a token array; entries where ``ignore`` is True (padding) add
        nothing to any column in the bag-of-words modes."""
        idx = self._lookup(tokens)
        if self.output_mode == "int":
            return Tensor(idx)
        depth = self._depth()
        dropped = idx < 0  # the mask token: no column outside int mode
        if ignore is not None:
            dropped |= ignore
        if self.output_mode == "one_hot":
            return Tensor(encode_categorical(np.where(dropped, depth, idx), "one_hot", depth + 1,
                                            self.dtype)[..., :depth])
        weights = (~dropped).astype(np.float64)
        return Tensor(encode_categorical(np.where(dropped, 0, idx), self.output_mode, depth,
                                         self.dtype, count_weights=weights,
                                         idf_weights=self.idf_weights))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self._depth() if (self._vocab or self.max_tokens) else None
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return (input_shape[0], depth) if len(input_shape) > 1 else (depth,)

    # ---- config and saving --------------------------------------------------------------
    def get_config(self):
        vocab = self.input_vocabulary
        if isinstance(vocab, np.ndarray):
            vocab = vocab.tolist()
        idf = self.input_idf_weights
        if isinstance(idf, np.ndarray):
            idf = idf.tolist()
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": vocab, "idf_weights": idf}

    def save_own_variables(self, store):
        """An adapted vocabulary (and idf weights) travel with the weights, as Keras's
        assets do; a vocabulary given to the constructor is in the config already."""
        super().save_own_variables(store)
        if self.input_vocabulary is None and self._vocab:
            store["vocabulary"] = np.array(self._vocab, dtype=str if self._string else np.int64)
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights)

    def load_own_variables(self, store):
        if "vocabulary" in store:
            self._set_tokens([self._key(t) for t in np.asarray(store["vocabulary"]).tolist()])
        if "idf_weights" in store:
            self.idf_weights = np.asarray(store["idf_weights"]).astype(self.dtype)
        rest = {k: store[k] for k in store if k not in ("vocabulary", "idf_weights")}
        super().load_own_variables(rest)


class StringLookup(IndexLookup):
    """Maps strings to integer indices (or back, with ``invert=True``).

    Args:
        max_tokens: the most indices, special ones included (None: no limit).
        num_oov_indices: OOV slots (1); 0 makes an unknown token an error.
        mask_token: a token mapped to index 0 in int mode (None: no mask).
        oov_token: '[UNK]', returned for OOV indices when inverting.
        vocabulary: a list/array of strings or a file path (else ``adapt``).
        idf_weights: for 'tf_idf' with a given vocabulary.
        invert: map indices back to tokens.
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        pad_to_max_tokens: encode to exactly ``max_tokens`` columns.
        sparse: must be False. encoding: 'utf-8' for bytes inputs.

    Example (Keras's documented case):
        >>> import numpy as np, shendu
        >>> layer = shendu.layers.StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer(np.array([["a", "c", "d"], ["d", "z", "b"]])).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, **kwargs):
        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError(f"StringLookup: only the 'utf-8' encoding is supported. "
                             f"Received: encoding={encoding!r}")
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name, **kwargs)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding, "vocabulary_dtype": "string"}


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices (or back, with ``invert=True``); the arguments
    are StringLookup's, with ``oov_token=-1`` and ``vocabulary_dtype='int64'``. With
    several OOV slots, an unknown value v goes to slot v mod num_oov_indices (Keras's rule).

    Example (Keras's documented case):
        >>> import numpy as np, shendu
        >>> layer = shendu.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    _string = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, name=None, **kwargs):
        if vocabulary_dtype not in ("int32", "int64"):
            raise ValueError(f"IntegerLookup: `vocabulary_dtype` must be 'int32' or 'int64'. "
                             f"Received: vocabulary_dtype={vocabulary_dtype!r}")
        if mask_token is not None and mask_token < 0:
            raise ValueError(f"IntegerLookup: `mask_token` must be >= 0. "
                             f"Received: mask_token={mask_token}")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name, **kwargs)

    def _convert_input(self, x):
        a = x.data if isinstance(x, Tensor) else np.asarray(x)
        if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
            raise TypeError(f"IntegerLookup '{self.name}': inputs must be integers. "
                            f"Received: dtype {a.dtype}")
        return a.astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}
