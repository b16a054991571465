"""Generated checks for every core op: forward vs NumPy, float64 gradcheck, float32 stays float32."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, away_from, distinct, gradcheck


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _pos(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def _unary(x):
    return lambda rng: [(x(rng),)]


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    import math
    return np.vectorize(math.erf)(x)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# a fully masked row outputs zeros, a partly masked one renormalizes over the kept entries
_MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, True, False]])

def _masked_softmax(x, mask):
    e = np.where(mask, np.exp(x - x.max(-1, keepdims=True)), 0)
    s = e.sum(-1, keepdims=True)
    return e / np.where(s > 0, s, 1)


BINARY_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3)), ((5,), ())]


def _binary_samples(gen_a, gen_b=None):
    gen_b = gen_b or gen_a
    return lambda rng: [(gen_a(rng, *sa), gen_b(rng, *sb)) for sa, sb in BINARY_SHAPES]


SPECS = [
    OpSpec("add", ops.add, _binary_samples(_n), np.add),
    OpSpec("subtract", ops.subtract, _binary_samples(_n), np.subtract),
    OpSpec("multiply", ops.multiply, _binary_samples(_n), np.multiply),
    OpSpec("divide", ops.divide, _binary_samples(_n, _pos), np.divide),
    OpSpec("power", ops.power, _binary_samples(_pos, _n), np.power),
    OpSpec("power_scalar_exponent", lambda x: x ** 3, _unary(lambda r: _n(r, 3, 4)), lambda x: x ** 3),
    OpSpec("maximum", ops.maximum, _binary_samples(_n), np.maximum),
    OpSpec("minimum", ops.minimum, _binary_samples(_n), np.minimum),
    OpSpec("negative", ops.negative, _unary(lambda r: _n(r, 2, 3)), np.negative),
    OpSpec("exp", ops.exp, _unary(lambda r: _n(r, 2, 3)), np.exp),
    OpSpec("log", ops.log, _unary(lambda r: _pos(r, 4, 3)), np.log),
    OpSpec("sqrt", ops.sqrt, _unary(lambda r: _pos(r, 4, 3)), np.sqrt),
    OpSpec("square", ops.square, _unary(lambda r: _n(r, 4, 3)), np.square),
    OpSpec("abs", ops.abs, _unary(lambda r: away_from(_n(r, 4, 3), [0])), np.abs),
    OpSpec("where", lambda a, b: ops.where(a.data > 0, a, b), _binary_samples(_n),
           lambda a, b: np.where(a > 0, a, b)),
    OpSpec("clip", lambda x: ops.clip(x, -0.5, 0.7), _unary(lambda r: away_from(_n(r, 5, 4), [-0.5, 0.7])),
           lambda x: np.clip(x, -0.5, 0.7)),
    OpSpec("relu", ops.relu, _unary(lambda r: away_from(_n(r, 4, 5), [0])), lambda x: np.maximum(x, 0)),
    OpSpec("relu6", ops.relu6, _unary(lambda r: away_from(4 * _n(r, 4, 5), [0, 6])), lambda x: np.clip(x, 0, 6)),
    OpSpec("leaky_relu", lambda x: ops.leaky_relu(x, 0.1), _unary(lambda r: away_from(_n(r, 4, 5), [0])),
           lambda x: np.where(x > 0, x, 0.1 * x)),
    OpSpec("elu", ops.elu, _unary(lambda r: away_from(_n(r, 4, 5), [0])),
           lambda x: np.where(x > 0, x, np.expm1(x))),
    OpSpec("selu", ops.selu, _unary(lambda r: away_from(_n(r, 4, 5), [0])),
           lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    OpSpec("gelu_tanh", ops.gelu, _unary(lambda r: _n(r, 4, 5)),
           lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    OpSpec("gelu_exact", lambda x: ops.gelu(x, approximate=False), _unary(lambda r: 2 * _n(r, 4, 5)),
           lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    OpSpec("sigmoid", ops.sigmoid, _unary(lambda r: 3 * _n(r, 4, 5)), _sig),
    OpSpec("hard_sigmoid", ops.hard_sigmoid, _unary(lambda r: away_from(3 * _n(r, 4, 5), [-3, 3])),
           lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    OpSpec("tanh", ops.tanh, _unary(lambda r: _n(r, 4, 5)), np.tanh),
    OpSpec("softplus", ops.softplus, _unary(lambda r: 3 * _n(r, 4, 5)), lambda x: np.log1p(np.exp(x))),
    OpSpec("softsign", ops.softsign, _unary(lambda r: away_from(_n(r, 4, 5), [0])), lambda x: x / (1 + np.abs(x))),
    OpSpec("silu", ops.silu, _unary(lambda r: _n(r, 4, 5)), lambda x: x * _sig(x)),
    OpSpec("softmax_last", ops.softmax, _unary(lambda r: _n(r, 3, 5)), _softmax),
    OpSpec("softmax_axis0", lambda x: ops.softmax(x, axis=0), _unary(lambda r: _n(r, 3, 5)),
           lambda x: _softmax(x, 0)),
    OpSpec("softmax_axes", lambda x: ops.softmax(x, axis=(0, 2)), _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: _softmax(x.transpose(1, 0, 2).reshape(3, 8)).reshape(3, 2, 4).transpose(1, 0, 2)),
    OpSpec("softmax_mask", lambda x: ops.softmax(x, mask=_MASK), _unary(lambda r: _n(r, 3, 4)),
           lambda x: _masked_softmax(x, _MASK)),
    OpSpec("log_softmax", ops.log_softmax, _unary(lambda r: _n(r, 2, 3, 5)), lambda x: np.log(_softmax(x))),
    OpSpec("sum_all", ops.sum, _unary(lambda r: _n(r, 3, 4)), np.sum),
    OpSpec("sum_axis_keep", lambda x: ops.sum(x, axis=(0, 2), keepdims=True), _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: x.sum(axis=(0, 2), keepdims=True)),
    OpSpec("mean_axis", lambda x: ops.mean(x, axis=1), _unary(lambda r: _n(r, 2, 3, 4)), lambda x: x.mean(1)),
    OpSpec("max_axis", lambda x: ops.max(x, axis=-1), _unary(lambda r: distinct(r, (3, 5))), lambda x: x.max(-1)),
    OpSpec("min_all", ops.min, _unary(lambda r: distinct(r, (3, 5))), np.min),
    OpSpec("var_axis", lambda x: ops.var(x, axis=0), _unary(lambda r: _n(r, 4, 3)), lambda x: x.var(0)),
    OpSpec("std_keep", lambda x: ops.std(x, axis=1, keepdims=True), _unary(lambda r: _n(r, 4, 3)),
           lambda x: x.std(1, keepdims=True)),
    OpSpec("logsumexp", lambda x: ops.logsumexp(x, axis=-1), _unary(lambda r: 5 * _n(r, 3, 4)),
           lambda x: np.log(np.exp(x).sum(-1))),
    OpSpec("matmul_2d", ops.matmul, lambda r: [(_n(r, 3, 4), _n(r, 4, 5))], np.matmul),
    OpSpec("matmul_batched_broadcast", ops.matmul, lambda r: [(_n(r, 2, 3, 4), _n(r, 4, 2)),
                                                               (_n(r, 2, 1, 3, 4), _n(r, 3, 4, 2))], np.matmul),
    OpSpec("matmul_vector", ops.matmul, lambda r: [(_n(r, 4), _n(r, 4, 3)), (_n(r, 3, 4), _n(r, 4)),
                                                    (_n(r, 4), _n(r, 4))], np.matmul),
    OpSpec("linear", ops.linear, lambda r: [(_n(r, 3, 4), _n(r, 4, 2), _n(r, 2)),
                                             (_n(r, 2, 3, 4), _n(r, 4, 2), _n(r, 2))],
           lambda x, w, b: x @ w + b),
    OpSpec("reshape", lambda x: ops.reshape(x, (4, -1)), _unary(lambda r: _n(r, 2, 3, 2)), lambda x: x.reshape(4, -1)),
    OpSpec("transpose", lambda x: ops.transpose(x, (2, 0, 1)), _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: x.transpose(2, 0, 1)),
    OpSpec("transpose_noncontiguous", lambda x: ops.transpose(x[:, ::2]), _unary(lambda r: _n(r, 3, 6)),
           lambda x: x[:, ::2].T),
    OpSpec("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), _unary(lambda r: _n(r, 3, 1)),
           lambda x: np.broadcast_to(x, (2, 3, 4))),
    OpSpec("expand_squeeze", lambda x: ops.squeeze(ops.expand_dims(x, 1) * 2, 1), _unary(lambda r: _n(r, 3, 4)),
           lambda x: 2 * x),
    OpSpec("flatten", lambda x: ops.flatten(x, 1), _unary(lambda r: _n(r, 2, 3, 4)), lambda x: x.reshape(2, 12)),
    OpSpec("concatenate", lambda a, b: ops.concatenate([a, b, a], axis=1),
           lambda r: [(_n(r, 2, 3), _n(r, 2, 1))], lambda a, b: np.concatenate([a, b, a], 1)),
    OpSpec("stack", lambda a, b: ops.stack([a, b], axis=-1), lambda r: [(_n(r, 2, 3), _n(r, 2, 3))],
           lambda a, b: np.stack([a, b], -1)),
    OpSpec("split", lambda x: ops.split(x, [1, 3], axis=1)[1] * ops.split(x, 2, axis=0)[0][:, :2],
           _unary(lambda r: _n(r, 2, 4)), lambda x: x[:, 1:3] * x[:1, :2]),
    OpSpec("pad", lambda x: ops.pad(x, ((1, 0), (2, 1)), constant_values=0.5), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=0.5)),
    OpSpec("tile", lambda x: ops.tile(x, (2, 3)), _unary(lambda r: _n(r, 2, 3)), lambda x: np.tile(x, (2, 3))),
    OpSpec("repeat", lambda x: ops.repeat(x, 3, axis=1), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.repeat(x, 3, axis=1)),
    OpSpec("repeat_flat", lambda x: ops.repeat(x, 2), _unary(lambda r: _n(r, 2, 3)), lambda x: np.repeat(x, 2)),
    OpSpec("repeat_counts", lambda x: ops.repeat(x, np.array([2, 0, 1]), axis=1), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.repeat(x, [2, 0, 1], axis=1)),
    OpSpec("expand_dims_axes", lambda x: ops.expand_dims(x, (0, -1)), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.expand_dims(x, (0, -1))),
    OpSpec("moveaxis_several", lambda x: ops.moveaxis(x, (0, 2), (-1, 0)), _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: np.moveaxis(x, (0, 2), (-1, 0))),
    OpSpec("getitem_slice", lambda x: x[1:, ::2], _unary(lambda r: _n(r, 3, 5)), lambda x: x[1:, ::2]),
    OpSpec("getitem_int_array_repeats", lambda x: x[np.array([0, 2, 0, 0])], _unary(lambda r: _n(r, 3, 2)),
           lambda x: x[np.array([0, 2, 0, 0])]),
    OpSpec("getitem_bool_mask", lambda x: x[x.data > 0], _unary(lambda r: away_from(_n(r, 4, 3), [0])),
           lambda x: x[x > 0]),
    OpSpec("getitem_mixed", lambda x: x[[1, 0], :, None, 1], _unary(lambda r: _n(r, 2, 3, 4)),
           lambda x: x[[1, 0], :, None, 1]),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_forward_matches_numpy(spec, rng):
    for inputs in spec.samples(rng):
        got = spec.fn(*[shendu.tensor(a) for a in inputs])
        np.testing.assert_allclose(got.numpy(), spec.reference(*inputs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_gradcheck_float64(spec, rng):
    for inputs in spec.samples(rng):
        errs = gradcheck(spec.fn, *inputs, atol=spec.atol, rtol=spec.rtol)
        assert all(e is None or e < 1e-4 for e in errs), errs


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_float32_stays_float32(spec, rng):
    for inputs in spec.samples(rng):
        xs = [shendu.tensor(a.astype(np.float32), requires_grad=True) for a in inputs]
        y = spec.fn(*xs)
        assert y.dtype == np.float32, f"{spec.name} returned {y.dtype} from float32 inputs"
        y.backward(shendu.tensor(np.ones(y.shape, np.float32)))
        for x in xs:
            if x.grad is not None:
                assert x.grad.dtype == np.float32
        np.testing.assert_allclose(y.numpy(), spec.reference(*[a.astype(np.float32) for a in inputs]),
                                   rtol=1e-5, atol=1e-6)
