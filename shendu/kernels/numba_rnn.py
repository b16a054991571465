"""Numba gate kernels of the LSTM (tanh / sigmoid): one pass over memory per step.

Imported lazily by ``ops/recurrent.py`` (never at ``import shendu``); the NumPy code in
``recurrent.LSTMSequence`` is the reference they are tested against.

NumPy's tanh is SIMD-vectorized, but a scalar ``math.tanh`` in a Numba loop is not
(no vector math library), which made a naive kernel far slower than NumPy. The
kernels therefore use a rational approximation of tanh made only of multiplies,
adds and one division (Eigen's ``generic_fast_tanh_float``, the one TensorFlow uses on
CPU; a few ulp in float32), which LLVM vectorizes. float64 is left to NumPy.
"""
import numpy as np
from numba import njit

from .blas import NO_TRANS, ROW_MAJOR

# Eigen, MathFunctionsImpl.h: tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= 7.905, +-1 beyond.
_CLAMP = 7.90531110763549805
_A1, _A3, _A5, _A7 = 4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08
_A9, _A11, _A13 = -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16
_B0, _B2, _B4, _B6 = 4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _tanh(x):
    x = min(max(x, np.float32(-_CLAMP)), np.float32(_CLAMP))
    x2 = x * x
    p = np.float32(_A13)
    p = p * x2 + np.float32(_A11)
    p = p * x2 + np.float32(_A9)
    p = p * x2 + np.float32(_A7)
    p = p * x2 + np.float32(_A5)
    p = p * x2 + np.float32(_A3)
    p = p * x2 + np.float32(_A1)
    p = p * x
    q = np.float32(_B6)
    q = q * x2 + np.float32(_B4)
    q = q * x2 + np.float32(_B2)
    q = q * x2 + np.float32(_B0)
    return p / q


@njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
def lstm_forward_step(z, x, bias, sc, c_prev, c, tc, h):
    """z (B, 4n) holds h_{t-1} U on entry and the gates (i, f, g, o) on exit;
    c = f c_prev + i g, tc = tanh(c), h = o tc. ``sc`` is 1/2 on the sigmoid columns
    and 1 on the tanh ones: gate = sc tanh(sc (z + x + bias)) + 1 - sc (two simple loops
    that LLVM vectorizes)."""
    B, G = z.shape
    n = G // 4
    one = np.float32(1.0)
    for b in range(B):
        zb, xb = z[b], x[b]
        for k in range(G):
            s = sc[k]
            zb[k] = s * _tanh(s * (zb[k] + xb[k] + bias[k])) + (one - s)
        cb, cpb, tcb, hb = c[b], c_prev[b], tc[b], h[b]
        for j in range(n):
            cc = zb[n + j] * cpb[j] + zb[j] * zb[2 * n + j]
            cb[j] = cc
            t = _tanh(cc)
            tcb[j] = t
            hb[j] = zb[3 * n + j] * t


@njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
def lstm_backward_step(a, c_prev, tc, dh, dc, dz, dc_prev):
    """From the gates a (B, 4n), c_{t-1}, tanh(c_t) and the gradients dh, dc reaching
    h_t, c_t: dz (B, 4n), the gradient of the pre-activations, and dc_{t-1}.
    (Each gate's columns are taken as a 1-D slice of the row, so every index in the loop
    is the loop counter itself: LLVM vectorizes that; with ``a[b, n + j]`` it did not,
    and the step took 2.7x as long.)"""
    B, G = a.shape
    n = G // 4
    one = np.float32(1.0)
    for b in range(B):
        ab, dzb = a[b], dz[b]
        ai, af, ag, ao = ab[:n], ab[n:2 * n], ab[2 * n:3 * n], ab[3 * n:]
        di, df, dg, do = dzb[:n], dzb[n:2 * n], dzb[2 * n:3 * n], dzb[3 * n:]
        cpb, tcb, dhb, dcb, dcpb = c_prev[b], tc[b], dh[b], dc[b], dc_prev[b]
        for j in range(n):
            i, f, g, o = ai[j], af[j], ag[j], ao[j]
            t, h = tcb[j], dhb[j]
            dcs = dcb[j] + h * o * (one - t * t)
            di[j] = dcs * g * i * (one - i)
            df[j] = dcs * cpb[j] * f * (one - f)
            dg[j] = dcs * i * (one - g) * (one + g)
            do[j] = h * t * o * (one - o)
            dcpb[j] = dcs * f


# ---- whole sequences: the time loop in Numba, the products through BLAS directly ----------
# (``sgemm`` is NumPy's BLAS cblas_sgemm, from shendu.kernels.blas, called with its enum
# names.) The loops are those of recurrent.LSTMSequence's fast path without masks, with
# no Python between the steps and the GIL released throughout.


@njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
def lstm_forward_sequence(sgemm, X, order, bias, sc, U, A, H, C, TC):
    """For s = 0..T-1 (input step t = order[s]): A[s] = H[s] U, then the gates, C[s+1],
    TC[s] and H[s+1] (lstm_forward_step). X (T, B, 4n), A (T, B, 4n), H, C (T+1, B, n)."""
    T, B, G = A.shape
    n = G // 4
    one, zero = np.float32(1.0), np.float32(0.0)
    for s in range(T):
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, G, n, one, H[s].ctypes, n, U.ctypes, G, zero,
              A[s].ctypes, G)
        lstm_forward_step(A[s], X[order[s]], bias, sc, C[s], C[s + 1], TC[s], H[s + 1])


@njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
def lstm_backward_sequence(sgemm, A, C, TC, UT, gseq, order, dh, dc, dh2, dc2, dZ):
    """For s = T-1..0: dh += gseq[s] (when gseq has T rows), the gate gradients
    dZ[order[s]] and dc_{s-1} (lstm_backward_step), dh_{s-1} = dz U^T. The state
    gradients ping-pong between (dh, dc) and (dh2, dc2); returns the pair that holds
    the gradients reaching the initial states."""
    T, B, G = A.shape
    n = G // 4
    one, zero = np.float32(1.0), np.float32(0.0)
    every = gseq.shape[0] == T
    for s in range(T - 1, -1, -1):
        if every:
            dh += gseq[s]
        dz = dZ[order[s]]
        lstm_backward_step(A[s], C[s], TC[s], dh, dc, dz, dc2)
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, n, G, one, dz.ctypes, G, UT.ctypes, n, zero,
              dh2.ctypes, n)
        dh, dh2 = dh2, dh
        dc, dc2 = dc2, dc
    return dh, dc
