"""Dense against torch.nn.Linear given the same weights (forward and backward)."""
import numpy as np
import pytest

from shendu import layers


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(7, 5), (2, 3, 5)])
def test_dense_matches_torch_linear(shape):
    torch = pytest.importorskip("torch", reason="torch is a test-only extra (pip install torch==2.13.0)")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    dense = layers.Dense(4)
    dense.build((None, 5))
    w, b = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    dense.set_weights([w, b])
    lin = torch.nn.Linear(5, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w.T.copy()))
        lin.bias.copy_(torch.from_numpy(b))
    import shendu
    xs = shendu.tensor(x, requires_grad=True)
    y = dense(xs)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = lin(xt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(shendu.tensor(g))
    yt.backward(torch.from_numpy(g))

    def rel(a, b):
        return np.abs(a - b).max() / np.abs(b).max()
    assert rel(y.numpy(), yt.detach().numpy()) <= 1e-5
    assert rel(xs.grad.numpy(), xt.grad.numpy()) <= 1e-5
    assert rel(dense.kernel.grad.numpy(), lin.weight.grad.numpy().T) <= 1e-5
    assert rel(dense.bias.grad.numpy(), lin.bias.grad.numpy()) <= 1e-5
