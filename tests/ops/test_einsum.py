"""einsum and the products made of it: forward vs NumPy, float64 gradcheck, float32 stays float32."""
import numpy as np
import pytest

from shendu import ops
from shendu.testing import OpSpec, op_spec_tests


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _einsum_spec(subscripts, *shapes):
    return OpSpec(f"einsum[{subscripts}]", lambda *xs: ops.einsum(subscripts, *xs),
                  lambda r: [tuple(_n(r, *s) for s in shapes)],
                  lambda *xs: np.einsum(subscripts, *xs))


SPECS = [
    _einsum_spec("ij,jk->ik", (3, 4), (4, 5)),
    _einsum_spec("bij,bkj->bik", (2, 3, 4), (2, 5, 4)),
    _einsum_spec("...ij,...jk", (1, 3, 2, 4), (2, 1, 4, 2)),   # broadcast batch axes
    _einsum_spec("ij,ij->ij", (1, 3), (2, 3)),                 # a size-1 axis broadcasts
    _einsum_spec("ii->i", (3, 3)),                             # diagonal
    _einsum_spec("ii", (4, 4)),                                # trace, implicit output
    _einsum_spec("iij,jk->ik", (3, 3, 2), (2, 4)),
    _einsum_spec("ij->", (2, 3)),
    _einsum_spec("ij", (2, 3)),
    _einsum_spec("ji", (2, 3)),                                # implicit: alphabetical order
    _einsum_spec("i,i", (4,), (4,)),
    _einsum_spec("i,j->ij", (3,), (2,)),
    _einsum_spec("a...b->b...", (2, 3, 4, 5)),
    _einsum_spec("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    _einsum_spec("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),  # attention scores
    _einsum_spec(",ij->ij", (), (2, 3)),
    _einsum_spec("ij,kl->ik", (2, 3), (4, 5)),                 # labels summed within one operand
    _einsum_spec("abc,cd->dba", (2, 3, 4), (4, 5)),            # output order unlike either input
    OpSpec("tensordot_int", lambda a, b: ops.tensordot(a, b, axes=2),
           lambda r: [(_n(r, 2, 3, 4), _n(r, 3, 4, 5))], lambda a, b: np.tensordot(a, b, axes=2)),
    OpSpec("tensordot_pairs", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [2, 1])),
           lambda r: [(_n(r, 3, 2, 4), _n(r, 5, 4, 3))],
           lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 1]))),
    OpSpec("tensordot_zero", lambda a, b: ops.tensordot(a, b, axes=0),
           lambda r: [(_n(r, 2), _n(r, 3))], lambda a, b: np.tensordot(a, b, axes=0)),
    OpSpec("dot", ops.dot, lambda r: [(_n(r, 2, 3, 4), _n(r, 5, 4, 2)), (_n(r, 3), _n(r, 3)),
                                      (_n(r, 2, 3), _n(r, 3)), (_n(r), _n(r, 2, 3))], np.dot),
    OpSpec("outer", ops.outer, lambda r: [(_n(r, 3), _n(r, 2, 2))], np.outer),
    OpSpec("inner", ops.inner, lambda r: [(_n(r, 2, 3), _n(r, 4, 3)), (_n(r, 3), _n(r, 3))], np.inner),
    OpSpec("vdot", ops.vdot, lambda r: [(_n(r, 2, 3), _n(r, 6))], np.vdot),
    OpSpec("kron", ops.kron, lambda r: [(_n(r, 2, 3), _n(r, 2, 2)), (_n(r, 3), _n(r, 2, 2))], np.kron),
]

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_einsum_errors_name_the_problem():
    with pytest.raises(ValueError, match="name 2 operand"):
        ops.einsum("ij,jk->ik", np.ones((2, 2)))
    with pytest.raises(ValueError, match="does not fit operand 0"):
        ops.einsum("ijk->i", np.ones((2, 2)))
    with pytest.raises(ValueError, match="label 'j'.*sizes 3 and 4"):
        ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="output"):
        ops.einsum("ij->ii", np.ones((2, 2)))
    with pytest.raises(ValueError, match="axes="):
        ops.tensordot(np.ones(2), np.ones(2), axes=3)


def test_einsum_integer_operands_stay_integer():
    y = ops.einsum("ij,j->i", np.arange(6).reshape(2, 3), np.arange(3))
    assert y.dtype.kind == "i" and y.tolist() == [5, 14]
