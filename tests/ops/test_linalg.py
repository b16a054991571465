"""ops.linalg: forward vs NumPy, float64 gradchecks on well-conditioned inputs, float32 stays float32."""
import numpy as np
import pytest

import shendu
from shendu import ops
from shendu.testing import OpSpec, op_spec_tests


def _wellcond(rng, *shape):
    n = shape[-1]
    return rng.standard_normal(shape) + 3 * np.eye(n)


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _spd(x):
    """A symmetric positive-definite matrix made from x (so gradients see a symmetric input)."""
    return x @ np.swapaxes(x, -1, -2) + 3 * np.eye(x.shape[-1], dtype=x.dtype)


def _spd_op(x):
    return ops.matmul(x, ops.swapaxes(x, -1, -2)) + 3 * np.eye(x.shape[-1], dtype=x.dtype)


def _gauge(v):
    """Eigen/singular vectors up to sign: compare squares (what a sign flip cannot change)."""
    return v * v


A = lambda r: [(_wellcond(r, 2, 3, 3),)]  # noqa: E731
TALL = lambda r: [(_n(r, 5, 3),)]  # noqa: E731

SPECS = [
    OpSpec("inv", ops.inv, A, np.linalg.inv),
    OpSpec("det", ops.det, A, np.linalg.det),
    OpSpec("slogdet", lambda x: ops.slogdet(x)[1], A, lambda x: np.linalg.slogdet(x)[1]),
    OpSpec("logdet", lambda x: ops.logdet(_spd_op(x)), A, lambda x: np.log(np.linalg.det(_spd(x)))),
    OpSpec("solve", ops.solve, lambda r: [(_wellcond(r, 2, 3, 3), _n(r, 2, 3, 2))], np.linalg.solve),
    OpSpec("solve_vector", ops.solve, lambda r: [(_wellcond(r, 3, 3), _n(r, 3))], np.linalg.solve),
    OpSpec("solve_triangular", lambda a, b: ops.solve_triangular(a, b, lower=True),
           lambda r: [(_wellcond(r, 3, 3), _n(r, 3, 2))], lambda a, b: np.linalg.solve(np.tril(a), b)),
    OpSpec("cholesky", lambda x: ops.cholesky(_spd_op(x)), A, lambda x: np.linalg.cholesky(_spd(x))),
    OpSpec("cholesky_upper", lambda x: ops.cholesky(_spd_op(x), upper=True), A,
           lambda x: np.swapaxes(np.linalg.cholesky(_spd(x)), -1, -2)),
    OpSpec("cholesky_inverse", lambda x: ops.cholesky_inverse(ops.cholesky(_spd_op(x))), A,
           lambda x: np.linalg.inv(_spd(x))),
    OpSpec("eigh_values", lambda x: ops.eigh(_spd_op(x))[0], A, lambda x: np.linalg.eigh(_spd(x))[0]),
    OpSpec("eigh_vectors", lambda x: _gauge(ops.eigh(_spd_op(x))[1]), A,
           lambda x: _gauge(np.linalg.eigh(_spd(x))[1])),
    OpSpec("qr_q", lambda x: ops.qr(x)[0], TALL, lambda x: np.linalg.qr(x)[0]),
    OpSpec("qr_r", lambda x: ops.qr(x)[1], TALL, lambda x: np.linalg.qr(x)[1]),
    OpSpec("svd_values", lambda x: ops.svd(x, compute_uv=False), lambda r: [(_n(r, 2, 4, 3),)],
           lambda x: np.linalg.svd(x, compute_uv=False)),
    OpSpec("svd_u", lambda x: _gauge(ops.svd(x, full_matrices=False)[0]), TALL,
           lambda x: _gauge(np.linalg.svd(x, full_matrices=False)[0])),
    OpSpec("svd_vh_wide", lambda x: _gauge(ops.svd(x, full_matrices=False)[2]), lambda r: [(_n(r, 3, 5),)],
           lambda x: _gauge(np.linalg.svd(x, full_matrices=False)[2])),
    OpSpec("pinv", ops.pinv, TALL, np.linalg.pinv),
    OpSpec("lstsq", ops.lstsq, lambda r: [(_n(r, 5, 3), _n(r, 5, 2))], lambda a, b: np.linalg.lstsq(a, b)[0]),
    OpSpec("matrix_power", lambda x: ops.matrix_power(x, 3), A, lambda x: np.linalg.matrix_power(x, 3)),
    OpSpec("matrix_power_negative", lambda x: ops.matrix_power(x, -2), A, lambda x: np.linalg.matrix_power(x, -2)),
    OpSpec("norm_vector", lambda x: ops.norm(x, axis=1), TALL, lambda x: np.linalg.norm(x, axis=1)),
    OpSpec("norm_p3_keep", lambda x: ops.norm(x, 3, axis=0, keepdims=True), TALL,
           lambda x: np.linalg.norm(x, 3, axis=0, keepdims=True)),
    OpSpec("norm_flat", ops.norm, lambda r: [(_n(r, 2, 3, 2),)], lambda x: np.linalg.norm(x.ravel())),
] + [
    OpSpec(f"norm_matrix_{o}", lambda x, o=o: ops.norm(x, o), TALL, lambda x, o=o: np.linalg.norm(x, o))
    for o in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
]
for spec in SPECS:
    spec.fwd_rtol32 = 1e-4  # factorizations in float32 differ from float64 NumPy by more than 1e-5

