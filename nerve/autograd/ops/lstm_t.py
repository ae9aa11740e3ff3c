"""Unmasked LSTM and GRU forward/backward in a feature-major layout (the fast paths of LSTMFn and GRUFn).

Arrays are (T, features, N) instead of (T, N, features): every gate is then a contiguous row block of
z_t = U'^T h_t + W'^T x_t + b' (4n, N), so the per-step elementwise passes run over contiguous memory
(a column slice of an (N, 4n) array costs about twice as much per element). Gates are reordered to
(i, f, o, g) so the three sigmoid gates form one block [0, 3n): sigma(z) = 0.5 + 0.5 tanh(z / 2) with the
sigmoid rows of W, U, b pre-scaled by 1/2, and one tanh per step covers all four gates.
Math (Keras gate order i, f, c=g, o): c_t = f c_{t-1} + i g, h_t = o tanh(c_t); BPTT as in recurrent.py:
dc_t = dc_{t+1} f_{t+1} + dh_t o (1 - tanh(c_t)^2); di = dc g i(1-i); df = dc c_{t-1} f(1-f);
dg = dc i (1-g^2); do = dh tanh(c) o(1-o); dh_{t-1} = U dz_t.
"""
from functools import lru_cache, partial
from types import SimpleNamespace

import numpy as np

from ...backend import get_array_module
from . import chains, gpu
from .conv import _kernels
from .workspace import scratch


_LOOPS = {}  # compiled whole-sequence loop -> True (works) / False (cannot compile here: no SciPy)
USE_LOOPS = "chains"  # "chains": inside a batch chain or with single-threaded BLAS; "always"; "never"


def _compiled_loop(loop, *args):
    """Run a whole-sequence loop of ops/jit.py; False if it should not or cannot run here, and the caller runs
    its per-step Python loop instead. By default only inside batch chains (where they spare two threads ~110
    GIL hand-offs per step) or with single-threaded BLAS: with multi-threaded BLAS their np.dot (numba calls
    SciPy's own OpenBLAS) would meet NumPy's OpenBLAS workers still spinning from the last multi-threaded
    GEMM (measured: an LSTM epoch 4x slower). False too if numba cannot compile them (no SciPy)."""
    if USE_LOOPS == "never" or (USE_LOOPS == "chains" and not chains.in_chain() and chains.blas_threads() != 1):
        return False
    ok = _LOOPS.get(loop)
    if ok is None:
        try:
            loop(*args)
        except Exception:  # a numba typing/lowering error at the first call: nothing has run
            _LOOPS[loop] = False
            return False
        _LOOPS[loop] = True
        return True
    if ok:
        loop(*args)
    return ok


@lru_cache(maxsize=32)
def _perm_host(n):
    p = np.r_[0:2 * n, 3 * n:4 * n, 2 * n:3 * n]
    inv = np.argsort(p)
    p.flags.writeable = inv.flags.writeable = False
    return p, inv


def _perm(n, xp=np):
    """Column order (i, f, o, g) from Keras' (i, f, g, o), and its inverse: cached read-only NumPy arrays, or
    arrays of the array module ``xp`` on its current device."""
    p, inv = _perm_host(n)
    return (p, inv) if xp is np else (xp.asarray(p), xp.asarray(inv))


def stacked_weights(w, u, b):
    """[U'; W'; b']^T (4n, n + D [+ 1]) in gate order (i, f, o, g), sigmoid rows scaled by 1/2 (forward's GEMM
    operand), and U in that order (n, 4n) (backward's dh_{t-1} = U dz_t)."""
    n, D = u.shape[0], w.shape[0]
    xp = get_array_module(u)
    out = xp.empty((4 * n, n + D + (b is not None)), u.dtype)
    # Keras column blocks i, f (0:2n), c (2n:3n), o (3n:4n) -> rows (i, f) 0:2n, o 2n:3n, g 3n:4n; written in place
    # from slices (a fancy-indexed copy per operand took ~0.3 ms of an LSTM(128) step)
    for lo, hi, row, s in ((0, 2 * n, 0, 0.5), (3 * n, 4 * n, 2 * n, 0.5), (2 * n, 3 * n, 3 * n, 1.0)):
        rows = slice(row, row + hi - lo)
        xp.multiply(u[:, lo:hi].T, s, out=out[rows, :n])
        xp.multiply(w[:, lo:hi].T, s, out=out[rows, n:n + D])
        if b is not None:
            xp.multiply(b[lo:hi], s, out=out[rows, n + D])
    return out, xp.concatenate([u[:, :2 * n], u[:, 3 * n:], u[:, 2 * n:3 * n]], axis=1)


