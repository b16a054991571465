"""dropout (in shendu/ops/random.py): mask semantics, seeding, gradient."""
import numpy as np
import pytest

import shendu.ops as ops
from shendu.autograd.tensor import Tensor
from shendu.ops.random import Generator, dropout
from shendu.testing import gradcheck


def test_dropout_is_identity_when_not_training_or_rate_zero():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0, seed=1) is x
    assert ops.dropout is dropout


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_rates_outside_0_1(rate):
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\).*rate=" + str(rate)):
        dropout(np.ones(3), rate)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_scaling_and_rate(dtype):
    x = np.ones((200, 50), dtype)
    y = dropout(x, 0.3, seed=0).numpy()
    assert y.dtype == dtype
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.02  # 10000 draws: 4.6 standard deviations


def test_dropout_seeding():
    x = np.ones((8, 8))
    a, b = dropout(x, 0.5, seed=7).numpy(), dropout(x, 0.5, seed=7).numpy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = Generator(3), Generator(3)
    np.testing.assert_array_equal(dropout(x, 0.5, generator=g1).numpy(),
                                  dropout(x, 0.5, seed=g2).numpy())
    # a generator advances: the next mask differs
    assert not np.array_equal(dropout(x, 0.5, generator=g1).numpy(), dropout(x, 0.5, seed=3).numpy())
    with pytest.raises(ValueError, match="either seed or generator"):
        dropout(x, 0.5, seed=1, generator=g1)


def test_dropout_noise_shape_drops_whole_slices():
    x = np.ones((4, 6, 5))
    y = dropout(x, 0.5, noise_shape=(None, 1, 5), seed=1).numpy()
    assert (y == y[:, :1, :]).all()  # the same mask on every step of axis 1
    assert 0 < (y == 0).mean() < 1
    with pytest.raises(ValueError, match="noise_shape"):
        dropout(x, 0.5, noise_shape=(4, 2, 5))


def test_dropout_gradient_uses_the_same_mask():
    x = np.random.default_rng(0).standard_normal((3, 5))
    gradcheck(lambda x: dropout(x, 0.4, seed=5), x)
    xt = Tensor(x, requires_grad=True)
    y = dropout(xt, 0.4, seed=5)
    y.sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), y.numpy() / x)
