"""A 2-layer MLP written directly with Tensors and a hand-written SGD loop learns."""
import numpy as np

import shendu
from shendu import ops


def _init(rng, n_in, n_out):
    limit = np.sqrt(6 / (n_in + n_out))
    w = shendu.tensor(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32), requires_grad=True)
    b = shendu.tensor(np.zeros(n_out, np.float32), requires_grad=True)
    return w, b


def _sgd(params, lr):
    for p in params:
        p.data -= lr * p.grad.data
        p.grad = None


def test_mlp_learns_xor():
    rng = np.random.default_rng(0)
    x = shendu.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    y = np.array([0, 1, 1, 0])
    w1, b1 = _init(rng, 2, 8)
    w2, b2 = _init(rng, 8, 2)
    for _ in range(500):
        h = ops.tanh(x @ w1 + b1)
        loss = ops.softmax_cross_entropy(h @ w2 + b2, y).mean()
        loss.backward()
        _sgd([w1, b1, w2, b2], 0.5)
    pred = (ops.tanh(x @ w1 + b1) @ w2 + b2).numpy().argmax(1)
    np.testing.assert_array_equal(pred, y)
    assert loss.item() < 0.05


def test_mlp_learns_real_mnist_sample():
    (x_train, y_train), (x_test, y_test) = shendu.datasets.mnist.load_sample()
    assert len(x_train) == 8000 and len(x_test) == 2000
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
    rng = np.random.default_rng(0)
    w1, b1 = _init(rng, 784, 128)
    w2, b2 = _init(rng, 128, 10)
    params = [w1, b1, w2, b2]
    for epoch in range(8):
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            logits = ops.linear(ops.relu(ops.linear(shendu.tensor(x_train[idx]), w1, b1)), w2, b2)
            loss = ops.softmax_cross_entropy(logits, y_train[idx]).mean()
            loss.backward()
            _sgd(params, 0.1)
    with shendu.no_grad():
        logits = ops.linear(ops.relu(ops.linear(shendu.tensor(x_test), w1, b1)), w2, b2)
    acc = (logits.numpy().argmax(1) == y_test).mean()
    assert acc > 0.90, f"held-out accuracy {acc:.4f}"
