"""Declarative op tests: one ``OpSpec`` per op drives every generated check.

From a spec the suite generates (tests/ops/test_op_specs.py):
  * forward vs. the NumPy reference, in float64 and float32;
  * a float64 central-difference gradient check of every float input;
  * float32 in, float32 out (no op may silently promote to float64).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass
class OpSpec:
    """How to test one op.

    Args:
        name: test id.
        fn: callable on Tensors, returning a Tensor (wrap keyword arguments in a lambda).
        samples: callable(rng) -> list of input tuples (float64 arrays; int arrays pass as is).
            Cover 0-d, broadcasting, odd sizes and non-contiguous inputs where they apply.
        reference: NumPy forward on the same arrays (None when fn is its own reference,
            e.g. composites tested elsewhere against PyTorch).
        atol/rtol: gradcheck tolerances.
    """
    name: str
    fn: Callable
    samples: Callable
    reference: Optional[Callable] = None
    atol: float = 1e-5
    rtol: float = 1e-4
    fwd_rtol32: float = 1e-5
    tags: tuple = field(default_factory=tuple)


def away_from(x, points, margin=1e-2):
    """Push samples at least ``margin`` away from the kinks in ``points`` (relu at 0, ...)."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
    return x


def distinct(rng, shape, gap=1e-3):
    """Samples with no two values closer than ``gap`` (max/min/pooling have no ties)."""
    n = int(np.prod(shape)) if len(shape) else 1
    vals = (rng.permutation(n) - n / 2) * gap * 10 + rng.uniform(0, gap, n)
    return (vals / max(n, 1)).reshape(shape) * 10 if n > 1 else vals.reshape(shape)


def _is_float(a):
    return np.asarray(a).dtype.kind == "f"


def _as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def op_spec_tests(specs):
    """The three generated checks over ``specs``, as pytest test functions.

    A test module binds them to module-level names so pytest collects them::

        test_forward, test_gradcheck, test_float32 = op_spec_tests(SPECS)

    Integer and boolean inputs (indices, masks) pass through unchanged and are never
    differentiated; a spec with ``tags=("nondiff",)`` gets no gradient check (sorting
    indices, comparisons, ...), only the forward and dtype checks. A spec without a
    reference (its values checked elsewhere, e.g. against Keras) has no forward check
    and compares its float32 run with its own float64 run. An op may return a
    tuple of tensors (``top_k``, ``qr``): each is compared with the reference's tuple.
    """
    import pytest

    import shendu
    from ..autograd.gradcheck import gradcheck
    ids = [s.name for s in specs]
    diff = [s for s in specs if "nondiff" not in s.tags]

    with_ref = [s for s in specs if s.reference is not None]

    @pytest.mark.parametrize("spec", with_ref, ids=[s.name for s in with_ref])
    def test_forward(spec, rng):
        for inputs in spec.samples(rng):
            got = _as_list(spec.fn(*[shendu.tensor(a) for a in inputs]))
            want = _as_list(spec.reference(*inputs))
            assert len(got) == len(want), f"{spec.name}: {len(got)} outputs, expected {len(want)}"
            for g, w in zip(got, want):
                assert g.shape == np.shape(w), f"{spec.name}: shape {g.shape}, expected {np.shape(w)}"
                np.testing.assert_allclose(g.numpy(), w, rtol=1e-10, atol=1e-12, err_msg=spec.name)

    @pytest.mark.parametrize("spec", diff, ids=[s.name for s in diff])
    def test_gradcheck(spec, rng):
        for inputs in spec.samples(rng):
            errs = gradcheck(lambda *xs: _as_list(spec.fn(*xs))[0], *inputs, atol=spec.atol,
                             rtol=spec.rtol)
            assert all(e is None or e < 1e-4 for e in errs), errs

    @pytest.mark.parametrize("spec", specs, ids=ids)
    def test_float32(spec, rng):
        for inputs in spec.samples(rng):
            arrays = [a.astype(np.float32) if _is_float(a) else a for a in inputs]
            xs = [shendu.tensor(a, requires_grad=_is_float(a) and "nondiff" not in spec.tags)
                  for a in arrays]
            ys = _as_list(spec.fn(*xs))
            if spec.reference is None:
                # no reference: the float64 run of the same op is the standard
                want = [y.numpy() for y in _as_list(spec.fn(*[shendu.tensor(a) for a in inputs]))]
                want = [w.astype(np.float32) if w.dtype == np.float64 else w for w in want]
            else:
                want = _as_list(spec.reference(*arrays))
            for y, w in zip(ys, want):
                w = np.asarray(w)
                if w.dtype.kind == "f":
                    assert y.dtype == np.float32, f"{spec.name} returned {y.dtype} from float32 inputs"
                scale = float(np.abs(w).max()) if w.size and w.dtype.kind in "fc" else 1.0
                np.testing.assert_allclose(y.numpy(), w, rtol=spec.fwd_rtol32,
                                           atol=spec.fwd_rtol32 * max(scale, 1.0), err_msg=spec.name)
            if ys[0].requires_grad:
                ys[0].backward(shendu.tensor(np.ones(ys[0].shape, np.float32)))
                for x in xs:
                    if x.grad is not None:
                        assert x.grad.dtype == np.float32, f"{spec.name}: gradient of dtype {x.grad.dtype}"

    return test_forward, test_gradcheck, test_float32
