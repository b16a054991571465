"""conv_bias_relu_max_pool: the same values and gradients as max_pool(conv_bias_relu(...)),
chunked or not, with kept or rebuilt columns; and Sequential's use of it."""
import math

import numpy as np
import pytest

import shendu
import shendu.ops as ops
import shendu.ops.conv_pool as conv_pool
from shendu import layers
from shendu.autograd.tensor import Tensor
from shendu.testing import gradcheck

# (x shape, kernel size, filters, conv kwargs, pool kwargs)
CASES = [
    ((3, 12, 12, 1), (3, 3), 4, {}, {}),
    ((2, 13, 13, 3), (3, 3), 4, {}, {}),  # the reference net's 2nd conv: row/col 11 unread
    ((2, 9, 8, 3), (3, 2), 5, dict(padding="same"), {}),
    ((4, 11, 10, 2), (3, 3), 4, dict(strides=(2, 1)), dict(pool_size=(3, 2), pool_strides=(1, 2))),
    ((2, 10, 9, 2), (2, 2), 3, dict(dilation_rate=(2, 1)), dict(pool_size=3)),
]


def _run(fused, x, w, b, gy, conv_kw, pool_kw):
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    if fused:
        y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw)
    else:
        a = ops.conv_bias_relu(xt, wt, bt, **conv_kw)
        y = ops.max_pool(a, pool_kw.get("pool_size", 2), strides=pool_kw.get("pool_strides"))
    (y * Tensor(gy)).sum().backward()
    return [y.numpy(), xt.grad, wt.grad, bt.grad]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunk, keep, parts", [(1, 0, 1), (1, 1 << 30, 1), (1 << 30, 0, 1),
                                               (1, 0, 2), (1, 1 << 30, 3)])
def test_matches_conv_then_pool(case, dtype, chunk, keep, parts, rng, monkeypatch):
    shape, k, filters, conv_kw, pool_kw = case
    monkeypatch.setattr(conv_pool, "CHUNK_BYTES", chunk)  # one sample per chunk, or one chunk
    monkeypatch.setattr(conv_pool, "INFERENCE_CHUNK_BYTES", chunk)
    monkeypatch.setattr(conv_pool, "CHUNKS_MULTIPLE", 1)
    monkeypatch.setattr(conv_pool, "KEEP_COLS_BYTES", keep)
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)  # runs on threads
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(dtype)
    b = 0.5 * rng.standard_normal(filters)
    b[::2] -= 2 * np.sqrt(w[..., 0].size)  # about two sd of the conv output: many zeros
    b = b.astype(dtype)
    y = _run(True, x, w, b, np.zeros(1, dtype), conv_kw, pool_kw)[0]
    assert (y > 0).any() and (y == 0).any()  # both sides of the ReLU are exercised
    gy = rng.standard_normal(y.shape).astype(dtype)
    got, want = _run(True, x, w, b, gy, conv_kw, pool_kw), _run(False, x, w, b, gy, conv_kw, pool_kw)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for name, g, e in zip(["y", "gx", "gW", "gb"], got, want):
        assert g.dtype == dtype, name
        np.testing.assert_allclose(g, e, err_msg=name, **tol)
    with shendu.no_grad():  # inference: no argmax kept, chunks of its own size
        np.testing.assert_array_equal(
            ops.conv_bias_relu_max_pool(x, w, b, **conv_kw, **pool_kw).numpy(), got[0])


ONE_CALL_CASES = [c for c in CASES if c[4].get("pool_size", 2) == 2 and "pool_strides" not in c[4]]


