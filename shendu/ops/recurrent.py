"""Fused recurrences: each layer's whole time loop as ONE differentiable Function.

The input projection ``xw = x W + b`` (all steps at once, one matrix product) is
computed before, with ``ops.linear``; each Function below takes it and runs

    forward:  for s in 0..T-1:  state_s = step(xw[t(s)], state_{s-1})     (t(s) = T-1-s if reverse)
    backward: for s in T-1..0:  back-propagation through time of the same step

in NumPy with preallocated state buffers, saving the gate activations, so there
is no per-step graph (and no per-step Python op overhead). The gradient of the
recurrent kernel is one matrix product over all steps after the loop.

Common arguments (keyword parameters of ``apply``):
    mask:   (B, T) bool or None; at a masked step the state is carried through
            unchanged and the step contributes no gradient.
    rmask:  (B, units) recurrent-dropout multiplier or None; it scales the previous
            state where it enters the recurrent matrix product (not the carried state).
    reverse: process the time axis backwards (Keras ``go_backwards``).
    sequences: also return every step's output.
    zero_masked: a masked step outputs zeros (Keras ``zero_output_for_mask``); otherwise
            it repeats the previous output (zeros before the first unmasked step), as Keras.

The projection ``xw`` is time-major, (T, B, G), so each step reads a contiguous block
(the layer transposes the small input x before projecting it), and so is its gradient.

Output, one array (B, S, units): the S slots are [T step outputs in processing order
(only with ``sequences``)], the last output, then the final states (h; and c for LSTM).
The layer slices it. Supported activations (those whose derivative is a function of
the output): tanh, sigmoid, hard_sigmoid, relu, linear.
"""
import numpy as np

from .. import config
from ..autograd.function import Function
from ..kernels import tuning
from ..kernels.workspace import empty as workspace

FUSED_ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")


_NUMBA = []


def numba_kernels(dtype):
    """The Numba LSTM gate kernels for float32, imported on first use, or None.

    None for other dtypes, when numba is not installed, with SHENDU_RNN_NUMBA=0, or while
    the fast kernels are switched off (``shendu.config.set_backend_kernels(False)``,
    ``SHENDU_KERNELS=numpy``); then the NumPy code below, the reference, runs.
    """
    from ..kernels import kernels_enabled
    if np.dtype(dtype) != np.float32 or not config.rnn_numba_enabled() or not kernels_enabled():
        return None
    if not _NUMBA:
        try:
            from ..kernels import numba_rnn as mod
        except ImportError:
            mod = None
        _NUMBA.append(mod)
    return _NUMBA[0]


