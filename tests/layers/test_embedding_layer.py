"""Embedding: the shared layer check, lookups, gradients of repeated indices, mask_zero, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers
from shendu.testing import run_layer_test


@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"input_dim": 5, "output_dim": 3}, (2, 4), (2, 4, 3)),
    ({"input_dim": 6, "output_dim": 2, "mask_zero": True, "embeddings_regularizer": "l2"},
     (3, 2, 2), (3, 2, 2, 2)),
])
def test_embedding_shared_check(kwargs, in_shape, out_shape):
    run_layer_test(layers.Embedding, kwargs, in_shape, out_shape, input_dtype="int64",
                   expected_num_trainable_weights=1, expected_num_non_trainable_weights=0,
                   gradcheck_shape=(2, 3))


def test_embedding_lookup_and_repeated_index_gradient():
    emb = layers.Embedding(4, 2, name="emb")
    emb.build((None, 3))
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    emb.set_weights([table])
    assert [w.path for w in emb.weights] == ["emb/embeddings"]
    idx = np.array([[3, 1, 3]])
    y = emb(idx)
    np.testing.assert_array_equal(y.numpy(), table[idx])
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(emb.embeddings.grad.numpy(), [[0, 0], [1, 1], [0, 0], [2, 2]])


def test_embedding_default_initializer_is_uniform():
    shendu.utils.set_random_seed(0)
    emb = layers.Embedding(200, 50)
    emb.build((None, 1))
    w = emb.embeddings.numpy()
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.02
    assert emb.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_embedding_mask_zero():
    emb = layers.Embedding(5, 2, mask_zero=True)
    x = np.array([[1, 0, 4], [0, 0, 2]])
    np.testing.assert_array_equal(emb.compute_mask(shendu.tensor(x)).numpy(), x != 0)
    assert layers.Embedding(5, 2).compute_mask(shendu.tensor(x)) is None


def test_embedding_symbolic_and_errors():
    out = layers.Embedding(10, 4)(shendu.Input(shape=(7,), dtype="int32"))
    assert out.shape == (None, 7, 4)
    assert layers.Embedding(10, 4).compute_output_shape((None, None)) == (None, None, 4)
    with pytest.raises(ValueError, match="Received: input_dim=0"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="Received: output_dim=-1"):
        layers.Embedding(3, -1)
    with pytest.raises(IndexError, match="out of range"):
        layers.Embedding(3, 2)(np.array([[0, 3]]))
