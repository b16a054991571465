"""TextVectorization: strings -> standardized tokens (and n-grams) -> a StringLookup."""
import re

import numpy as np

from ...autograd.tensor import Tensor
from ..layer import Layer
from .index_lookup import StringLookup, as_token_array

# Keras's default punctuation set for 'lower_and_strip_punctuation' / 'strip_punctuation'.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class TextVectorization(Layer):
    """Turns strings into token indices or bag-of-words vectors.

    Each string is standardized ('lower_and_strip_punctuation' by default: lower case,
    Keras's punctuation set removed), split ('whitespace' runs, or 'character'), extended
    with ``ngrams`` (n-grams joined by a space, all 1-grams then all 2-grams, ...), then
    looked up in a vocabulary (``adapt`` or ``vocabulary``) whose index 0 is the padding
    token '' and index 1 the OOV token '[UNK]' in 'int' mode.

    Args:
        max_tokens: vocabulary size cap (special tokens included).
        standardize: None, 'lower_and_strip_punctuation', 'lower', 'strip_punctuation' or
            a callable on one string.
        split: None, 'whitespace', 'character' or a callable from a string to a list.
        ngrams: None, an int n (1..n-grams) or a tuple of the n to produce.
        output_mode: 'int' (padded index sequences), 'multi_hot', 'count' or 'tf_idf'.
        output_sequence_length: 'int' mode: pad or truncate every row to this length
            (otherwise rows are padded to the longest in the batch).
        pad_to_max_tokens: bag-of-words modes: exactly ``max_tokens`` columns.
        vocabulary, idf_weights: as StringLookup's.
        ragged, sparse: must be False. encoding: 'utf-8'.

    Example:
        >>> import numpy as np, shendu
        >>> tv = shendu.layers.TextVectorization(output_sequence_length=4)
        >>> tv.adapt(["the cat sat", "the dog"])
        >>> tv(["The cat!", "a dog sat"]).numpy()
        array([[2, 5, 0, 0],
               [1, 4, 3, 0]])
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        for arg, value, allowed in (("standardize", standardize, _STANDARDIZE),
                                    ("split", split, _SPLIT)):
            if value is not None and not callable(value) and value not in allowed:
                raise ValueError(f"TextVectorization: `{arg}` must be None, a callable or one "
                                 f"of {allowed}. Received: {arg}={value!r}")
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"TextVectorization: `output_mode` must be 'int', 'multi_hot', "
                             f"'count' or 'tf_idf'. Received: output_mode={output_mode!r}")
        if isinstance(ngrams, int) and not isinstance(ngrams, bool):
            if ngrams < 1:
                raise ValueError(f"TextVectorization: `ngrams` must be None, an int >= 1 or a "
                                 f"tuple of ints. Received: ngrams={ngrams!r}")
        elif ngrams is not None and not (isinstance(ngrams, (tuple, list)) and
                                         all(isinstance(n, int) and n >= 1 for n in ngrams)):
            raise ValueError(f"TextVectorization: `ngrams` must be None, an int >= 1 or a tuple "
                             f"of ints. Received: ngrams={ngrams!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"TextVectorization: `output_sequence_length` must not be set "
                             f"unless output_mode is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_sequence_length is not None and output_sequence_length < 1:
            raise ValueError(f"TextVectorization: `output_sequence_length` must be a positive "
                             f"int. Received: output_sequence_length={output_sequence_length}")
        if ragged or sparse:
            raise ValueError(f"TextVectorization: ragged and sparse outputs are not supported. "
                             f"Received: ragged={ragged}, sparse={sparse}")
        super().__init__(name=name, **kwargs)
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.ngrams = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.sparse, self.ragged = pad_to_max_tokens, sparse, ragged
        self.encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            mask_token="" if output_mode == "int" else None, output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens, encoding=encoding, name=f"{self.name}_lookup")
        self._lookup_layer._tokens_of = self._token_rows
        self.input_vocabulary, self.input_idf_weights = vocabulary, idf_weights
        self.built = True

    # ---- text to tokens -----------------------------------------------------------------
    def _standardize(self, text):
        if self.standardize is None:
            return text
        if callable(self.standardize):
            return self.standardize(text)
        if "lower" in self.standardize:
            text = text.lower()
        if "strip_punctuation" in self.standardize:
            text = _PUNCTUATION.sub("", text)
        return text

    def _split(self, text):
        if self.split is None:
            return [text]
        if callable(self.split):
            return list(self.split(text))
        return text.split() if self.split == "whitespace" else list(text)

    def _ngrams(self, tokens):
        if self.ngrams is None:
            return tokens
        sizes = range(1, self.ngrams + 1) if isinstance(self.ngrams, int) else self.ngrams
        return [" ".join(tokens[i:i + n]) for n in sizes for i in range(len(tokens) - n + 1)]

    def _token_rows(self, batch):
        """One list of tokens per string of ``batch`` (a string, a list, or an array of
        shape (n,) or (n, 1))."""
        texts = as_token_array(batch)
        if texts.ndim == 2 and texts.shape[1] == 1:
            texts = texts[:, 0]
        if texts.ndim > 1:
            raise ValueError(f"TextVectorization '{self.name}': expects a batch of strings of "
                             f"shape (batch,) or (batch, 1). Received shape {texts.shape}")
        return [self._ngrams(self._split(self._standardize(str(t)))) for t in texts.reshape(-1)]

    # ---- vocabulary ---------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and idf weights) from strings: an array, a list, or an
        iterable of batches."""
        if isinstance(data, str):
            data = [data]
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], str):
            data = np.asarray(data)
        self._lookup_layer.adapt(data, steps=steps)

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    # ---- call ---------------------------------------------------------------------------
    def _convert_input(self, x):
        return as_token_array(x)

    def call(self, inputs):
        rows = self._token_rows(inputs)
        squeeze = np.ndim(inputs) == 0
        if self.output_mode != "int":
            # Bag of words: one row of counts per string.
            width = max((len(r) for r in rows), default=0)
            padded = np.full((len(rows), max(width, 1)), "", dtype=object)
            for i, r in enumerate(rows):
                padded[i, :len(r)] = r
            padded = padded.astype(str)
            out = self._lookup_layer.encode(padded, ignore=padded == "")
            return Tensor(out.data[0]) if squeeze else out
        length = self.output_sequence_length or max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), length), np.int64)
        for i, r in enumerate(rows):
            r = r[:length]
            if r:
                out[i, :len(r)] = self._lookup_layer.encode(np.array(r, dtype=str)).data
        return Tensor(out[0] if squeeze else out)

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[:1] or (None,)
        if self.output_mode == "int":
            return batch + (self.output_sequence_length,)
        depth = self.max_tokens if self.pad_to_max_tokens else \
            (self.vocabulary_size() if self._lookup_layer._vocab else None)
        return batch + (depth,)

    # ---- config and saving --------------------------------------------------------------
    def get_config(self):
        vocab = self.input_vocabulary
        vocab = vocab.tolist() if isinstance(vocab, np.ndarray) else vocab
        idf = self.input_idf_weights
        idf = idf.tolist() if isinstance(idf, np.ndarray) else idf
        for arg in ("standardize", "split"):
            if callable(getattr(self, arg)):
                raise ValueError(f"TextVectorization: a callable `{arg}` cannot be saved in a "
                                 f"config; rebuild the layer in code.")
        return {**super().get_config(), "max_tokens": self.max_tokens,
                "standardize": self.standardize, "split": self.split,
                "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": self.sparse,
                "ragged": self.ragged, "vocabulary": vocab, "idf_weights": idf,
                "encoding": self.encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("vocabulary_size", None)
        return cls(**config)

    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)