def lstm_batch_parts(x, p):
    """How many threads the fused LSTM splits the batch of ``x`` over (1: no split): only
    inside a step that owns the cores, where the Numba gate kernels run (float32, tanh
    and sigmoid), and with at least ``tuning.LSTM_MIN_ROWS_PER_PART`` rows per part."""
    from ..kernels.threads import split_parallelism
    if (p["activation"], p["recurrent_activation"]) != ("tanh", "sigmoid") or \
            numba_kernels(x.dtype) is None:
        return 1
    return max(1, min(split_parallelism(), x.shape[0] // tuning.LSTM_MIN_ROWS_PER_PART))


def _sgemm():
    """NumPy's BLAS sgemm for the Numba loops, or None (then the Python loop runs)."""
    if not config.rnn_blas_in_numba():
        return None
    from ..kernels.blas import sgemm
    return sgemm()


def _act_(name, x):
    """Apply the activation ``name`` in place to the array (view) x."""
    if name == "tanh":
        np.tanh(x, out=x)
    elif name == "sigmoid":  # sigmoid(x) = (1 + tanh(x/2)) / 2: stable on both tails
        x *= 0.5
        np.tanh(x, out=x)
        x *= 0.5
        x += 0.5
    elif name == "hard_sigmoid":  # clip(x/6 + 1/2, 0, 1) (Keras 3)
        x *= 1.0 / 6.0
        x += 0.5
        np.clip(x, 0, 1, out=x)
    elif name == "relu":
        np.maximum(x, 0, out=x)
    elif name != "linear":
        raise ValueError(f"fused recurrence: unsupported activation '{name}'")
    return x


def _dact(name, y):
    """d act / d x written with the output y = act(x)."""
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    if name == "hard_sigmoid":
        # NOTE: derivative 0 at the clip points, as in ops.HardSigmoid.
        return ((y > 0) & (y < 1)) * y.dtype.type(1.0 / 6.0)
    if name == "relu":
        return (y > 0).astype(y.dtype)  # NOTE: subgradient 0 at x == 0, as ops.Relu
    return np.ones_like(y)


class _LastOnly:
    """Per-step output gradients that are zero except at the last step (no (T, B, n) array)."""

    def __init__(self, T, last):
        self.T, self.last, self.zero = T, last, 0

    def scaled(self, w):
        return _LastOnly(self.T, self.last * w[self.T - 1])

    def __getitem__(self, s):
        return self.last if s == self.T - 1 else self.zero


class _Recurrence(Function):
    """Shared bookkeeping of the three fused recurrences (masks, order, output slots)."""

    n_states = 1

    def _setup(ctx, xw, mask, rmask, reverse, sequences, zero_masked):
        T, B = xw.shape[:2]
        ctx.T, ctx.B, ctx.reverse, ctx.sequences = T, B, reverse, sequences
        ctx.order = list(range(T - 1, -1, -1)) if reverse else list(range(T))
        ctx.X = xw  # time-major: X[t] is the (B, G) projection of step t
        ctx.rmask = rmask
        if mask is None:
            ctx.keep, ctx.wout = None, None
            return
        m = np.asarray(mask, dtype=bool).T[ctx.order][..., None]  # (T, B, 1), processing order
        ctx.keep = m
        # output weight per step: 1 if the step's output is its state, 0 if it is zeros
        ctx.wout = (m if zero_masked else np.logical_or.accumulate(m, axis=0)).astype(xw.dtype)

    def _pack(ctx, H, finals):
        """(B, [T] + 1 + n_states, units): step outputs, last output, final states."""
        T, B = ctx.T, ctx.B
        n = H.shape[-1]
        S = (T if ctx.sequences else 0) + 1 + len(finals)
        out = np.empty((B, S, n), H.dtype)
        if ctx.sequences:
            seq = out[:, :T].transpose(1, 0, 2)
            if ctx.wout is None:
                seq[...] = H[1:]
            else:
                np.multiply(H[1:], ctx.wout, out=seq)
        j = T if ctx.sequences else 0
        out[:, j] = H[T] if ctx.wout is None else H[T] * ctx.wout[T - 1]
        for k, f in enumerate(finals):
            out[:, j + 1 + k] = f
        return out

    def _unpack_grad(ctx, gy):
        """Gradient slots: (T, B, n) per-step output grads (weighted) and final-state grads."""
        T = ctx.T
        j = T if ctx.sequences else 0
        if ctx.sequences:
            gseq = workspace((T,) + gy[:, 0].shape, gy.dtype)
            gseq[...] = gy[:, :T].transpose(1, 0, 2)
            gseq[T - 1] += gy[:, j]
        else:  # only the last step's output has a gradient
            gseq = _LastOnly(T, gy[:, j])
        if ctx.wout is not None:
            gseq = gseq * ctx.wout if isinstance(gseq, np.ndarray) else gseq.scaled(ctx.wout)
        finals = [gy[:, j + 1 + k].copy() for k in range(ctx.n_states)]
        return gseq, finals

    def _prev_states(ctx, H):
        """h_{t-1} (times the recurrent-dropout mask) of every step, in input time order."""
        Hp = H[:-1] if ctx.rmask is None else H[:-1] * ctx.rmask
        return Hp[::-1] if ctx.reverse else Hp

    def _masked_split(ctx, s, *grads):
        """At step s: (grads that enter the step, grads carried past it unchanged)."""
        if ctx.keep is None:
            return grads, None
        m = ctx.keep[s]
        return [g * m for g in grads], [np.where(m, 0, g) for g in grads]

    def _carry(ctx, s, new, old):
        """Masked samples keep the previous state."""
        if ctx.keep is not None:
            np.copyto(new, old, where=~ctx.keep[s])


class SimpleRNNSequence(_Recurrence):
    """h_t = act(xw_t + (h_{t-1} * rmask) U)     (xw_t = x_t W + b, computed before).

    Backward (BPTT), with a_t = xw_t + (h_{t-1} rmask) U and dh_t the gradient reaching h_t:
        da_t = dh_t * act'(a_t) (from h_t);  gxw_t = da_t;  dh_{t-1} += (da_t U^T) * rmask;
        gU = sum_t (h_{t-1} rmask)^T da_t.
    Inputs: xw (T, B, n), U (n, n), h0 (B, n). Saves all states H (T+1, B, n).
    """

    def forward(ctx, xw, U, h0, mask=None, rmask=None, reverse=False, sequences=True,
                zero_masked=False, activation="tanh"):
        ctx._setup(xw, mask, rmask, reverse, sequences, zero_masked)
        ctx.act = activation
        T, B, n = ctx.T, ctx.B, U.shape[0]
        H = workspace((T + 1, B, n), xw.dtype)
        H[0] = h0
        for s, t in enumerate(ctx.order):
            hp = H[s] if rmask is None else H[s] * rmask
            h = H[s + 1]
            np.matmul(hp, U, out=h)
            h += ctx.X[t]
            _act_(activation, h)
            ctx._carry(s, h, H[s])
        ctx.H, ctx.U = H, U
        return ctx._pack(H, [H[T]])

    def backward(ctx, gy):
        H, U, rmask = ctx.H, ctx.U, ctx.rmask
        gseq, (dh,) = ctx._unpack_grad(gy)
        dZ = workspace((ctx.T,) + H.shape[1:], H.dtype)
        for s in range(ctx.T - 1, -1, -1):
            dh += gseq[s]
            (dh_in,), carried = ctx._masked_split(s, dh)
            da = dZ[ctx.order[s]]
            np.multiply(dh_in, _dact(ctx.act, H[s + 1]), out=da)
            dh = da @ U.T
            if rmask is not None:
                dh *= rmask
            if carried is not None:
                dh += carried[0]
        Hp = ctx._prev_states(H)
        gU = Hp.reshape(-1, Hp.shape[-1]).T @ dZ.reshape(-1, dZ.shape[-1])
        return dZ, gU, dh


class LSTMSequence(_Recurrence):
    """LSTM with Keras's gate order (i, f, c, o) along the 4n columns:

        z_t = xw_t + (h_{t-1} rmask) U;   i, f, o = ract(z_i, z_f, z_o);  g = act(z_c)
        c_t = f c_{t-1} + i g;            h_t = o act(c_t)

    Backward, with dh, dc the gradients reaching h_t, c_t:
        do = dh act(c_t);   dc += dh o act'(c_t)
        di = dc g;  dg = dc i;  df = dc c_{t-1};  dc_{t-1} = dc f
        dz = [di ract'(i), df ract'(f), dg act'(g), do ract'(o)] = gxw_t
        dh_{t-1} = (dz U^T) rmask;  gU = sum_t (h_{t-1} rmask)^T dz_t
    Inputs: xw (T, B, 4n), U (n, 4n), h0, c0 (B, n). Saves the gate activations
    A (T, B, 4n), the states H, C (T+1, B, n) and act(c) (T, B, n).

    Fast path (tanh, sigmoid): with sigmoid(x) = (1 + tanh(x/2)) / 2, every gate is
    a = s tanh(s z) + (1 - s) with s = 1/2 on the sigmoid columns and 1 on the tanh ones,
    so one tanh over the 4n columns computes all gates, and
    ract'/act' = (1 - a)(a + q) (q = 0 on sigmoid columns, 1 on tanh) over all columns at once.
    """

    n_states = 2

    def forward(ctx, xw, U, h0, c0, mask=None, rmask=None, reverse=False, sequences=True,
                zero_masked=False, activation="tanh", recurrent_activation="sigmoid", bias=None):
        # ``bias`` (4n,), if given, is added to every step's z here rather than to xw
        # beforehand (LSTMBatchSplit: one pass over the projection fewer)
        ctx._setup(xw, mask, rmask, reverse, sequences, zero_masked)
        ctx.act, ctx.ract = activation, recurrent_activation
        T, B, n = ctx.T, ctx.B, U.shape[0]
        dt = xw.dtype
        ctx.fast = fast = activation == "tanh" and recurrent_activation == "sigmoid"
        A = workspace((T, B, 4 * n), dt)
        H = workspace((T + 1, B, n), dt)
        C = workspace((T + 1, B, n), dt)
        TC = workspace((T, B, n), dt)
        tmp = np.empty((B, n), dt)
        H[0], C[0] = h0, c0
        X = ctx.X
        if fast:
            sc = np.full(4 * n, 0.5, dt)
            sc[2 * n:3 * n] = 1
            off = (1 - sc).astype(dt)
        ctx.nb = nb = numba_kernels(dt) if fast else None
        if nb is not None and bias is None:
            bias = np.zeros(4 * n, dt)
        ctx.sgemm = sgemm = _sgemm() if nb is not None and mask is None and rmask is None \
            else None
        if sgemm is not None:  # the whole loop below in one Numba call (kernels/numba_rnn.py)
            nb.lstm_forward_sequence(sgemm, X, np.asarray(ctx.order, np.intp), bias, sc,
                                     np.ascontiguousarray(U), A, H, C, TC)
            ctx.A, ctx.H, ctx.C, ctx.TC, ctx.U = A, H, C, TC, U
            return ctx._pack(H, [H[T], C[T]])
        for s, t in enumerate(ctx.order):
            hp = H[s] if rmask is None else H[s] * rmask
            z = A[s]
            np.matmul(hp, U, out=z)
            if nb is not None:  # the same step in one pass (kernels/numba_rnn.py)
                nb.lstm_forward_step(z, X[t], bias, sc, C[s], C[s + 1], TC[s], H[s + 1])
                ctx._carry(s, H[s + 1], H[s])
                ctx._carry(s, C[s + 1], C[s])
                continue
            z += X[t]
            if bias is not None:
                z += bias
            if fast:
                z *= sc
                np.tanh(z, out=z)
                z *= sc
                z += off
            else:
                _act_(recurrent_activation, z[:, :2 * n])
                _act_(activation, z[:, 2 * n:3 * n])
                _act_(recurrent_activation, z[:, 3 * n:])
            i, f, g, o = z[:, :n], z[:, n:2 * n], z[:, 2 * n:3 * n], z[:, 3 * n:]
            c = C[s + 1]
            np.multiply(f, C[s], out=c)
            np.multiply(i, g, out=tmp)
            c += tmp
            tc = TC[s]
            if fast:
                np.tanh(c, out=tc)
            else:
                tc[...] = c
                _act_(activation, tc)
            np.multiply(o, tc, out=H[s + 1])
            ctx._carry(s, H[s + 1], H[s])
            ctx._carry(s, C[s + 1], C[s])
        ctx.A, ctx.H, ctx.C, ctx.TC, ctx.U = A, H, C, TC, U
        return ctx._pack(H, [H[T], C[T]])

    def backward(ctx, gy):
        A, H, C, TC, U, rmask = ctx.A, ctx.H, ctx.C, ctx.TC, ctx.U, ctx.rmask
        n = U.shape[0]
        gseq, (dh, dc) = ctx._unpack_grad(gy)
        dZ = workspace(A.shape, A.dtype)
        UT = np.ascontiguousarray(U.T)
        if ctx.nb is not None:
            return ctx._backward_numba(gseq, dh, dc, dZ, UT)
        B = A.shape[1]
        dcs = np.empty((B, n), A.dtype)
        tmp = np.empty((B, n), A.dtype)
        dact = np.empty((B, 4 * n), A.dtype)
        if ctx.fast:
            # ract' = a (1 - a) on sigmoid columns, act' = (1 - a)(1 + a) on the tanh ones:
            # (1 - a)(a + q) with q = 0 / 1, one pass over all 4n columns
            q = np.zeros(4 * n, A.dtype)
            q[2 * n:3 * n] = 1
            tmp4 = np.empty((B, 4 * n), A.dtype)
        for s in range(ctx.T - 1, -1, -1):
            dh += gseq[s]
            (dh_in, dc_in), carried = ctx._masked_split(s, dh, dc)
            a = A[s]
            i, f, g, o = a[:, :n], a[:, n:2 * n], a[:, 2 * n:3 * n], a[:, 3 * n:]
            tc = TC[s]
            dz = dZ[ctx.order[s]]
            # dcs = dc + dh o act'(c)
            if ctx.fast:
                np.multiply(tc, tc, out=tmp)
                np.subtract(1, tmp, out=tmp)
            else:
                tmp[...] = _dact(ctx.act, tc)
            tmp *= o
            tmp *= dh_in
            np.add(dc_in, tmp, out=dcs)
            np.multiply(dcs, g, out=dz[:, :n])
            np.multiply(dcs, C[s], out=dz[:, n:2 * n])
            np.multiply(dcs, i, out=dz[:, 2 * n:3 * n])
            np.multiply(dh_in, tc, out=dz[:, 3 * n:])
            if ctx.fast:
                np.subtract(1, a, out=dact)
                np.add(a, q, out=tmp4)
                dact *= tmp4
            else:
                dact[:, :2 * n] = _dact(ctx.ract, a[:, :2 * n])
                dact[:, 2 * n:3 * n] = _dact(ctx.act, g)
                dact[:, 3 * n:] = _dact(ctx.ract, o)
            dz *= dact
            dc = dcs * f
            dh = dz @ UT
            if rmask is not None:
                dh *= rmask
            if carried is not None:
                dh += carried[0]
                dc += carried[1]
        return dZ, ctx._recurrent_grad(dZ), dh, dc

    def _recurrent_grad(ctx, dZ):
        """gU = sum_t (h_{t-1} rmask)^T dz_t as one product; None when the caller asked
        to form it itself (``defer_gU``: LSTMBatchSplit joins it with the kernel's)."""
        if getattr(ctx, "defer_gU", False):
            return None
        n = ctx.H.shape[-1]
        return ctx._prev_states(ctx.H).reshape(-1, n).T @ dZ.reshape(-1, 4 * n)

    def _backward_numba(ctx, gseq, dh, dc, dZ, UT):
        """The backward loop with the Numba gate kernel: the same arithmetic as the NumPy
        loop above, with the state gradients in preallocated ping-pong buffers (the
        recurrent product written in place) and no pass over a zero output gradient."""
        A, H, C, TC, rmask, nb = ctx.A, ctx.H, ctx.C, ctx.TC, ctx.rmask, ctx.nb
        n = UT.shape[1]
        dh_next, dc_next = np.empty_like(dh), np.empty_like(dc)
        last_only = isinstance(gseq, _LastOnly)
        if ctx.sgemm is not None:  # the loop below in one Numba call
            if last_only:
                dh += gseq[ctx.T - 1]
                gseq = np.empty((0,) + dh.shape, dh.dtype)
            dh, dc = nb.lstm_backward_sequence(ctx.sgemm, A, C, TC, UT, gseq,
                                               np.asarray(ctx.order, np.intp), dh, dc,
                                               dh_next, dc_next, dZ)
            return dZ, ctx._recurrent_grad(dZ), dh, dc
        for s in range(ctx.T - 1, -1, -1):
            if not last_only or s == ctx.T - 1:
                dh += gseq[s]
            (dh_in, dc_in), carried = ctx._masked_split(s, dh, dc)
            dz = dZ[ctx.order[s]]
            nb.lstm_backward_step(A[s], C[s], TC[s], dh_in, dc_in, dz, dc_next)
            np.matmul(dz, UT, out=dh_next)
            if rmask is not None:
                dh_next *= rmask
            if carried is not None:
                dh_next += carried[0]
                dc_next += carried[1]
            dh, dh_next = dh_next, dh
            dc, dc_next = dc_next, dc
        return dZ, ctx._recurrent_grad(dZ), dh, dc


class LSTMBatchSplit(Function):
    """The LSTM with its input projection, the batch split into parts that run at once,
    one per core, each with single-threaded BLAS (``shendu.kernels.threads.parallel``).

    The rows of a batch never meet in a recurrence, so part k is exactly
    ``LSTMSequence`` over its rows r_k, given xw_k = x_k W + b (x_k time-major):

        forward:   y[r_k] = LSTMSequence(x_k W + b, U, h0[r_k], c0[r_k])
        backward:  (gxw_k, gU_k, gh0_k, gc0_k) = LSTMSequence's backward of part k
                   gx[r_k] = gxw_k W^T;  gW = sum_k x_k^T gxw_k;  gb = sum_k sum_t gxw_k;
                   gU = sum_k gU_k

    Why: at batch 128 and 128 units each step's product is small, and with BLAS's two
    threads the gate kernel that follows reads half of the product from the other
    core's cache; split by rows, each core keeps its half of every state in its own
    cache for the whole sequence. The sums over parts are added in a fixed order.

    Inputs: x (B, T, D) batch-major (after input dropout), W (D, 4n), b (4n,),
    U (n, 4n), h0, c0 (B, n); keyword ``parts`` and the keywords of LSTMSequence
    (``mask`` and ``rmask`` are split by rows). Output as LSTMSequence's.
    """

    def forward(ctx, x, W, b, U, h0, c0, parts=2, mask=None, rmask=None, **kw):
        from ..kernels.threads import parallel
        B = len(x)
        cuts = [B * k // parts for k in range(parts + 1)]
        ctx.rows = rows = [slice(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:])]
        ctx.subs = subs = [LSTMSequence() for _ in rows]
        ctx.xs = [None] * parts

        def part(k):
            r = rows[k]
            xt = np.ascontiguousarray(x[r].transpose(1, 0, 2))  # (T, b, D), time-major
            ctx.xs[k] = xt
            xw = workspace(xt.shape[:2] + (W.shape[1],), x.dtype)
            np.matmul(xt.reshape(-1, xt.shape[2]), W, out=xw.reshape(-1, W.shape[1]))
            return subs[k].forward(xw, U, h0[r], c0[r], bias=b,
                                   mask=None if mask is None else mask[r],
                                   rmask=None if rmask is None else rmask[r], **kw)

        ctx.W = W
        return np.concatenate(parallel([lambda k=k: part(k) for k in range(parts)]), axis=0)

    def backward(ctx, gy):
        from ..kernels.threads import parallel
        need = ctx.needs_input_grad
        W = ctx.W
        D, G = W.shape

        def part(k):
            sub = ctx.subs[k]
            sub.defer_gU = True
            Hp = sub._prev_states(sub.H)
            dxw, _, dh0, dc0 = sub.backward(np.ascontiguousarray(gy[ctx.rows[k]]))
            d2 = dxw.reshape(-1, G)
            gx = (d2 @ W.T).reshape(dxw.shape[:2] + (D,)).transpose(1, 0, 2) if need[0] else None
            # gW and gU in one product: [x_t, h_{t-1}]^T dz_t (one product with D + n
            # rows is faster than one with D rows and one with n)
            xh = np.concatenate([ctx.xs[k].reshape(-1, D), Hp.reshape(-1, Hp.shape[-1])], axis=1)
            gWU = xh.T @ d2
            gb = d2.sum(axis=0) if need[2] else None
            return gx, gWU[:D] if need[1] else None, gb, gWU[D:], dh0, dc0

        outs = parallel([lambda k=k: part(k) for k in range(len(ctx.rows))])
        gx = np.concatenate([o[0] for o in outs]) if need[0] else None

        def total(i):
            if outs[0][i] is None:
                return None
            acc = outs[0][i].copy()
            for o in outs[1:]:
                acc += o[i]
            return acc
        return (gx, total(1), total(2), total(3), np.concatenate([o[4] for o in outs]),
                np.concatenate([o[5] for o in outs]))


class GRUSequence(_Recurrence):
    """GRU, Keras ``reset_after=True`` (= PyTorch's formulation), gate order (z, r, h):

        q_t = (h_{t-1} rmask) U + b_rec                (the recurrent part, 3n columns)
        z = ract(xw_z + q_z);  r = ract(xw_r + q_r);  hh = act(xw_h + r q_h)
        h_t = z h_{t-1} + (1 - z) hh

    Backward, dh the gradient reaching h_t:
        dz = dh (h_{t-1} - hh);  dhh = dh (1 - z);  da_h = dhh act'(hh);  dr = da_h q_h
        gxw_t = [dz ract'(z), dr ract'(r), da_h];  gq_t = [.., .., da_h r]
        dh_{t-1} = dh z + (gq_t U^T) rmask;  gU = sum_t (h_{t-1} rmask)^T gq_t;  gb_rec = sum gq_t
    Inputs: xw (T, B, 3n) (with the input bias), U (n, 3n), b_rec (3n,), h0 (B, n).
    Saves the gates A (T, B, 3n), q_h (T, B, n) and the states H.
    """

    def forward(ctx, xw, U, brec, h0, mask=None, rmask=None, reverse=False, sequences=True,
                zero_masked=False, activation="tanh", recurrent_activation="sigmoid"):
        ctx._setup(xw, mask, rmask, reverse, sequences, zero_masked)
        ctx.act, ctx.ract = activation, recurrent_activation
        T, B, n = ctx.T, ctx.B, U.shape[0]
        dt = xw.dtype
        A = workspace((T, B, 3 * n), dt)
        Q = np.empty((B, 3 * n), dt)
        QH = workspace((T, B, n), dt)
        H = workspace((T + 1, B, n), dt)
        H[0] = h0
        for s, t in enumerate(ctx.order):
            hp = H[s] if rmask is None else H[s] * rmask
            np.matmul(hp, U, out=Q)
            Q += brec
            a, x = A[s], ctx.X[t]
            np.add(x[:, :2 * n], Q[:, :2 * n], out=a[:, :2 * n])
            _act_(recurrent_activation, a[:, :2 * n])
            QH[s] = Q[:, 2 * n:]
            hh = a[:, 2 * n:]
            np.multiply(a[:, n:2 * n], QH[s], out=hh)
            hh += x[:, 2 * n:]
            _act_(activation, hh)
            z = a[:, :n]
            h = H[s + 1]
            np.subtract(H[s], hh, out=h)  # h = hh + z (h_{t-1} - hh)
            h *= z
            h += hh
            ctx._carry(s, h, H[s])
        ctx.A, ctx.QH, ctx.H, ctx.U = A, QH, H, U
        return ctx._pack(H, [H[T]])

    def backward(ctx, gy):
        A, QH, H, U, rmask = ctx.A, ctx.QH, ctx.H, ctx.U, ctx.rmask
        n = U.shape[0]
        gseq, (dh,) = ctx._unpack_grad(gy)
        dX = workspace(A.shape, A.dtype)
        dQ = workspace(A.shape, A.dtype)
        for s in range(ctx.T - 1, -1, -1):
            dh += gseq[s]
            (dh_in,), carried = ctx._masked_split(s, dh)
            a = A[s]
            z, r, hh = a[:, :n], a[:, n:2 * n], a[:, 2 * n:]
            dx, dq = dX[ctx.order[s]], dQ[ctx.order[s]]
            np.multiply(dh_in * (H[s] - hh), _dact(ctx.ract, z), out=dx[:, :n])
            np.multiply(dh_in * (1 - z), _dact(ctx.act, hh), out=dx[:, 2 * n:])
            np.multiply(dx[:, 2 * n:] * QH[s], _dact(ctx.ract, r), out=dx[:, n:2 * n])
            dq[:, :2 * n] = dx[:, :2 * n]
            np.multiply(dx[:, 2 * n:], r, out=dq[:, 2 * n:])
            dhp = dq @ U.T
            if rmask is not None:
                dhp *= rmask
            dhp += dh_in * z
            if carried is not None:
                dhp += carried[0]
            dh = dhp
        Hp = ctx._prev_states(H)
        dQ2 = dQ.reshape(-1, 3 * n)
        gU = Hp.reshape(-1, n).T @ dQ2
        return dX, gU, dQ2.sum(axis=0), dh