def forward(fn, xt, w, u, b, h0, c0, stacked=None):
    """xt (T, N, D) time-major input. Saves what backward needs on ``fn``; returns HT (T+1, n, N), CT.

    One GEMM per step covers the recurrent and the input projection and the bias: z_t = [U'; W'; b']^T
    [h_{t-1}; x_t; 1] with the stacked operand HX[t] = [h_{t-1}; x_t; 1] (n + D + 1, N), so that backward
    gets dU, dW and db from one GEMM too (a separate (T, 4n, N) input projection, with its K = D = 28, ran at
    a third of the sgemm peak; the bias row sum was a GEMV of its own)."""
    T, N, D = xt.shape
    n = u.shape[0]
    dt = xt.dtype
    xp = get_array_module(xt)
    uw, uq = stacked if stacked is not None else stacked_weights(w, u, b)   # (4n, n + D [+ 1]), (n, 4n)
    HX = xp.empty((T + 1, uw.shape[1], N), dt)
    HX[:T, n:n + D] = xt.transpose(0, 2, 1)
    HX[:T, n + D:] = 1
    HX[T, n:] = 0
    HT = HX[:, :n]                      # h_t lives in HX[t + 1, :n]: each (n, N) block is contiguous
    HT[0] = 0 if h0 is None else h0.T
    G = xp.empty((T, 4 * n, N), dt)     # pre-activations, then the gate activations that backward reads
    CT = xp.empty((T + 1, n, N), dt)
    TC = xp.empty((T, n, N), dt)
    CT[0] = 0 if c0 is None else c0.T
    K = _kernels(xt, u)
    fn.tK = K
    fn.tG, fn.tHX, fn.tCT, fn.tTC, fn.tD, fn.tuq = G, HX, CT, TC, D, uq
    if K is not None and _compiled_loop(K.lstm_forward_loop32 if dt == np.float32 else K.lstm_forward_loop64,
                                        uw, HX, G, CT, TC):
        return HT, CT
    if K is not None:  # compiled: the whole cell in one pass per step (ops/jit.py)
        step = K.lstm_step32 if dt == np.float32 else K.lstm_step64
        for t in range(T):
            xp.matmul(uw, HX[t], out=G[t])
            step(G[t], CT[t], CT[t + 1], TC[t], HT[t + 1])
        return HT, CT
    GK = gpu.kernels(xt) if xt.dtype == uw.dtype else None
    fn.tGK = GK
    if GK is not None:  # the GPU: the cell in one kernel per step (ops/gpu.py), the GEMM a direct cuBLAS call
        mm = gpu.gemm_steps(uw, HX, G) or (lambda t: xp.matmul(uw, HX[t], out=G[t]))
        for t in range(T):
            mm(t)
            GK.lstm_step(CT[t], n * N, G[t], CT[t + 1], TC[t], HT[t + 1])
        return HT, CT
    tmp = xp.empty((n, N), dt)
    s3 = 3 * n
    for t in range(T):
        z = G[t]
        xp.matmul(uw, HX[t], out=z)
        xp.tanh(z, out=z)
        zs = z[:s3]
        zs *= 0.5
        zs += 0.5                                   # sigma for i, f, o
        c = CT[t + 1]
        xp.multiply(z[n:2 * n], CT[t], out=c)       # f c_{t-1}
        xp.multiply(z[:n], z[s3:], out=tmp)         # i g
        c += tmp
        xp.tanh(c, out=TC[t])
        xp.multiply(z[2 * n:s3], TC[t], out=HT[t + 1])  # o tanh(c)
    return HT, CT