@pytest.mark.parametrize("case", ONE_CALL_CASES + [
    ((5, 28, 28, 1), (3, 3), 8, {}, {}),  # one chunk of 3380 rows: products in row blocks
])
@pytest.mark.parametrize("x_grad", [True, False])
@pytest.mark.parametrize("keep, parts", [(0, 1), (1 << 30, 1), (0, 2), (1 << 30, 3)])
def test_one_call_chunks_match_the_python_chunks(case, x_grad, keep, parts, rng, monkeypatch):
    """float32 under a 2x2 pool: each chunk is one Numba call (numba_cpu.conv_pool_*_chunk,
    BLAS called from Numba); the same values as the chunks run from Python."""
    from shendu.kernels import numba_cpu
    rows = math.prod(case[0][1:3])  # (an upper bound of the conv outputs per sample)
    chunk = 1 if rows * case[0][0] <= numba_cpu.GEMM_ROWS else 1 << 30
    pytest.importorskip("numba")
    from shendu.kernels import blas
    if blas.sgemm() is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS: the one-call chunks are off")
    shape, k, filters, conv_kw, pool_kw = case
    monkeypatch.setattr(conv_pool, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(conv_pool, "INFERENCE_CHUNK_BYTES", chunk)
    monkeypatch.setattr(conv_pool, "CHUNKS_MULTIPLE", 1)
    monkeypatch.setattr(conv_pool, "KEEP_COLS_BYTES", keep)
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(np.float32)
    b = (0.5 * rng.standard_normal(filters)).astype(np.float32)
    gy = rng.standard_normal(ops.conv_bias_relu_max_pool(x, w, b, **conv_kw).shape)
    gy = gy.astype(np.float32)

    def run():
        xt, wt, bt = Tensor(x, requires_grad=x_grad), Tensor(w, requires_grad=True), \
            Tensor(b, requires_grad=True)
        y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw)
        one_call = y._ctx.one_call
        (y * Tensor(gy)).sum().backward()
        with shendu.no_grad():
            y_inf = ops.conv_bias_relu_max_pool(x, w, b, **conv_kw).numpy()
        return one_call, [y.numpy(), y_inf, xt.grad, wt.grad, bt.grad]

    one_call, got = run()
    monkeypatch.setattr(conv_pool, "_one_call_chunks", lambda *a: None)
    python, want = run()
    assert one_call and python is None
    for name, g, e in zip(["y", "y (inference)", "gx", "gW", "gb"], got, want):
        if e is None:
            assert g is None, name
        else:
            assert g.dtype == np.float32, name
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("one_call, parts", [(True, 1), (True, 2), (False, 1), (False, 3)])
def test_fused_dropout_is_dropout_of_the_result(case, dtype, one_call, parts, rng, monkeypatch):
    """dropout_rate/dropout_seed: the same mask as ops.dropout's counter hash with that
    seed over the whole output, whatever the chunks; the same gradients."""
    shape, k, filters, conv_kw, pool_kw = case
    monkeypatch.setattr(conv_pool, "CHUNK_BYTES", 1)  # a chunk per sample
    monkeypatch.setattr(conv_pool, "split_parallelism", lambda: parts)
    if not one_call:
        monkeypatch.setattr(conv_pool, "_one_call_chunks", lambda *a: None)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(k + (shape[-1], filters)).astype(dtype)
    b = (0.5 * rng.standard_normal(filters)).astype(dtype)
    seed, rate = 2 ** 62 + 12345, 0.4  # (a seed near the top: the chunk seeds wrap)

    def run(fused, gy=None):
        xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
        if fused:
            y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw, dropout_rate=rate,
                                            dropout_seed=seed)
        else:
            y = ops.conv_bias_relu_max_pool(xt, wt, bt, **conv_kw, **pool_kw)
            y = ops.random.CounterDropout.apply(y, seed=seed, rate=rate)
        if gy is None:
            return y.numpy()
        (y * Tensor(gy)).sum().backward()
        return [y.numpy(), xt.grad, wt.grad, bt.grad]

    want_y = run(False)
    assert (want_y == 0).mean() > 0.3 and (want_y > 0).any()
    np.testing.assert_array_equal(run(True), want_y)  # the same mask, the same values
    gy = rng.standard_normal(want_y.shape).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for name, g, e in zip(["y", "gx", "gW", "gb"], run(True, gy), run(False, gy)):
        assert g.dtype == dtype, name
        np.testing.assert_allclose(g, e, err_msg=name, **tol)


def test_fused_dropout_checks_its_arguments():
    x, w, b = np.ones((1, 6, 6, 1), np.float32), np.ones((3, 3, 1, 2), np.float32), \
        np.zeros(2, np.float32)
    for rate, seed in [(1.0, 3), (-0.1, 3), (0.5, None)]:
        with pytest.raises(ValueError, match="dropout_rate"):
            ops.conv_bias_relu_max_pool(x, w, b, dropout_rate=rate, dropout_seed=seed)


@pytest.mark.parametrize("case", CASES)
def test_gradcheck(case, rng, monkeypatch):
    monkeypatch.setattr(conv_pool, "CHUNK_BYTES", 1)
    shape, k, filters, conv_kw, pool_kw = case
    x = rng.standard_normal(shape)
    w = rng.standard_normal(k + (shape[-1], filters))
    b = 0.5 * rng.standard_normal(filters)
    gradcheck(lambda x, w, b: ops.conv_bias_relu_max_pool(x, w, b, **conv_kw, **pool_kw), x, w, b)
    # with a fused dropout (its mask a fixed function of the seed)
    gradcheck(lambda x, w, b: ops.conv_bias_relu_max_pool(
        x, w, b, **conv_kw, **pool_kw, dropout_rate=0.3, dropout_seed=7), x, w, b)


