"""Check analytic gradients against central finite differences in float64.

For a function f of tensors x_1..x_k with output y, pick a fixed random
projection r and the scalar L = sum(r * y). Backpropagation gives dL/dx_i; the
central difference (L(x + eps e_j) - L(x - eps e_j)) / (2 eps) estimates each of
its entries with error O(eps^2). Comparing the two tests the backward of every
op on the path, including broadcasting and accumulation.
"""
import warnings

import numpy as np

from .grad_mode import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare ``fn``'s backward with finite differences; return the worst error per input.

    Args:
        fn: callable taking Tensors (one per input) and returning a Tensor.
        *inputs: arrays or Tensors; floating ones are checked (converted to float64),
            integer ones (indices, labels) are passed through unchanged.
        eps: finite-difference step.
        atol, rtol: an input passes when max|analytic - numeric| <= atol + rtol * max|numeric|.
        seed: seed of the random output projection.
        raise_exception: raise :class:`GradcheckError` on failure (otherwise just report).

    Returns:
        list with, for each checked input, the normwise relative error
        max|analytic - numeric| / max(max|numeric|, 1e-12)  (None for unchecked inputs).
    """
    arrays = []
    for x in inputs:
        a = x.data if isinstance(x, Tensor) else np.asarray(x)
        if a.dtype.kind == "f":
            if a.dtype != np.float64:
                warnings.warn("gradcheck converts float inputs to float64; checks below float64 "
                              "are unreliable", stacklevel=2)
            a = a.astype(np.float64)
        arrays.append(a.copy())
    checked = [a.dtype.kind == "f" for a in arrays]

    def run(arrs, grad):
        ts = [Tensor(a, requires_grad=(grad and c)) for a, c in zip(arrs, checked)]
        out = fn(*ts)
        return ts, out

    ts, out = run(arrays, True)
    if out.dtype != np.float64:
        raise GradcheckError(f"gradcheck: fn returned dtype {out.dtype} from float64 inputs "
                             "(an op silently changed the dtype)")
    r = np.random.default_rng(seed).standard_normal(out.shape)
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any checked input")
    out.backward(Tensor(r))
    analytic = [t.grad.data if (c and t.grad is not None) else (np.zeros_like(a) if c else None)
                for t, a, c in zip(ts, arrays, checked)]

    errors, failures = [], []
    with no_grad():
        for i, (a, c) in enumerate(zip(arrays, checked)):
            if not c:
                errors.append(None)
                continue
            numeric = np.zeros_like(a)
            flat, nflat = a.reshape(-1), numeric.reshape(-1)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                lp = float((fn(*[Tensor(b) for b in arrays]).data * r).sum())
                flat[j] = old - eps
                lm = float((fn(*[Tensor(b) for b in arrays]).data * r).sum())
                flat[j] = old
                nflat[j] = (lp - lm) / (2 * eps)
            diff = np.abs(analytic[i] - numeric).max() if a.size else 0.0
            scale = np.abs(numeric).max() if a.size else 0.0
            errors.append(float(diff / max(scale, 1e-12)) if a.size else 0.0)
            if diff > atol + rtol * scale:
                failures.append(f"input {i} (shape {a.shape}): max abs error {diff:.3g}, "
                                f"max |numeric| {scale:.3g}, relative {errors[-1]:.3g}")
    if failures and raise_exception:
        raise GradcheckError("gradcheck failed:\n  " + "\n  ".join(failures))
    return errors