test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)


def test_lu_factor_reconstructs_and_matches_scipy(rng):
    a = rng.standard_normal((2, 4, 4))
    lu, piv = ops.lu_factor(a)
    for b in range(2):
        L = np.tril(lu.numpy()[b], -1) + np.eye(4)
        U = np.triu(lu.numpy()[b])
        pa = a[b].copy()
        for i, p in enumerate(piv.numpy()[b]):
            pa[[i, p]] = pa[[p, i]]
        np.testing.assert_allclose(L @ U, pa, atol=1e-12)
    scipy_linalg = pytest.importorskip("scipy.linalg", reason="the lu_factor reference is SciPy's")
    want_lu, want_piv = scipy_linalg.lu_factor(a[0])
    np.testing.assert_allclose(lu.numpy()[0], want_lu, atol=1e-12)
    np.testing.assert_array_equal(piv.numpy()[0], want_piv)


def test_eig_rank_and_errors(rng):
    a = rng.standard_normal((3, 3))
    w, v = ops.eig(a)
    np.testing.assert_allclose(a @ v.numpy(), v.numpy() * w.numpy(), atol=1e-10)
    assert ops.matrix_rank(np.outer([1.0, 2.0], [3.0, 1.0])).tolist() == 1
    with pytest.raises(ValueError, match="inv: expected a square matrix"):
        ops.inv(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky"):
        ops.cholesky(-np.eye(2))
    with pytest.raises(ValueError, match="qr: mode"):
        ops.qr(np.eye(2), mode="economic")
    u, s, vh = ops.svd(a)
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ vh.numpy(), a, atol=1e-12)
    q, r = ops.qr(np.ones((2, 4)))   # wide: no gradient path, values as NumPy
    np.testing.assert_allclose(q.numpy() @ r.numpy(), np.ones((2, 4)), atol=1e-12)


def test_jvp_equals_jacobian_times_tangent():
    def f(x, y):
        return ops.sin(x) * y
    x, y = np.array([0.3, 1.2]), np.array([2.0, -1.0])
    tx, ty = np.array([1.0, 0.5]), np.array([0.0, 2.0])
    out, tangent = ops.jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(out.numpy(), np.sin(x) * y)
    np.testing.assert_allclose(tangent.numpy(), np.cos(x) * y * tx + np.sin(x) * ty)
    out, tangent, aux = ops.linalg.jvp(lambda x: (x * x, "aux"), np.array([3.0]), np.array([1.0]), has_aux=True)
    assert tangent.tolist() == [6.0] and aux == "aux"


def test_namespace_holds_the_same_functions():
    assert ops.linalg.inv is ops.inv and ops.numpy.einsum is ops.einsum and ops.nn.softmax is ops.softmax
    assert set(ops.linalg.__all__) >= {"cholesky", "det", "eigh", "inv", "norm", "qr", "solve", "svd"}
    x = shendu.tensor(np.eye(2) * 2.0, requires_grad=True)
    ops.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(2) * 2.0)