def test_inference_keeps_no_graph_and_matches(rng):
    x = rng.standard_normal((5, 10, 10, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    with shendu.no_grad():
        y = ops.conv_bias_relu_max_pool(x, w, b)
    assert y._ctx is None
    np.testing.assert_allclose(y.numpy(), ops.max_pool(ops.conv_bias_relu(x, w, b), 2).numpy(),
                               rtol=1e-6, atol=1e-6)


def test_same_pool_and_1d_fall_back_to_the_two_ops(rng):
    x = rng.standard_normal((2, 7, 7, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    y = ops.conv_bias_relu_max_pool(x, w, b, pool_padding="same")
    want = ops.max_pool(ops.conv_bias_relu(x, w, b), 2, padding="same")
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    x1, w1 = x[:, 0], w[0]
    np.testing.assert_array_equal(ops.conv_bias_relu_max_pool(x1, w1, b).numpy(),
                                  ops.max_pool(ops.conv_bias_relu(x1, w1, b), 2).numpy())


@pytest.mark.parametrize("n, per_sample, budget", [(128, 86528, 1 << 20), (128, 115200, 1 << 20),
                                                    (1000, 86528, 2 << 20), (3, 10, 1),
                                                    (5, 10, 1 << 30), (1, 10, 1), (7, 100, 250)])
@pytest.mark.parametrize("multiple", [1, 4])
def test_chunks_cover_the_batch_evenly(n, per_sample, budget, multiple, monkeypatch):
    monkeypatch.setattr(conv_pool, "CHUNKS_MULTIPLE", multiple)
    chunks = conv_pool._chunks(n, per_sample, budget)
    assert [c[0] for c in chunks] == [0] + [c[1] for c in chunks[:-1]] and chunks[-1][1] == n
    sizes = [e - i for i, e in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert max(sizes) == 1 or max(sizes) * per_sample <= budget  # within the budget
    assert len(chunks) % multiple == 0 or len(chunks) == n  # every core gets as many
    few = -(-n // max(1, budget // per_sample))  # the fewest chunks within the budget
    assert few <= len(chunks) < few + multiple or len(chunks) == n


def _spy_on_fused_op(monkeypatch):
    """A list that gets each call of ops.conv_bias_relu_max_pool (its dropout_rate, 0
    when none) while the op still runs."""
    calls, real = [], ops.conv_bias_relu_max_pool
    monkeypatch.setattr(ops, "conv_bias_relu_max_pool",
                        lambda *a, **k: calls.append(k.get("dropout_rate", 0)) or real(*a, **k))
    return calls


def _convnet(activation="relu", pool_padding="valid"):
    shendu.utils.set_random_seed(3)
    return shendu.Sequential([shendu.Input((12, 12, 2)),
                              layers.Conv2D(4, 3, activation=activation),
                              layers.MaxPooling2D(2, padding=pool_padding),
                              layers.Flatten(), layers.Dense(3)])


def _layer_by_layer(model, x):
    for layer in model.layers:
        x = layer(x)
    return x


@pytest.mark.parametrize("activation, pool_padding, fused",
                         [("relu", "valid", True), ("tanh", "valid", False),
                          ("relu", "same", False)])
def test_sequential_fuses_conv_relu_and_its_pool(activation, pool_padding, fused, rng, monkeypatch):
    calls = _spy_on_fused_op(monkeypatch)
    model = _convnet(activation, pool_padding)
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    y = model(x)
    assert bool(calls) == fused
    np.testing.assert_allclose(y.numpy(), _layer_by_layer(model, x).numpy(), rtol=1e-5, atol=1e-6)
    # the gradients agree too
    grads = []
    for run in (model, lambda x: _layer_by_layer(model, x)):
        for v in model.trainable_weights:
            v.grad = None
        ops.sum(ops.square(run(x))).backward()
        grads.append([np.array(v.grad) for v in model.trainable_weights])
    for g, e in zip(*grads):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_sequential_fused_layers_still_check_shapes():
    model = shendu.Sequential([layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(4)])
    with pytest.raises(ValueError, match="max_pooling2d|MaxPooling2D|pool"):
        model(np.zeros((1, 5, 5, 1), np.float32))  # 3x3 activation, 4x4 pool


def _functional(shape):
    """The reference net's layers as a Functional model; ``shape`` picks who reads the
    first conv's output: 'pool' (only its pool), 'output' (also a model output) or
    'branch' (also another layer)."""
    shendu.utils.set_random_seed(3)
    inp = shendu.Input((12, 12, 2))
    a = layers.Conv2D(4, 3, activation="relu")(inp)
    p = layers.MaxPooling2D(2)(a)
    y = layers.Dense(3)(layers.Flatten()(p))
    if shape == "output":
        return shendu.Model(inp, [y, a])
    if shape == "branch":
        y = layers.Concatenate()([y, layers.Dense(3)(layers.GlobalMaxPooling2D()(a))])
    return shendu.Model(inp, y)


@pytest.mark.parametrize("shape, fused", [("pool", True), ("output", False), ("branch", False)])
def test_functional_fuses_a_conv_read_only_by_its_pool(shape, fused, rng, monkeypatch):
    calls = _spy_on_fused_op(monkeypatch)
    model = _functional(shape)
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    got = model(x)
    assert bool(calls) == fused
    monkeypatch.setattr(model, "_pool_after", {})  # every layer on its own
    want = model(x)
    as_list = lambda out: out if isinstance(out, list) else [out]  # noqa: E731
    for g, e in zip(as_list(got), as_list(want)):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=1e-6)
    if fused:  # the gradients agree too
        grads = []
        for pairs in (model._conv_pool_pairs(), {}):
            monkeypatch.setattr(model, "_pool_after", pairs)
            for v in model.trainable_weights:
                v.grad = None
            ops.sum(ops.square(model(x))).backward()
            grads.append([np.array(v.grad) for v in model.trainable_weights])
        for g, e in zip(*grads):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dropout_kw, fused", [({}, True), ({"seed": 7}, True),
                                               ({"noise_shape": (None, 1, 1, None)}, False)])
def test_sequential_fuses_the_dropout_after_the_pool(dropout_kw, fused, rng, monkeypatch):
    """Conv2D(relu) + MaxPooling2D + Dropout in training: the dropout is applied by the
    conv+pool op, with the mask, gradients and generator draws of the layers run one by
    one; a noise_shape (a mask not drawn by the counter hash) keeps the layer."""
    calls = _spy_on_fused_op(monkeypatch)
    shendu.utils.set_random_seed(3)
    model = shendu.Sequential([shendu.Input((12, 12, 2)),
                               layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
                               layers.Dropout(0.5, **dropout_kw), layers.Flatten(),
                               layers.Dense(3)])
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)

    def run(whole_model):
        for v in model.trainable_weights:
            v.grad = None
        shendu.utils.set_random_seed(11)  # the global generator, for the seedless layer
        if "seed" in dropout_kw:
            model.layers[2]._generator = np.random.default_rng(dropout_kw["seed"])
        if whole_model:
            y = model(x, training=True)
        else:
            y = x
            for layer in model.layers:
                y = layer(y, training=True)
        ops.sum(ops.square(y)).backward()
        gen = model.layers[2]._generator or ops.random.default_generator()
        after = gen.integers(1 << 30)
        return [y.numpy(), after] + [np.array(v.grad) for v in model.trainable_weights]

    got, want = run(True), run(False)
    assert calls[0] == (0.5 if fused else 0)
    assert got[1] == want[1]  # the generator advanced alike
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    calls.clear()
    y_inference = model(x, training=False).numpy()  # inference: no dropout to fuse
    assert calls == [0]
    assert not np.allclose(got[0], y_inference)  # the dropout did drop, in training


@pytest.mark.parametrize("read_twice", [False, True])
def test_functional_fuses_the_dropout_after_the_pool(read_twice, rng, monkeypatch):
    """Functional conv -> pool -> Dropout in training: the op applies the dropout when
    the Dropout call alone reads the pool's output, with the layers' values, gradients
    and generator draws."""
    calls = _spy_on_fused_op(monkeypatch)
    shendu.utils.set_random_seed(3)
    inp = shendu.Input((12, 12, 2))
    p = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="relu")(inp))
    y = layers.Dense(3)(layers.Flatten()(layers.Dropout(0.5)(p)))
    if read_twice:  # the pool's output also read elsewhere: the Dropout layer runs itself
        y = layers.Concatenate()([y, layers.Dense(3)(layers.Flatten()(p))])
    model = shendu.Model(inp, y)
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)

    def run(pairs):
        monkeypatch.setattr(model, "_pool_after", pairs)
        for v in model.trainable_weights:
            v.grad = None
        shendu.utils.set_random_seed(11)
        out = model(x, training=True)
        ops.sum(ops.square(out)).backward()
        after = ops.random.default_generator().integers(1 << 30)
        return [out.numpy(), after] + [np.array(v.grad) for v in model.trainable_weights]

    got = run(model._conv_pool_pairs())
    assert calls == [0 if read_twice else 0.5]
    want = run({})
    assert got[1] == want[1]
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