def backward(fn, dH_last, dH_seq, g_c, w, u, need_x, need_w, need_u, need_b):
    """dH_seq (T, N, n) or None, dH_last (N, n) or None. Returns gx (T, N, D), gw, gu, gb, gh0, gc0."""
    G, HX, CT, TC, D = fn.tG, fn.tHX, fn.tCT, fn.tTC, fn.tD
    T, n, N = TC.shape
    dt = HX.dtype
    xp = get_array_module(HX)
    p, inv = _perm(n, xp)
    s3 = 3 * n
    dZ = scratch("lstm.dZ", (4 * n, T, N), dt, xp)  # dz of every step, laid out so that dZ.reshape(4n, T N) is free
    dz = xp.empty((4 * n, N), dt)      # the current step's dz, contiguous
    dh = xp.zeros((n, N), dt)
    dc = xp.zeros((n, N), dt) if g_c is None else xp.ascontiguousarray(g_c.T, dtype=dt)
    if dH_last is not None:
        dh += dH_last.T
    dct = xp.empty((n, N), dt)
    t1 = xp.empty((s3, N), dt)
    t2 = xp.empty((n, N), dt)
    uq = fn.tuq  # (n, 4n): dh_{t-1} = U dz_t
    K = fn.tK
    if K is not None:  # compiled: the whole recurrence in one call, else one compiled pass per step (ops/jit.py)
        dHs = xp.empty((1, 1, 1), dt) if dH_seq is None else xp.ascontiguousarray(dH_seq.transpose(0, 2, 1), dtype=dt)
        loop = K.lstm_backward_loop32 if dt == np.float32 else K.lstm_backward_loop64
        if not _compiled_loop(loop, G, TC, CT, uq, dh, dc, dZ, dz, dHs, dH_seq is not None):
            for t in range(T - 1, -1, -1):
                if dH_seq is not None:
                    dh += dH_seq[t].T
                K.lstm_step_grad(G[t], TC[t], CT[t], dh, dc, dZ, t)
                xp.matmul(uq, dZ[:, t], out=dh)
    GK = fn.__dict__.get("tGK")
    if GK is not None:  # the GPU: one kernel per step, then dh_{t-1} = U dz_t
        mm = gpu.gemm_steps(uq, dz, dh) or (lambda t: xp.matmul(uq, dz, out=dh))
        for t in range(T - 1, -1, -1):
            if dH_seq is not None:
                dh += dH_seq[t].T
            GK.lstm_step_grad(G[t], TC[t], CT[t], dh, n * N, N, T, t, dz, dZ, dc)
            mm(t)
    for t in range(T - 1 if K is None and GK is None else -1, -1, -1):
        if dH_seq is not None:
            dh += dH_seq[t].T
        z, th = G[t], TC[t]
        i, f, o, g = z[:n], z[n:2 * n], z[2 * n:s3], z[s3:]
        xp.multiply(th, th, out=dct)
        xp.subtract(1, dct, out=dct)
        dct *= o
        dct *= dh
        dct += dc                                   # dc_t
        xp.multiply(dct, g, out=dz[:n])             # di (before sigma')
        xp.multiply(dct, CT[t], out=dz[n:2 * n])    # df
        xp.multiply(dh, th, out=dz[2 * n:s3])       # do
        xp.subtract(1, z[:s3], out=t1)
        t1 *= z[:s3]
        dz[:s3] *= t1                               # sigma' = s (1 - s) for i, f, o at once
        xp.multiply(g, g, out=t2)
        xp.subtract(1, t2, out=t2)
        t2 *= i
        xp.multiply(dct, t2, out=dz[s3:])           # dg = dc i (1 - g^2)
        xp.multiply(dct, f, out=dc)                 # dc_{t-1}
        xp.matmul(uq, dz, out=dh)                   # dh_{t-1}
        dZ[:, t] = dz
    dZ2 = dZ.reshape(4 * n, T * N)
    gx = gw = gu = gb = None
    if need_x:
        gx = (dZ2.T @ w[:, p].T).reshape(T, N, -1)  # (T, N, D), C-contiguous: batch-major is a cheap copy
    if need_w or need_u or need_b:  # [dU; dW; db] = [h_{t-1}; x_t; 1] dZ^T over every step and sample: one GEMM
        lo = 0 if need_u else n if need_w else n + D
        hi = n + D + 1 if need_b else n + D if need_w else n
        hx = HX[:-1, lo:hi].transpose(1, 0, 2).reshape(-1, T * N)  # (rows, T N), one copy
        g = xp.take(hx @ dZ2.T, inv, axis=1)                      # (rows, 4n), C-contiguous
        gu = g[:n] if need_u else None
        gw = g[n - lo:n + D - lo] if need_w else None
        gb = g[-1] if need_b else None
    return gx, gw, gu, gb, dh.T, dc.T


