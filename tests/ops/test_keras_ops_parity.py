"""shendu.ops against real Keras (3, on JAX's CPU build) on the same inputs, name by name.

Each case calls ``shendu.ops.<name>`` and ``keras.ops.<name>`` with the same arguments
(float32 arrays, since Keras on JAX computes in float32) and compares shapes, dtype
kinds and values. This is where the subtle semantics are pinned: implicit einsum
outputs, tie order in top_k, one_hot of out-of-range indices, quantile methods,
correlate modes, pad modes, ...
"""
import numpy as np
import pytest

import shendu
from shendu import ops

keras = pytest.importorskip("keras", reason="the parity checks need Keras 3 (the 'keras' test extra)")

R = np.random.default_rng(7)


def f32(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def i32(*shape, lo=0, hi=5):
    return R.integers(lo, hi, shape).astype(np.int32)


X = f32(3, 4)
Y = f32(3, 4)
V = f32(5)
POS = f32(3, 4, lo=0.2, hi=3.0)
UNIT = f32(3, 4, lo=-0.9, hi=0.9)
SQ = f32(3, 3)
NANX = X.copy()
NANX[0, 1] = NANX[2, 3] = np.nan
INTS = i32(3, 4, lo=-6, hi=9)
POSINTS = i32(3, 4, lo=1, hi=9)

# (case id, name, positional args, keyword args)
CASES = [
    ("einsum_matmul", "einsum", ("ij,jk->ik", X, Y.T), {}),
    ("einsum_implicit", "einsum", ("ji", X), {}),
    ("einsum_ellipsis", "einsum", ("...ij,...kj", f32(2, 3, 4), f32(2, 5, 4)), {}),
    ("einsum_trace", "einsum", ("ii", SQ), {}),
    ("tensordot", "tensordot", (f32(2, 3, 4), f32(3, 4, 5)), {"axes": 2}),
    ("dot_nd", "dot", (f32(2, 3, 4), f32(5, 4, 2)), {}),
    ("outer", "outer", (V, f32(2, 2)), {}),
    ("inner", "inner", (X, Y), {}),
    ("vdot", "vdot", (X, Y), {}),
    ("kron", "kron", (f32(2, 2), f32(2, 3)), {}),
    ("tril", "tril", (f32(2, 3, 4),), {"k": -1}),
    ("triu", "triu", (X,), {"k": 1}),
    ("tri", "tri", (3, 4), {"k": 1}),
    ("softmax_axis0", "softmax", (X,), {"axis": 0}),
    ("log_softmax", "log_softmax", (X,), {}),
    ("top_k", "top_k", (np.array([[1., 5., 3., 5.], [2., 2., 0., 1.]], np.float32), 3), {}),
    ("in_top_k", "in_top_k", (np.array([1, 2]), np.array([[0.1, .9, .5], [.3, .2, .1]], np.float32), 1), {}),
    ("one_hot", "one_hot", (np.array([[0, 3], [2, -1]]), 3), {}),
    ("one_hot_axis0", "one_hot", (np.array([0, 2]), 3), {"axis": 0}),
    ("multi_hot", "multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
    ("multi_hot_1d", "multi_hot", (np.array([0, 2]), 4), {}),
    ("cumsum", "cumsum", (X,), {"axis": 1}),
    ("cumsum_flat", "cumsum", (X,), {}),
    ("cumprod", "cumprod", (X,), {"axis": 0}),
    ("prod", "prod", (X,), {"axis": 1}),
    ("sort", "sort", (X,), {"axis": 0}),
    ("argsort", "argsort", (np.array([3., 1., 2., 1.], np.float32),), {}),
    ("take", "take", (X, np.array([[0, 2], [1, -1]])), {"axis": 1}),
    ("take_flat", "take", (X, np.array([0, 11])), {}),
    ("take_along_axis", "take_along_axis", (X, np.array([[0, 3], [1, 1], [2, 0]])), {"axis": 1}),
    ("linspace", "linspace", (0.0, 1.0, 7), {}),
    ("linspace_noend", "linspace", (np.array([0.0, 1.0]), np.array([2.0, 5.0]), 4), {"endpoint": False, "axis": 1}),
    ("logspace", "logspace", (0.0, 2.0, 5), {}),
    ("geomspace", "geomspace", (1.0, 100.0, 5), {}),
    ("arange", "arange", (1, 10, 3), {}),
    ("eye", "eye", (3, 4), {"k": 1}),
    ("identity", "identity", (3,), {}),
    ("full_like", "full_like", (X, 2.5), {}),
    ("zeros_like", "zeros_like", (X,), {}),
    ("concatenate", "concatenate", ([X, Y],), {"axis": 1}),
    ("stack", "stack", ([X, Y],), {"axis": 1}),
    ("split", "split", (f32(6, 2), 3), {}),
    ("expand_dims_tuple", "expand_dims", (X, (0, 2)), {}),
    ("squeeze", "squeeze", (f32(1, 3, 1),), {}),
    ("broadcast_to", "broadcast_to", (V, (2, 5)), {}),
    ("tile", "tile", (X, (2, 1)), {}),
    ("repeat_flat", "repeat", (X, 2), {}),
    ("repeat_axis", "repeat", (X, 2), {"axis": 1}),
    ("transpose", "transpose", (f32(2, 3, 4), (1, 2, 0)), {}),
    ("swapaxes", "swapaxes", (f32(2, 3, 4), 0, 2), {}),
    ("moveaxis", "moveaxis", (f32(2, 3, 4), (0, 1), (2, 0)), {}),
    ("clip", "clip", (X, -0.5, 0.5), {}),
    ("logsumexp", "logsumexp", (X,), {"axis": 1}),
    ("where", "where", (X > 0, X, Y), {}),
    ("cast", "cast", (X, "int32"), {}),
    ("stop_gradient", "stop_gradient", (X,), {}),
    ("convert_to_numpy", "convert_to_numpy", (X,), {}),
    ("flip", "flip", (X,), {"axis": 1}),
    ("roll", "roll", (X, 2), {"axis": 1}),
    ("roll_flat", "roll", (X, -5), {}),
    ("rot90", "rot90", (X,), {"k": 3}),
    ("diag", "diag", (V,), {"k": -1}),
    ("diagonal", "diagonal", (f32(3, 2, 4),), {"offset": 1, "axis1": 0, "axis2": 2}),
    ("trace", "trace", (f32(2, 3, 3),), {"axis1": 1, "axis2": 2}),
    ("diagflat", "diagflat", (f32(2, 2),), {}),
    ("scatter", "scatter", (np.array([[0, 1], [2, 0], [0, 1]]), np.array([1., 2., 3.], np.float32), (3, 2)), {}),
    ("scatter_update", "scatter_update", (X, np.array([[0, 1], [2, 2]]), np.array([9., 8.], np.float32)), {}),
    ("slice", "slice", (X, (1, 1), (2, 2)), {}),
    ("slice_update", "slice_update", (X, (1, 2), f32(2, 2)), {}),
    ("unstack", "unstack", (X,), {"axis": 1}),
    ("quantile", "quantile", (X, np.array([0.1, 0.5, 0.8], np.float32)), {"axis": 1}),
    ("quantile_nearest", "quantile", (X, 0.4), {"axis": 0, "method": "nearest"}),
    ("quantile_midpoint", "quantile", (X, 0.4), {"method": "midpoint", "keepdims": True}),
    ("percentile", "percentile", (X, 30.0), {"axis": 1, "method": "lower"}),
    ("median", "median", (X,), {"axis": 0}),
    ("nanmedian", "nanmedian", (NANX,), {"axis": 1}),
    ("nanquantile", "nanquantile", (NANX, 0.3), {}),
    ("nansum", "nansum", (NANX,), {"axis": 0}),
    ("nanmean", "nanmean", (NANX,), {"axis": 1}),
    ("nanvar", "nanvar", (NANX,), {}),
    ("nanstd", "nanstd", (NANX,), {"axis": 1}),
    ("nanmax", "nanmax", (NANX,), {"axis": 1}),
    ("nanmin", "nanmin", (NANX,), {}),
    ("nanprod", "nanprod", (NANX,), {"axis": 1}),
    ("nanargmax", "nanargmax", (NANX,), {"axis": 1}),
    ("nanargmin", "nanargmin", (NANX,), {"axis": 0}),
    ("nancumsum", "nancumsum", (NANX,), {"axis": 1}),
    ("nancumprod", "nancumprod", (NANX,), {"axis": 1}),
    ("all", "all", (X > -1,), {"axis": 1}),
    ("any", "any", (X > 1,), {"axis": 0, "keepdims": True}),
    ("count_nonzero", "count_nonzero", (INTS,), {"axis": 1}),
    ("average", "average", (X,), {"axis": 1, "weights": f32(4, lo=0.5, hi=2)}),
    ("ptp", "ptp", (X,), {"axis": 1}),
    ("corrcoef", "corrcoef", (X,), {}),
    ("searchsorted", "searchsorted", (np.array([1., 3., 5.], np.float32), np.array([0., 3., 6.], np.float32)), {}),
    ("searchsorted_right", "searchsorted", (np.array([1., 3., 5.], np.float32), np.array([3.], np.float32)),
     {"side": "right"}),
    ("digitize", "digitize", (V, np.array([-1.0, 0.0, 1.0], np.float32)), {}),
    ("bincount", "bincount", (np.array([1, 1, 3]),), {"minlength": 5}),
    ("bincount_weights", "bincount", (np.array([0, 2, 2]), np.array([.5, 1., 2.], np.float32)), {}),
    ("histogram", "histogram", (V,), {"bins": 3}),
    ("unique", "unique", (np.array([3, 1, 3, 2]),), {"return_counts": True}),
    ("ravel", "ravel", (X,), {}),
    ("hstack", "hstack", ([X, Y],), {}),
    ("vstack", "vstack", ([V, V],), {}),
    ("dstack", "dstack", ([X, Y],), {}),
    ("array_split", "array_split", (f32(7, 2), 3), {}),
    ("hsplit", "hsplit", (X, 2), {}),
    ("vsplit", "vsplit", (f32(4, 2), 2), {}),
    ("dsplit", "dsplit", (f32(2, 2, 4), 2), {}),
    ("append", "append", (X, V), {}),
    ("meshgrid", "meshgrid", (V, f32(3)), {}),
    ("meshgrid_ij", "meshgrid", (V, f32(3)), {"indexing": "ij"}),
    ("pad_reflect", "pad", (X, ((1, 2), (2, 1))), {"mode": "reflect"}),
    ("pad_symmetric", "pad", (X, ((1, 2), (2, 1))), {"mode": "symmetric"}),
    ("pad_wrap", "pad", (X, ((1, 2), (2, 1))), {"mode": "wrap"}),
    ("pad_edge", "pad", (X, ((1, 0), (0, 2))), {"mode": "edge"}),
    ("pad_constant", "pad", (X, ((1, 0), (0, 2))), {"constant_values": 3.0}),
    ("diff", "diff", (X,), {"n": 2, "axis": 1}),
    ("cross", "cross", (f32(4, 3), f32(4, 3)), {}),
    ("cross_2d", "cross", (f32(4, 2), f32(4, 2)), {}),
    ("trapezoid", "trapezoid", (X,), {"dx": 0.5}),
    ("correlate_same", "correlate", (V, f32(3)), {"mode": "same"}),
    ("correlate_full", "correlate", (f32(3), V), {"mode": "full"}),
    ("correlate_valid", "correlate", (V, f32(2)), {}),
    ("vander", "vander", (f32(3),), {"N": 4}),
    ("bartlett", "bartlett", (7,), {}),
    ("blackman", "blackman", (7,), {}),
    ("hamming", "hamming", (7,), {}),
    ("hanning", "hanning", (7,), {}),
    ("kaiser", "kaiser", (7, 3.0), {}),
    ("max_initial", "max", (X,), {"axis": 1, "initial": 1.5}),
    ("var", "var", (X,), {"axis": 0, "keepdims": True}),
    ("std", "std", (X,), {}),
    ("argmax_keepdims", "argmax", (X,), {"axis": 1, "keepdims": True}),
    ("nonzero", "nonzero", (INTS,), {}),
    ("where_single", "where", (X > 0,), {}),
    ("select", "select", ([X > 1, X < -1], [X, Y]), {"default": 0.5}),
    ("unravel_index", "unravel_index", (np.array([5, 7]), (3, 4)), {}),
    ("saturate_cast", "saturate_cast", (X * 200, "uint8"), {}),
    ("isclose", "isclose", (X, X + 1e-7), {}),
    ("nan_to_num", "nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], np.float32),), {"nan": 0.5}),
    ("round", "round", (np.array([0.5, 1.5, 2.5, -0.5, 1.234], np.float32),), {}),
    ("round_decimals", "round", (X,), {"decimals": 1}),
    ("floor_divide", "floor_divide", (X, 0.3), {}),
    ("mod", "mod", (X, 0.7), {}),
    ("mod_negative", "mod", (X, -0.7), {}),
    ("fmod", "fmod", (X, -0.7), {}),
    ("heaviside", "heaviside", (np.array([-1., 0., 2.], np.float32), 0.5), {}),
    ("ldexp", "ldexp", (X, INTS), {}),
    ("divide_no_nan", "divide_no_nan", (X, np.array([0.5, 0., -2., 1.], np.float32)), {}),
    ("i0", "i0", (X,), {}),
    ("sinc", "sinc", (np.array([0., 0.5, 1.5], np.float32),), {}),
    ("angle", "angle", (np.array([-1., 2.], np.float32),), {}),
    ("gcd", "gcd", (POSINTS, i32(3, 4, lo=1, hi=12)), {}),
    ("lcm", "lcm", (POSINTS, i32(3, 4, lo=1, hi=12)), {}),
    ("bitwise_and", "bitwise_and", (INTS, POSINTS), {}),
    ("bitwise_invert", "bitwise_invert", (INTS,), {}),
    ("left_shift", "left_shift", (POSINTS, np.int32(2)), {}),
    ("right_shift", "right_shift", (POSINTS, np.int32(1)), {}),
    ("isin", "isin", (INTS, np.array([1, 2, 3])), {}),
    ("signbit", "signbit", (X,), {}),
]

UNARY_FLOAT = {
    "sin": X, "cos": X, "tan": UNIT, "arcsin": UNIT, "arccos": UNIT, "arctan": X, "sinh": X, "cosh": X,
    "tanh": X, "arcsinh": X, "arccosh": POS + 1, "arctanh": UNIT, "exp": X, "expm1": X, "exp2": X, "log": POS,
    "log1p": POS, "log2": POS, "log10": POS, "sqrt": POS, "rsqrt": POS, "cbrt": X, "reciprocal": POS,
    "square": X, "abs": X, "fabs": X, "negative": X, "sign": X, "floor": X, "ceil": X, "trunc": X,
    "erf": X, "erfc": X * 2, "erfinv": UNIT, "deg2rad": X, "rad2deg": X, "real": X, "imag": X, "conj": X,
    "isfinite": NANX, "isnan": NANX, "isinf": X / np.float32(0.5), "isneginf": NANX, "isposinf": NANX,
    "logical_not": X > 0, "relu": X, "sigmoid": X, "softplus": X, "silu": X, "log_sigmoid": X,
}
CASES += [(f"unary_{n}", n, (x,), {}) for n, x in UNARY_FLOAT.items()]
BINARY_FLOAT = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "arctan2", "hypot",
                "logaddexp", "logaddexp2", "fmax", "fmin", "equal", "not_equal", "less", "greater_equal",
                "logical_and", "logical_or", "logical_xor", "nextafter", "true_divide"]
CASES += [(f"binary_{n}", n, (X, Y), {}) for n in BINARY_FLOAT]
CASES += [("power", "power", (POS, X), {})]


def _leaves(y):
    if isinstance(y, (tuple, list)):
        return [leaf for item in y for leaf in _leaves(item)]
    return [np.asarray(y.numpy() if isinstance(y, shendu.Tensor) else y)]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_keras(case):
    _, name, args, kwargs = case
    want = _leaves(getattr(keras.ops, name)(*args, **kwargs))
    got = _leaves(getattr(ops, name)(*args, **kwargs))
    assert len(got) == len(want), f"{name}: {len(got)} outputs, Keras gives {len(want)}"
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"{name}: shape {g.shape}, Keras {w.shape}"
        kinds = {g.dtype.kind, w.dtype.kind}
        assert len(kinds) == 1 or kinds <= set("iu"), f"{name}: dtype {g.dtype}, Keras {w.dtype}"
        if w.dtype.kind == "f":
            assert g.dtype == w.dtype, f"{name}: dtype {g.dtype}, Keras {w.dtype}"
            scale = max(float(np.nanmax(np.abs(w))) if np.isfinite(w).any() else 1.0, 1.0)
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6 * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)
