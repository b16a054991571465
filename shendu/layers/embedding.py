"""Embedding: integer indices -> rows of a trainable table."""
import numpy as np

from .. import constraints, initializers, ops, regularizers
from .layer import Layer, shape_error


class Embedding(Layer):
    """Turns integer indices into dense vectors: y[..., :] = embeddings[x[...], :].

    Args:
        input_dim: vocabulary size (indices must lie in [0, input_dim)).
        output_dim: size of each vector.
        embeddings_initializer: default 'uniform' (RandomUniform(-0.05, 0.05)).
        embeddings_regularizer, embeddings_constraint: as Keras.
        mask_zero: index 0 is padding; ``compute_mask`` then returns ``inputs != 0``
            (so index 0 cannot be a real word: use input_dim = vocabulary + 1).

    Shapes: (batch, *index_shape) int -> (batch, *index_shape, output_dim).
    The table gradient adds each row's gradients over all of its uses (ops.embedding).

    Example:
        >>> import numpy as np, shendu
        >>> shendu.layers.Embedding(10, 4)(np.array([[1, 2, 3]])).shape
        (1, 3, 4)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 **kwargs):
        # `input_dim` is this layer's own argument here, not the base class's shortcut.
        super().__init__(**kwargs)
        for name, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding: `{name}` must be a positive integer. Received: {name}={v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def _check_input_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 1 or \
                any(isinstance(s, (tuple, list)) for s in input_shape):
            raise shape_error(self, "a tensor of integer indices of rank >= 1", input_shape)

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")

    def call(self, inputs):
        return ops.embedding(inputs, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` when mask_zero (a boolean tensor of the indices' shape), else None."""
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