def gru_forward(fn, xt, w, u, b, h0):
    """Unmasked GRU (reset_after=True) in the same feature-major layout; returns HT (T+1, n, N).
    z = sigma(xz + rz), r = sigma(xr + rr), hh = tanh(xh + r rh), h_t = hh + z (h_{t-1} - hh)."""
    T, N, _ = xt.shape
    n = u.shape[0]
    dt = xt.dtype
    xp = get_array_module(xt)
    G = xp.matmul(w.T, xt.transpose(0, 2, 1))   # (T, 3n, N)
    if b is not None:
        G += b[0][:, None]
    uT = xp.ascontiguousarray(u.T)               # (3n, n)
    REC = xp.empty((T, 3 * n, N), dt)            # h U + b_rec of every step (rh is kept for backward)
    HT = xp.empty((T + 1, n, N), dt)
    HT[0] = 0 if h0 is None else h0.T
    K = _kernels(xt, u)
    fn.tK = K
    if K is not None:  # compiled: the gate algebra in one call per step (ops/jit.py)
        step = K.gru_step32 if dt == np.float32 else K.gru_step64
        for t in range(T):
            rec = REC[t]
            xp.matmul(uT, HT[t], out=rec)
            if b is not None:
                rec += b[1][:, None]
            step(G[t].reshape(-1), rec.reshape(-1), HT[t].reshape(-1), HT[t + 1].reshape(-1))
        fn.tG, fn.tREC, fn.tHT, fn.txt = G, REC, HT, xt
        return HT
    GK = gpu.kernels(xt) if xt.dtype == uT.dtype else None
    if GK is not None:  # the GPU: the gate algebra in one kernel per step (ops/gpu.py)
        mm = None
        if b is not None:  # rec = b_rec + h U: the bias first, for every step at once, then the GEMM adds
            REC[...] = b[1][:, None]
        mm = gpu.gemm_steps(uT, HT, REC, accumulate=b is not None)
        for t in range(T):
            rec = REC[t]
            if mm is not None:
                mm(t)
            elif b is not None:
                rec += xp.matmul(uT, HT[t])
            else:
                xp.matmul(uT, HT[t], out=rec)
            GK.gru_step(rec, HT[t], n * N, G[t], HT[t + 1])
        fn.tG, fn.tREC, fn.tHT, fn.txt, fn.tGK = G, REC, HT, xt, GK
        return HT
    for t in range(T):
        rec, x_t = REC[t], G[t]
        xp.matmul(uT, HT[t], out=rec)
        if b is not None:
            rec += b[1][:, None]
        zr = x_t[:2 * n]                         # the gates overwrite the input projection in place
        zr += rec[:2 * n]
        zr *= 0.5
        xp.tanh(zr, out=zr)
        zr *= 0.5
        zr += 0.5                                # sigma via tanh
        hh = x_t[2 * n:]
        tmp = HT[t + 1]
        xp.multiply(zr[n:], rec[2 * n:], out=tmp)  # r rh
        hh += tmp
        xp.tanh(hh, out=hh)
        xp.subtract(HT[t], hh, out=tmp)
        tmp *= zr[:n]
        tmp += hh                                # h = hh + z (h_prev - hh)
    fn.tG, fn.tREC, fn.tHT, fn.txt = G, REC, HT, xt
    return HT


