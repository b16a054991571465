"""Quantiles, NaN-ignoring reductions, averages and counting."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, distinct, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _unary(gen):
    return lambda rng: [(gen(rng),)]


def _with_nan(rng, *shape):
    x = distinct(rng, shape)
    x.reshape(-1)[1::5] = np.nan
    return x


# NaN never receives a gradient, so the NaN-ignoring specs pass NaN through a where
# inside fn (the checked input itself has no NaN).
_NANMASK = np.zeros((3, 5), bool)
_NANMASK[0, 1] = _NANMASK[2, 4] = _NANMASK[2, 0] = True


def _put_nan(x):
    return ops.where(_NANMASK, np.asarray(np.nan, x.dtype), x)


def _np_nan(x):
    return np.where(_NANMASK, np.nan, x)


SPECS = [
    OpSpec(f"quantile_{m}", lambda x, m=m: ops.quantile(x, [0.2, 0.5, 0.9], axis=1, method=m),
           _unary(lambda r: distinct(r, (3, 7))),
           lambda x, m=m: np.quantile(x, [0.2, 0.5, 0.9], axis=1, method=m))
    for m in ["linear", "lower", "higher", "midpoint", "nearest"]
] + [
    OpSpec("quantile_keepdims", lambda x: ops.quantile(x, 0.3, axis=(0, 2), keepdims=True),
           _unary(lambda r: distinct(r, (2, 3, 4))), lambda x: np.quantile(x, 0.3, axis=(0, 2), keepdims=True)),
    OpSpec("percentile", lambda x: ops.percentile(x, 35.0), _unary(lambda r: distinct(r, (4, 3))),
           lambda x: np.percentile(x, 35.0)),
    OpSpec("median", lambda x: ops.median(x, axis=0), _unary(lambda r: distinct(r, (4, 3))),
           lambda x: np.median(x, axis=0)),
    OpSpec("median_odd", ops.median, _unary(lambda r: distinct(r, (5,))), np.median),
    OpSpec("nanquantile", lambda x: ops.nanquantile(_put_nan(x), [0.25, 0.75], axis=1),
           _unary(lambda r: distinct(r, (3, 5))), lambda x: np.nanquantile(_np_nan(x), [0.25, 0.75], axis=1)),
    OpSpec("nanmedian", lambda x: ops.nanmedian(_put_nan(x), axis=1), _unary(lambda r: distinct(r, (3, 5))),
           lambda x: np.nanmedian(_np_nan(x), axis=1)),
    OpSpec("nansum", lambda x: ops.nansum(_put_nan(x), axis=0), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nansum(_np_nan(x), axis=0)),
    OpSpec("nanmean", lambda x: ops.nanmean(_put_nan(x), axis=1, keepdims=True), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nanmean(_np_nan(x), axis=1, keepdims=True)),
    OpSpec("nanvar", lambda x: ops.nanvar(_put_nan(x), axis=1), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nanvar(_np_nan(x), axis=1)),
    OpSpec("nanstd", lambda x: ops.nanstd(_put_nan(x)), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nanstd(_np_nan(x))),
    OpSpec("nanprod", lambda x: ops.nanprod(_put_nan(x), axis=1), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nanprod(_np_nan(x), axis=1)),
    OpSpec("nanmax", lambda x: ops.nanmax(_put_nan(x), axis=1), _unary(lambda r: distinct(r, (3, 5))),
           lambda x: np.nanmax(_np_nan(x), axis=1)),
    OpSpec("nanmin", lambda x: ops.nanmin(_put_nan(x), axis=0), _unary(lambda r: distinct(r, (3, 5))),
           lambda x: np.nanmin(_np_nan(x), axis=0)),
    OpSpec("nancumsum", lambda x: ops.nancumsum(_put_nan(x), axis=1), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nancumsum(_np_nan(x), axis=1)),
    OpSpec("nancumprod", lambda x: ops.nancumprod(_put_nan(x), axis=1), _unary(lambda r: _n(r, 3, 5)),
           lambda x: np.nancumprod(_np_nan(x), axis=1)),
    OpSpec("average", lambda x, w: ops.average(x, axis=1, weights=w),
           lambda r: [(_n(r, 2, 3), r.uniform(0.5, 2, 3)), (_n(r, 2, 3), r.uniform(0.5, 2, (2, 3)))],
           lambda x, w: np.average(x, axis=1, weights=w)),
    OpSpec("average_plain", lambda x: ops.average(x, axis=0), _unary(lambda r: _n(r, 2, 3)),
           lambda x: np.average(x, axis=0)),
    OpSpec("ptp", lambda x: ops.ptp(x, axis=1), _unary(lambda r: distinct(r, (3, 4))), lambda x: np.ptp(x, axis=1)),
    OpSpec("corrcoef", ops.corrcoef, _unary(lambda r: _n(r, 3, 6)), np.corrcoef),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_nan_propagates_and_all_nan_slices():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    q = ops.quantile(x, 0.5, axis=1).numpy()
    assert np.isnan(q).all()
    assert np.isnan(ops.nanmedian(x, axis=1).numpy()[1]) and ops.nanmedian(x, axis=1).numpy()[0] == 2.0
    assert np.isnan(ops.nanmax(x, axis=1).numpy()[1])
    assert ops.nanargmax(x, axis=1).tolist() == [2, -1]
    assert ops.nanargmin(np.array([np.nan, 2.0, 1.0])).tolist() == 2
    with pytest.raises(ValueError, match="method"):
        ops.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match="quantiles must lie in"):
        ops.quantile(x, 1.5)


def test_quantile_gradient_goes_to_the_two_order_statistics():
    x = shendu.tensor(np.array([4.0, 1.0, 3.0, 2.0]), requires_grad=True)
    ops.quantile(x, 0.5).backward()   # the mean of 2 and 3
    assert x.grad.tolist() == [0.0, 0.0, 0.5, 0.5]


def test_logical_reductions_and_counting():
    x = np.array([[0, 1, 2], [0, 0, 3]])
    assert ops.all(x > -1).tolist() is True
    assert ops.any(x, axis=1, keepdims=True).tolist() == [[True], [True]]
    assert ops.all(x, axis=0).tolist() == [False, False, True]
    assert ops.count_nonzero(x).tolist() == 3 and ops.count_nonzero(x, axis=1).tolist() == [2, 1]
    assert ops.searchsorted(np.array([1, 3, 5]), np.array([0, 3, 6])).tolist() == [0, 1, 3]
    assert ops.searchsorted(np.array([1, 3, 5]), np.array([3]), side="right").tolist() == [2]
    assert ops.digitize(np.array([0.5, 1.5, 9.0]), np.array([1.0, 2.0])).tolist() == [0, 1, 2]
    assert ops.bincount(np.array([1, 1, 3]), minlength=5).tolist() == [0, 2, 0, 1, 0]
    np.testing.assert_allclose(ops.bincount(np.array([0, 0, 2]), weights=np.array([0.5, 1.0, 2.0])).numpy(),
                               [1.5, 0.0, 2.0])
    assert ops.bincount(np.array([[0, 1], [1, 1]])).tolist() == [[1, 1], [0, 2]]
    with pytest.raises(ValueError, match="non-negative"):
        ops.bincount(np.array([-1, 2]))
    counts, edges = ops.histogram(np.array([0.0, 0.1, 0.9, 1.0]), bins=2)
    assert counts.tolist() == [2, 2] and edges.tolist() == [0.0, 0.5, 1.0] and counts.dtype == np.float64


def test_unique_and_argpartition():
    values, inverse, counts = ops.unique(np.array([3, 1, 3, 2]), return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [2, 0, 2, 1] and counts.tolist() == [1, 1, 2]
    assert ops.unique(np.array([3, 1, 3]), size=4, fill_value=0).tolist() == [1, 3, 0, 0]
    x = np.array([5, 1, 4, 2, 3])
    idx = ops.argpartition(x, 2).numpy()
    assert sorted(x[idx[:2]]) == [1, 2] and x[idx[2]] == 3


IDS = np.array([0, 0, 2, 2, 2, 3])


def _segment_ref(ufunc, identity):
    def ref(x):
        out = np.full((4,) + x.shape[1:], identity, x.dtype)
        ufunc.at(out, IDS, x)
        return out
    return ref


def _with_zero_rows(rng):
    x = distinct(rng, (6, 2))
    x[1, 0] = x[3, 1] = x[4, 1] = 0.0   # one zero in a segment, two in another
    return x


SEGMENT_SPECS = [
    OpSpec("segment_sum", lambda x: ops.segment_sum(x, IDS, 4), _unary(lambda r: _n(r, 6, 2)),
           _segment_ref(np.add, 0)),
    OpSpec("segment_sum_dropped_ids", lambda x: ops.segment_sum(x, np.array([0, 5, -1, 1]), 2),
           _unary(lambda r: _n(r, 4)), lambda x: np.array([x[0], x[3]])),
    OpSpec("segment_prod_zeros", lambda x: ops.segment_prod(x, IDS, 4), _unary(_with_zero_rows),
           _segment_ref(np.multiply, 1)),
    OpSpec("segment_max", lambda x: ops.segment_max(x, IDS, 4)[[0, 2, 3]], _unary(lambda r: distinct(r, (6, 2))),
           lambda x: _segment_ref(np.maximum, -np.inf)(x)[[0, 2, 3]]),
    OpSpec("segment_min", lambda x: ops.segment_min(x, IDS)[[0, 2, 3]], _unary(lambda r: distinct(r, (6, 2))),
           lambda x: _segment_ref(np.minimum, np.inf)(x)[[0, 2, 3]]),
    OpSpec("cdist", ops.cdist, lambda r: [(_n(r, 2, 4, 3), _n(r, 2, 5, 3))],
           lambda x, y: np.sqrt(((x[..., :, None, :] - y[..., None, :, :]) ** 2).sum(-1))),
]

test_segment_forward, test_segment_gradcheck, test_segment_float32 = op_spec_tests(SEGMENT_SPECS)


def test_empty_segments_hold_the_identity():
    y = ops.segment_max(np.array([1.0, 2.0]), np.array([0, 2]), 3).numpy()
    assert y[1] == -np.inf and y.tolist()[::2] == [1.0, 2.0]
    assert ops.segment_prod(np.array([2.0]), np.array([1]), 2).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="one id per row"):
        ops.segment_sum(np.ones(3), np.array([0, 1]))
