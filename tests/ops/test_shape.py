"""Stacking, splitting and grids (the older shape ops are specified in test_op_specs.py)."""
import numpy as np
import pytest

from shendu import ops
from shendu.testing import OpSpec, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _pair(sa, sb):
    return lambda r: [(_n(r, *sa), _n(r, *sb))]


SPECS = [
    OpSpec("ravel", ops.ravel, lambda r: [(_n(r, 2, 3).T,)], np.ravel),
    OpSpec("hstack", lambda a, b: ops.hstack([a, b]), _pair((2, 3), (2, 1)), lambda a, b: np.hstack([a, b])),
    OpSpec("hstack_1d", lambda a, b: ops.hstack([a, b]), _pair((2,), (3,)), lambda a, b: np.hstack([a, b])),
    OpSpec("vstack", lambda a, b: ops.vstack([a, b]), _pair((3,), (2, 3)), lambda a, b: np.vstack([a, b])),
    OpSpec("dstack", lambda a, b: ops.dstack([a, b]), _pair((2, 3), (2, 3, 2)), lambda a, b: np.dstack([a, b])),
    OpSpec("column_stack", lambda a, b: ops.column_stack([a, b]), _pair((3,), (3, 2)),
           lambda a, b: np.column_stack([a, b])),
    OpSpec("array_split", lambda x: ops.array_split(x, 3, axis=1)[0] * ops.array_split(x, 3, axis=1)[2][:, :1],
           lambda r: [(_n(r, 2, 7),)], lambda x: np.array_split(x, 3, 1)[0] * np.array_split(x, 3, 1)[2][:, :1]),
    OpSpec("hsplit_vsplit_dsplit",
           lambda x: ops.hsplit(x, 2)[1] + ops.vsplit(x, [1])[1][:, :1] + ops.dsplit(x, 2)[0][:, :1, :1],
           lambda r: [(_n(r, 2, 4, 2),)],
           lambda x: np.hsplit(x, 2)[1] + np.vsplit(x, [1])[1][:, :1] + np.dsplit(x, 2)[0][:, :1, :1]),
    OpSpec("append", lambda a, b: ops.append(a, b), _pair((2, 2), (3,)), np.append),
    OpSpec("append_axis", lambda a, b: ops.append(a, b, axis=0), _pair((2, 3), (1, 3)),
           lambda a, b: np.append(a, b, axis=0)),
    OpSpec("meshgrid_xy", lambda a, b, c: ops.meshgrid(a, b, c)[0] * ops.meshgrid(a, b, c)[2],
           lambda r: [(_n(r, 3), _n(r, 2), _n(r, 4))],
           lambda a, b, c: np.meshgrid(a, b, c)[0] * np.meshgrid(a, b, c)[2]),
    OpSpec("meshgrid_ij", lambda a, b: ops.meshgrid(a, b, indexing="ij")[1], _pair((3,), (2,)),
           lambda a, b: np.meshgrid(a, b, indexing="ij")[1]),
] + [
    OpSpec(f"pad_{mode}", lambda x, mode=mode: ops.pad(x, ((1, 2), (2, 1)), mode=mode),
           lambda r: [(_n(r, 3, 3),)], lambda x, mode=mode: np.pad(x, ((1, 2), (2, 1)), mode=mode))
    for mode in ["edge", "reflect", "symmetric", "wrap"]
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_errors():
    with pytest.raises(ValueError, match="mode must be"):
        ops.pad(np.ones(2), (1, 1), mode="mean")
    with pytest.raises(ValueError, match="only used with mode='constant'"):
        ops.pad(np.ones(2), (1, 1), mode="edge", constant_values=2)
    with pytest.raises(ValueError, match="indexing"):
        ops.meshgrid(np.ones(2), indexing="yx")
    with pytest.raises(ValueError, match="moveaxis"):
        ops.moveaxis(np.ones((2, 3)), (0, 1), 0)


REARRANGE_SPECS = [
    OpSpec("rearrange_split", lambda x: ops.rearrange(x, "b (h w) c -> b c h w", h=2), lambda r: [(_n(r, 2, 6, 3),)],
           lambda x: x.reshape(2, 2, 3, 3).transpose(0, 3, 1, 2)),
    OpSpec("rearrange_merge", lambda x: ops.rearrange(x, "a b c -> (c a) b"), lambda r: [(_n(r, 2, 3, 4),)],
           lambda x: x.transpose(2, 0, 1).reshape(8, 3)),
]

test_rearrange_forward, test_rearrange_gradcheck, test_rearrange_float32 = op_spec_tests(REARRANGE_SPECS)


def test_rearrange_errors():
    with pytest.raises(ValueError, match="all but one"):
        ops.rearrange(np.zeros((2, 6)), "b (h w c) -> b h w c", h=2)
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(np.zeros((2, 6)), "b n -> b m")
    with pytest.raises(ValueError, match="do not"):
        ops.rearrange(np.zeros((2, 6)), "b (h w) -> b h w", h=4)