def gru_backward(fn, dH_last, dH_seq, w, u, need_x, need_w, need_u, need_b):
    G, REC, HT, xt = fn.tG, fn.tREC, fn.tHT, fn.txt
    T, n3, N = G.shape
    n = n3 // 3
    dt = HT.dtype
    xp = get_array_module(HT)
    dX = scratch("gru.dX", (n3, T, N), dt, xp)  # input-projection pre-activation gradients, (3n, T N) as a free reshape
    dR = scratch("gru.dR", (n3, T, N), dt, xp)  # recurrent-projection pre-activation gradients
    dh = xp.zeros((n, N), dt)
    if dH_last is not None:
        dh += dH_last.T
    drc = xp.empty((n3, N), dt)
    dah = xp.empty((n, N), dt)
    t1 = xp.empty((n, N), dt)
    uc = xp.ascontiguousarray(u)      # (n, 3n): dh_prev = U drc
    K = fn.tK
    dhz = xp.empty((n, N), dt)
    for t in range(T - 1 if K is not None else -1, -1, -1):  # compiled (ops/jit.py)
        if dH_seq is not None:
            dh += dH_seq[t].T
        K.gru_step_grad(G[t], REC[t][2 * n:], HT[t], dh, dR, dX, t, dhz)
        xp.matmul(uc, dR[:, t], out=t1)
        xp.add(dhz, t1, out=dh)                    # dh_prev = dh z + U drc
    GK = fn.__dict__.get("tGK")
    if GK is not None:  # the GPU: one kernel per step, then dh_prev = dh z + U drc
        mm = gpu.gemm_steps(uc, drc, dh, accumulate=True)
        for t in range(T - 1, -1, -1):
            if dH_seq is not None:
                dh += dH_seq[t].T
            GK.gru_step_grad(G[t], REC[t], HT[t], n * N, N, T, t, drc, dR, dX, dh)
            if mm is not None:
                mm()
            else:
                xp.matmul(uc, drc, out=t1)
                dh += t1
    for t in range(T - 1 if K is None and GK is None else -1, -1, -1):
        if dH_seq is not None:
            dh += dH_seq[t].T
        g = G[t]
        z, r, hh, rh, hp = g[:n], g[n:2 * n], g[2 * n:], REC[t][2 * n:], HT[t]
        xp.multiply(hh, hh, out=dah)
        xp.subtract(1, dah, out=dah)
        xp.subtract(1, z, out=t1)
        dah *= t1
        dah *= dh                                  # dah = dh (1 - z)(1 - hh^2)
        xp.subtract(hp, hh, out=t1)
        t1 *= dh
        xp.multiply(z, t1, out=drc[:n])
        xp.subtract(1, z, out=t1)
        drc[:n] *= t1                              # dz = dh (h_prev - hh) z (1 - z)
        xp.multiply(dah, rh, out=drc[n:2 * n])
        xp.subtract(1, r, out=t1)
        t1 *= r
        drc[n:2 * n] *= t1                         # dr = dah rh r (1 - r)
        xp.multiply(dah, r, out=drc[2 * n:])       # d(rh) = dah r
        dR[:, t] = drc
        dX[:2 * n, t] = drc[:2 * n]
        dX[2 * n:, t] = dah
        dh *= z
        xp.matmul(uc, drc, out=t1)
        dh += t1                                   # dh_prev = dh z + U drc
    dX2, dR2 = dX.reshape(n3, T * N), dR.reshape(n3, T * N)
    gx = gw = gu = gb = None
    if need_x:
        gx = (dX2.T @ w.T).reshape(T, N, -1)  # (T, N, D), C-contiguous (as the LSTM's)
    if need_w:
        gw = xt.reshape(T * N, -1).T @ dX2.T
    if need_u:
        gu = HT[:-1].transpose(1, 0, 2).reshape(n, T * N) @ dR2.T
    if need_b:
        ones = xp.ones(T * N, dt)
        gb = xp.stack([dX2 @ ones, dR2 @ ones])   # row sums as GEMVs (both cores)
    return gx, gw, gu, gb, dh.T


