"""Every fast (Numba) kernel against its NumPy reference, on odd shapes and both float types.

Parity is exact where the kernel does the same arithmetic in the same order (copies,
max, the dropout hash) and within float tolerance where a sum is reordered.
"""
import numpy as np
import pytest

import shendu  # noqa: F401  (registers every reference)
from shendu import kernels as registry
from shendu.ops.conv import same_or_valid_pads, _out_sizes
from shendu.testing import assert_allclose_normwise

pytest.importorskip("numba")
FAST = registry.fast_kernels()
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
NORMWISE = {np.float32: 1e-5, np.float64: 1e-12}  # for results that sum several terms


def both(name):
    return FAST[name], registry.get_reference(name)


def non_contiguous(a):
    """The same values as a, as a non-contiguous view."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def test_every_kernel_has_a_fast_version_and_a_test():
    assert set(FAST) == set(registry.names())
    tested = {"im2col", "col2im", "max_pool_forward", "max_pool_backward",
              "max_pool_relu_backward", "bias_relu", "bn_moments", "bn_grad_moments", "bn_affine",
              "bias_relu_grad", "dropout_apply", "adam_update", "conv_pool_forward_chunk",
              "conv_pool_backward_chunk"}
    assert tested == set(FAST)


# (N, H, W, C), kernel, strides, padding, dilation
CONV_CASES = [
    ((1, 5, 7, 3), (3, 3), (1, 1), "valid", (1, 1)),
    ((2, 28, 28, 1), (3, 3), (1, 1), "valid", (1, 1)),
    ((3, 9, 8, 4), (3, 2), (2, 2), "same", (1, 1)),
    ((2, 11, 13, 5), (3, 3), (2, 1), "same", (1, 1)),
    ((1, 10, 9, 2), (2, 3), (1, 1), "valid", (2, 1)),
    ((2, 6, 6, 3), (1, 1), (2, 2), "valid", (1, 1)),
    ((1, 4, 4, 2), (5, 5), (1, 1), "same", (1, 1)),
]


def _geometry(shape, ksize, strides, padding, dilation):
    pads = same_or_valid_pads(shape[1:3], ksize, strides, dilation, padding)
    return pads, _out_sizes(shape[1:3], ksize, strides, dilation, pads)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("contiguous", [True, False])
def test_im2col_and_col2im_match_reference(case, dtype, contiguous, rng):
    shape, ksize, strides, padding, dilation = case
    pads, out = _geometry(shape, ksize, strides, padding, dilation)
    x = rng.standard_normal(shape).astype(dtype)
    if not contiguous:
        x = non_contiguous(x)
    fast, ref = both("im2col")
    c_fast = fast(x, ksize, strides, pads, dilation)
    c_ref = ref(x, ksize, strides, pads, dilation)
    assert c_fast.shape == c_ref.shape and c_fast.dtype == c_ref.dtype
    np.testing.assert_array_equal(c_fast, c_ref)

    g = rng.standard_normal(c_ref.shape).astype(dtype)
    if not contiguous:
        g = non_contiguous(g)
    fast, ref = both("col2im")
    g_fast = fast(g, x.shape, ksize, strides, pads, dilation)
    g_ref = ref(g, x.shape, ksize, strides, pads, dilation)
    assert g_fast.shape == g_ref.shape == x.shape and g_fast.dtype == dtype
    assert_allclose_normwise(g_fast, g_ref, rtol=NORMWISE[dtype])


@pytest.mark.parametrize("case", CONV_CASES)
def test_im2col_out_keeps_the_leading_outputs_and_col2im_takes_them(case, rng):
    shape, ksize, strides, padding, dilation = case
    pads, out = _geometry(shape, ksize, strides, padding, dilation)
    kept = tuple(max(1, o - 1) for o in out)  # what a valid pool over an odd output reads
    x = rng.standard_normal(shape).astype(np.float32)
    fast, ref = both("im2col")
    full = ref(x, ksize, strides, pads, dilation)
    for f in (fast, ref):
        c = f(x, ksize, strides, pads, dilation, kept)
        assert c.shape == (shape[0],) + kept + full.shape[3:]
        np.testing.assert_array_equal(c, full[:, :kept[0], :kept[1]])
    # col2im of the kept outputs' gradient = col2im of the full one with zeros elsewhere
    g = rng.standard_normal((shape[0],) + kept + full.shape[3:]).astype(np.float32)
    g_full = np.zeros(full.shape, np.float32)
    g_full[:, :kept[0], :kept[1]] = g
    fast, ref = both("col2im")
    want = ref(g_full, x.shape, ksize, strides, pads, dilation)
    for f in (fast, ref):
        assert_allclose_normwise(f(g, x.shape, ksize, strides, pads, dilation), want,
                                 rtol=NORMWISE[np.float32])


def test_kernels_propagate_nan_like_their_references():
    x = np.array([[[[np.nan], [1.0]], [[2.0], [np.nan]]]], np.float32)  # one 2x2 window
    for first_nan in (True, False):
        xx = x if first_nan else x[:, ::-1, ::-1].copy()
        ref = registry.get_reference("max_pool_forward")(xx, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
        for need_arg in (True, False):
            y, _ = FAST["max_pool_forward"](xx, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1),
                                            need_arg=need_arg)
            np.testing.assert_array_equal(y, ref[0])
    b = np.zeros(3, np.float32)
    v = np.array([[np.nan, -1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(FAST["bias_relu"](v, b), registry.get_reference("bias_relu")(v, b))


def test_im2col_other_ranks_and_ints_fall_back_to_reference(rng):
    fast, ref = both("im2col")
    x1 = rng.standard_normal((2, 9, 3))
    np.testing.assert_array_equal(fast(x1, (3,), (2,), ((1, 1),), (1,)),
                                  ref(x1, (3,), (2,), ((1, 1),), (1,)))
    xi = rng.integers(0, 9, (1, 5, 5, 2))
    np.testing.assert_array_equal(fast(xi, (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),
                                  ref(xi, (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)))


# (N, H, W, C), pool, strides, padding
POOL_CASES = [
    ((128, 26, 26, 3), (2, 2), (2, 2), "valid"),   # the hot case
    ((1, 11, 11, 4), (2, 2), (2, 2), "valid"),     # odd: last row and column unused
    ((2, 7, 9, 3), (3, 3), (2, 2), "same"),        # overlapping windows with padding
    ((1, 5, 6, 2), (2, 3), (1, 2), "valid"),
    ((3, 5, 5, 1), (2, 2), (2, 2), "same"),
    ((1, 3, 3, 2), (3, 3), (1, 1), "same"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_matches_reference(case, dtype, ties, rng):
    shape, pool, strides, padding = case
    pads, out = _geometry(shape, pool, strides, padding, (1, 1))
    x = (rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    if shape[0] == 1:
        x = non_contiguous(x)
    fast, ref = both("max_pool_forward")
    y_fast, a_fast = fast(x, pool, strides, pads, out)
    y_ref, a_ref = ref(x, pool, strides, pads, out)
    np.testing.assert_array_equal(y_fast, y_ref)
    np.testing.assert_array_equal(a_fast, a_ref)  # the same tap wins a tie
    y_only, _ = fast(x, pool, strides, pads, out, need_arg=False)  # inference
    np.testing.assert_array_equal(y_only, y_ref)

    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    fast, ref = both("max_pool_backward")
    g_fast = fast(gy, a_ref, x.shape, pool, strides, pads, out)
    g_ref = ref(gy, a_ref, x.shape, pool, strides, pads, out)
    assert g_fast.shape == x.shape and g_fast.dtype == dtype
    np.testing.assert_allclose(g_fast, g_ref, **TOL[dtype])

    # the pool of a ReLU's output: the same arg, masked by the pooled y > 0 (x as a
    # post-ReLU activation: clipped at 0, so with ties the windows that are all 0)
    a = np.maximum(x, 0 if ties else -0.5).astype(dtype)
    y, arg = registry.get_reference("max_pool_forward")(a, pool, strides, pads, out)
    fast, ref = both("max_pool_relu_backward")
    (g_fast, b_fast), (g_ref, b_ref) = (f(gy, arg, y, x.shape, pool, strides, pads, out)
                                        for f in (fast, ref))
    assert g_fast.shape == x.shape and g_fast.dtype == b_fast.dtype == dtype
    np.testing.assert_allclose(g_fast, g_ref, **TOL[dtype])
    # gb sums many values: against the float64 sum, within rounding of the sum of |gy|
    exact = (gy.astype(np.float64) * (y > 0)).reshape(-1, gy.shape[-1]).sum(axis=0)
    scale = np.abs(gy.astype(np.float64)).reshape(-1, gy.shape[-1]).sum(axis=0)
    for b in (b_fast, b_ref):
        assert np.all(np.abs(b - exact) <= TOL[dtype]["atol"] * (1 + scale))
    np.testing.assert_array_equal(g_ref, both("max_pool_backward")[1](
        gy, arg, x.shape, pool, strides, pads, out) * (a > 0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (300, 32), (64, 130)])
def test_batch_norm_kernels_match_reference(shape, dtype, rng):
    x = non_contiguous((rng.standard_normal(shape) * 3 + 100).astype(dtype))  # |mean| >> std
    gy = rng.standard_normal(shape).astype(dtype)
    shift, mean = x[0].astype(np.float64), x.astype(np.float64).mean(axis=0)
    for name, args in [("bn_moments", (x, shift)), ("bn_grad_moments", (gy, x, mean))]:
        fast, ref = both(name)
        for f, r in zip(fast(*args), ref(*args)):
            assert f.dtype == np.float64
            np.testing.assert_allclose(f, r, rtol=1e-10, atol=1e-9 * shape[0])
    c, a, b, gs = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(4))
    fast, ref = both("bn_affine")
    for extra in [(), (gy, gs)]:
        want = ref(x, c, a, b, *extra)
        out = np.empty(shape, dtype)
        assert fast(x, c, a, b, *extra, out=out) is out
        np.testing.assert_allclose(out, want, **TOL[dtype])
        np.testing.assert_allclose(fast(x, c, a, b, *extra), want, **TOL[dtype])
    inplace = x.copy()  # an out that is the input: the reference's buffered NumPy ops
    fast(inplace, c, a, b, out=inplace)
    np.testing.assert_allclose(inplace, ref(x, c, a, b), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (2, 5, 7, 3), (1, 1, 1, 1), (64, 130)])
def test_bias_relu_matches_reference(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[0] = 0.0  # exactly at the kink: subgradient 0 in both
    b = rng.standard_normal(shape[-1]).astype(dtype)
    if len(shape) > 2:
        x = non_contiguous(x)
        b[0] = 0.0
    fast, ref = both("bias_relu")
    y = ref(x, b)
    np.testing.assert_array_equal(fast(x, b), y)
    gy = rng.standard_normal(shape).astype(dtype)
    fast, ref = both("bias_relu_grad")
    (gx_f, gb_f), (gx_r, gb_r) = fast(gy, y), ref(gy, y)
    np.testing.assert_array_equal(gx_f, gx_r)
    assert gb_f.dtype == gb_r.dtype == dtype
    assert_allclose_normwise(gb_f, gb_r, rtol=NORMWISE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 13, 13, 5), (128, 128)])
@pytest.mark.parametrize("rate", [0.25, 0.5, 0.9])
def test_dropout_apply_matches_reference(shape, rate, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    if len(shape) > 1:
        x = non_contiguous(x)
    fast, ref = both("dropout_apply")
    seed = int(rng.integers(0, 2 ** 63))
    y = ref(x, seed, rate)
    np.testing.assert_array_equal(fast(x, seed, rate), y)
    assert y.dtype == dtype and y.shape == shape
    if y.size >= 1000:  # 4.5 standard deviations
        assert abs((y == 0).mean() - rate) < 4.5 * np.sqrt(rate * (1 - rate) / y.size)
        kept = y != 0
        np.testing.assert_allclose(y[kept], x[kept] / dtype(1 - rate), rtol=1e-6)


def test_dropout_hash_depends_on_seed_and_position():
    ref = registry.get_reference("dropout_apply")
    x = np.ones(10000, np.float32)
    a, b = ref(x, 1, 0.5), ref(x, 2, 0.5)
    assert 0.4 < (a != b).mean() < 0.6
    assert abs((a[:5000] == 0).mean() - (a[5000:] == 0).mean()) < 0.05


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (3, 3, 1, 32), (17, 5)])
def test_adam_update_matches_reference(shape, dtype, rng):
    arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])  # v >= 0
    args = (0.9, 0.999, 1e-3 * np.sqrt(1 - 0.999 ** 3) / (1 - 0.9 ** 3), 1e-7)
    fast, ref = both("adam_update")
    a_fast = [a.copy() for a in arrays]
    a_ref = [a.copy() for a in arrays]
    fast(*a_fast, *args)
    ref(*a_ref, *args)
    for name, f, r in zip("wgmv", a_fast, a_ref):
        if name == "g":
            continue  # scratch space
        assert f.dtype == dtype
        np.testing.assert_allclose(f, r, **TOL[dtype], err_msg=name)


# (x shape, kernel size, strides, padding, dilation): the reference net's two convs and
# odd geometries; every conv output a 2x2 / stride 2 pool reads
CONV_POOL_CASES = [
    ((3, 28, 28, 1), (3, 3), (1, 1), "valid", (1, 1)),
    ((2, 13, 13, 32), (3, 3), (1, 1), "valid", (1, 1)),
    ((2, 9, 8, 3), (3, 2), (1, 1), "same", (1, 1)),
    ((2, 11, 12, 2), (3, 3), (2, 1), "same", (1, 2)),
]


def _conv_pool_args(case, rng, dtype=np.float32):
    shape, ksize, strides, padding, dilation = case
    pads, conv_out = _geometry(shape, ksize, strides, padding, dilation)
    pooled = tuple(n // 2 for n in conv_out)
    conv_out = tuple(2 * p for p in pooled)  # the outputs the pool reads
    geom = (ksize, strides, pads, dilation, conv_out, (2, 2), (2, 2), pooled)
    F = 5
    x = rng.standard_normal(shape).astype(dtype)
    w2 = rng.standard_normal((np.prod(ksize) * shape[-1], F)).astype(dtype)
    b = (0.3 * rng.standard_normal(F)).astype(dtype)
    return x, w2, b, geom, (shape[0],) + pooled + (F,), (shape[0],) + conv_out + ksize + shape[-1:]


@pytest.mark.parametrize("case", CONV_POOL_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("drop", [None, (2 ** 63 + 5, 0.3)])
@pytest.mark.parametrize("keep", [True, False])
def test_conv_pool_chunk_kernels_match_reference(case, dtype, drop, keep, rng):
    """The one-call chunk (float32: columns, sgemm from Numba, pool, bias + ReLU, dropout)
    against its reference (the same chunk as kernel calls and NumPy products), forward
    and backward; float64 goes to the reference inside the fast kernel."""
    x, w2, b, geom, y_shape, cols_shape = _conv_pool_args(case, rng, dtype)
    from shendu.kernels import blas, numba_cpu
    if dtype == np.float32 and blas.sgemm() is not None:  # the one-call path is the one tested
        assert numba_cpu._one_call_sgemm(x, w2, b, pool=(2, 2), pool_strides=(2, 2)) is not None
    fwd, fwd_ref = both("conv_pool_forward_chunk")
    bwd, bwd_ref = both("conv_pool_backward_chunk")
    out = {}
    for name, f, g in (("fast", fwd, bwd), ("ref", fwd_ref, bwd_ref)):
        y, arg = np.empty(y_shape, dtype), np.empty(y_shape, np.int32)
        cols = np.empty(cols_shape, dtype) if keep else None
        f(x, w2, b, cols, y, arg, geom, drop)
        y_inf = np.empty(y_shape, dtype)
        f(x, w2, b, None, y_inf, None, geom, drop)  # inference: no argmax
        gy = np.random.default_rng(1).standard_normal(y_shape).astype(dtype)
        gx = np.empty(x.shape, dtype)
        gw, gb = g(x, w2, gy, arg, y, cols, gx, geom, True, 1.5)
        gw2, gb2 = g(x, w2, gy, arg, y, None, None, geom, False, 1.0)  # no gW, no gx
        assert gw2 is None
        out[name] = [y, y_inf, arg, gx, gw, gb, gb2] + ([cols] if keep else [])
    assert (out["ref"][0] == 0).any() and (out["ref"][0] > 0).any()
    names = ["y", "y (inference)", "arg", "gx", "gW", "gb", "gb (scale 1)", "cols"]
    for name, f, r in zip(names, out["fast"], out["ref"]):
        assert f.dtype == r.dtype, name
        if name in ("arg", "cols"):
            np.testing.assert_array_equal(f, r, err_msg=name)
        else:  # (sums reordered: normwise)
            err = np.linalg.norm((f - r).astype(np.float64))
            assert err <= TOL[dtype]["rtol"] * max(np.linalg.norm(r.astype(np.float64)), 1), name