# ---------------------------------------------------------------- batch chains (ops/chains.py)
def _chained(fn, xt, one, args_of):
    """Run ``one(state, *args_of(lo, hi))`` for each batch chain of the time-major ``xt`` (or once over the
    whole batch: also for non-NumPy arrays); returns the per-chain results and keeps their states on ``fn``."""
    n_rows = xt.shape[1]
    parts = chains.plan(n_rows) if type(xt) is np.ndarray else None
    if parts is None:
        fn.tparts = None
        return [one(fn, *args_of(0, n_rows))]
    states = [SimpleNamespace() for _ in parts]
    fn.tparts = list(zip(parts, states))
    return chains.run([partial(one, st, *args_of(lo, hi)) for (lo, hi), st in fn.tparts])


def _cut(a, lo, hi, axis=0):
    return None if a is None else a[(slice(None),) * axis + (slice(lo, hi),)]


def _outputs(HTs, return_sequences):
    """(N, T, n) sequence or (N, n) last state, and the (N, n) last state, from the chains' (T+1, n, Nk)."""
    xp = get_array_module(HTs[0])
    last = xp.concatenate([HT[-1].T for HT in HTs], axis=0)
    if not return_sequences:
        return last, last.copy()
    return xp.concatenate([HT[1:].transpose(2, 0, 1) for HT in HTs], axis=0), last


def lstm_forward(fn, xt, w, u, b, h0, c0, return_sequences):
    """forward() over batch chains; returns (output, h_T, c_T) batch-major."""
    stacked = stacked_weights(w, u, b)  # once for all chains
    res = _chained(fn, xt, forward,
                   lambda lo, hi: (_cut(xt, lo, hi, 1), w, u, b, _cut(h0, lo, hi), _cut(c0, lo, hi), stacked))
    seq, h_last = _outputs([r[0] for r in res], return_sequences)
    return seq, h_last, np.concatenate([CT[-1].T for _, CT in res], axis=0)


def _chained_grad(fn, one, rows, rest):
    """``one(state, *rows, *rest)`` over the chains of ``fn``'s forward (or once over the whole batch), with each
    chain's slice of the batch-row arrays ``rows`` ((array or None, batch axis) pairs). Results as from ``one``:
    the weight gradients (entries 1-3) summed in chain order, gx (T, Nk, D) joined on axis 1, dh/dc on axis 0."""
    if fn.tparts is None:
        return one(fn, *(a for a, _ in rows), *rest)
    res = chains.run([partial(one, st, *(_cut(a, lo, hi, ax) for a, ax in rows), *rest)
                      for (lo, hi), st in fn.tparts])
    out = []
    for j, parts in enumerate(zip(*res)):
        if parts[0] is None:
            out.append(None)
        elif j in (1, 2, 3):
            out.append(chains.total(parts))
        else:
            out.append(np.concatenate(parts, axis=1 if j == 0 else 0))
    return tuple(out)


def lstm_backward(fn, dH_last, dH_seq, g_c, w, u, need_x, need_w, need_u, need_b):
    """backward() over the chains of lstm_forward; the same results."""
    return _chained_grad(fn, backward, ((dH_last, 0), (dH_seq, 1), (g_c, 0)),
                         (w, u, need_x, need_w, need_u, need_b))


def gru_run(fn, xt, w, u, b, h0, return_sequences):
    """gru_forward() over batch chains; returns (output, h_T) batch-major."""
    res = _chained(fn, xt, gru_forward,
                   lambda lo, hi: (_cut(xt, lo, hi, 1), w, u, b, _cut(h0, lo, hi)))
    return _outputs(res, return_sequences)


def gru_grad(fn, dH_last, dH_seq, w, u, need_x, need_w, need_u, need_b):
    """gru_backward() over the chains of gru_run; the same results."""
    return _chained_grad(fn, gru_backward, ((dH_last, 0), (dH_seq, 1)), (w, u, need_x, need_w, need_u, need_b))
