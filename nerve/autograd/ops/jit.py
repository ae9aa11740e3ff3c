"""Optional compiled kernels (numba, the ``fast`` extra) for the memory-bound passes of a training step.

Why: NumPy's elementwise passes run on one core, each makes a full trip through memory and each call
costs microseconds, while the GEMMs use every core (PERFORMANCE.md: ~60% of a NumPy CNN step; ~12 small
calls per LSTM step). These kernels fuse such passes; the large CNN ones split over the cores by batch
rows (``prange``). Each is the plain loop form of a NumPy expression that ops/conv.py, ops/pool.py,
ops/lstm_t.py and optimizers/adam.py keep as the reference path:

    bias_act        y = max(y + b, 0)  (or y + b)                    in place, y (M, F)
    act_grad_colsum gz = g * [out > 0] ; gb = sum_rows(gz)           gz (M, F), gb (F,)
    im2col          cols[n,p,q,i,j,c] = x[n, p*sh + i*dh, q*sw + j*dw, c]
    col2im          dx[n, p*sh + i*dh, q*sw + j*dw, c] += dcols[n,p,q,i,j,c]
    maxpool / maxpool_grad  non-overlapping kh x kw windows, gradient to the first maximum
    maxpool_grad_relu  maxpool_grad times [x > 0], and its column sums: when x is the output of a fused
                    conv + ReLU whose only consumer is this pooling, the convolution's ReLU mask and bias sum
                    come out of the pooling's backward pass (conv.py ``premasked``)
    adam            m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); w -= m / (sqrt(v) + eps) alpha, one pass over
                    flat float arrays, the same float operations in the same order as optimizers/adam.py; moments
                    below the smallest normal number are stored as 0 every step (the NumPy path: every 8th)
    softmax_xent_{shift,norm,grad}  sparse softmax cross-entropy by rows: z = x - max, the label's z; (NumPy's
                    vectorised exp between them); sum, log sum - z_label, p /= sum; gradient (p - onehot) g. The
                    row sums are sequential (NumPy's differ by an ulp)
    scatter_add_rows  out[idx[p]] += g[p], rows in order (Embedding's backward; NumPy path: sort + reduceat,
                    equal to rounding)
    lstm_step{32,64}, lstm_step_grad, gru_step{32,64}, gru_step_grad   one recurrent cell step forward / backward
                    (lstm_t.py); float32 uses the rational tanh of TensorFlow/XLA (a few ulp), float64 math.tanh
    lstm_{forward,backward}_loop{32,64}   a whole LSTM recurrence per call (GEMMs by np.dot: SciPy's BLAS)
    serial.*        the row-parallel kernels above compiled without prange, for batch chains (ops/chains.py)

Column sums are taken over a fixed number of row chunks and then added in chunk order, so the result
does not depend on the thread count (runs stay bit-reproducible).

Use: ``kernels()`` returns the compiled module namespace, or None when numba is missing, when
``NERVE_JIT=0`` or after ``set_enabled(False)``; callers then take the NumPy path. numba is imported on
first use only (``import nerve`` stays fast); compiled code is cached on disk by numba (``cache=True``).
"""
import os

_state = {"enabled": os.environ.get("NERVE_JIT", "1") not in ("0", "false", "False", ""), "mod": None,
          "failed": False}
CHUNKS = 16  # row chunks of the column sums (fixed: independent of the thread count)


def set_enabled(flag):
    """Switch the compiled kernels on or off (tests run both paths); returns the previous setting."""
    old = _state["enabled"]
    _state["enabled"] = bool(flag)
    return old


def enabled():
    return kernels() is not None


def kernels():
    mod = _state["mod"]
    if mod is not None and _state["enabled"]:  # the common case first: asked once per op call
        return mod
    if not _state["enabled"] or _state["failed"]:
        return None
    if _state["mod"] is None:
        try:
            _state["mod"] = _build()
        except ImportError:
            _state["failed"] = True
            return None
    return _state["mod"]


def _build():
    import math
    import types

    import numba
    import numpy as np
    from numba import njit, prange

    try:  # load SciPy's BLAS now (numba's np.dot calls it), so that ops/chains.py can limit its threads too
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass

    if "NUMBA_THREADING_LAYER" not in os.environ:
        # numba's own pthread pool: its idle workers sleep, while an OpenMP pool's spin and fight the BLAS
        # threads for the cores (measured: the CNN step took 68 ms with the OpenMP layer, 24 ms with this)
        numba.config.THREADING_LAYER = "workqueue"

    # error_model="numpy": no ZeroDivisionError branch per division (that branch stops vectorisation)
    opts = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy")

    def make_row_kernels(rng, parallel):
        """The row-parallel kernels; ``rng`` is prange (parallel) or range (serial: inside a batch chain, see
        ops/chains.py, where numba's workqueue pool must not be entered from two threads). ``rng`` is a
        closure variable, so numba's on-disk cache keeps the two variants apart."""
        o = dict(opts, parallel=parallel)

        @njit(**o)
        def bias_act(y, b, relu):
            m, f = y.shape
            for r in rng(m):
                for k in range(f):
                    v = y[r, k] + b[k]
                    if relu and v < 0:  # NaN stays NaN as in np.maximum
                        v = 0
                    y[r, k] = v

        @njit(**o)
        def act_grad_colsum(g, out, relu, gz, parts):
            m, f = g.shape
            nch = parts.shape[0]
            for c in rng(nch):
                lo, hi = c * m // nch, (c + 1) * m // nch
                acc = parts[c]
                for k in range(f):
                    acc[k] = 0
                for r in range(lo, hi):
                    for k in range(f):
                        v = g[r, k]
                        if relu and not out[r, k] > 0:
                            v = v * 0
                        gz[r, k] = v
                        acc[k] += v

        @njit(**o)
        def im2col(x, kh, kw, sh, sw, dh, dw, oh, ow, cols):
            n, _, _, c = x.shape
            for b in rng(n):
                for p in range(oh):
                    for q in range(ow):
                        for i in range(kh):
                            r = p * sh + i * dh
                            for j in range(kw):
                                s = q * sw + j * dw
                                for ch in range(c):
                                    cols[b, p, q, i, j, ch] = x[b, r, s, ch]

        @njit(**o)
        def col2im(dcols, kh, kw, sh, sw, dh, dw, oh, ow, dx):
            n = dx.shape[0]
            c = dx.shape[3]
            for b in rng(n):
                for p in range(oh):
                    for q in range(ow):
                        for i in range(kh):
                            r = p * sh + i * dh
                            for j in range(kw):
                                s = q * sw + j * dw
                                for ch in range(c):
                                    dx[b, r, s, ch] += dcols[b, p, q, i, j, ch]

        @njit(**o)
        def maxpool(x, kh, kw, out, arg):
            n, oh, ow, c = out.shape
            for b in rng(n):
                for p in range(oh):
                    for q in range(ow):
                        for ch in range(c):
                            out[b, p, q, ch] = x[b, p * kh, q * kw, ch]
                            arg[b, p, q, ch] = 0
                        for i in range(kh):
                            for j in range(kw):
                                if i == 0 and j == 0:
                                    continue
                                k = i * kw + j
                                for ch in range(c):
                                    v = x[b, p * kh + i, q * kw + j, ch]
                                    best = out[b, p, q, ch]
                                    if v > best or (v != v and best == best):  # first max; NaN wins (propagates)
                                        out[b, p, q, ch] = v
                                        arg[b, p, q, ch] = k

        @njit(**o)
        def maxpool_grad(g, arg, kh, kw, gx):
            n, oh, ow, c = g.shape
            for b in rng(n):
                for p in range(oh):
                    for q in range(ow):
                        for i in range(kh):
                            for j in range(kw):
                                k = i * kw + j
                                for ch in range(c):
                                    gx[b, p * kh + i, q * kw + j, ch] = g[b, p, q, ch] if arg[b, p, q, ch] == k else 0

        @njit(**o)
        def maxpool_grad_relu(g, arg, x, kh, kw, gx, parts):
            n, oh, ow, c = g.shape
            nch = parts.shape[0]
            for ci in rng(nch):
                acc = parts[ci]
                acc[:] = 0
                for b in range(ci * n // nch, (ci + 1) * n // nch):
                    for p in range(oh):
                        for q in range(ow):
                            for i in range(kh):
                                for j in range(kw):
                                    k = i * kw + j
                                    for ch in range(c):
                                        v = g[b, p, q, ch]
                                        if arg[b, p, q, ch] != k or not x[b, p * kh + i, q * kw + j, ch] > 0:
                                            v = v * 0
                                        gx[b, p * kh + i, q * kw + j, ch] = v
                                        acc[ch] += v

        return types.SimpleNamespace(bias_act=bias_act, act_grad_colsum=act_grad_colsum, im2col=im2col, col2im=col2im, maxpool=maxpool, maxpool_grad=maxpool_grad, maxpool_grad_relu=maxpool_grad_relu)

    rows = make_row_kernels(prange, True)
    rows_serial = make_row_kernels(range, False)

    seq = dict(parallel=False, cache=True, nogil=True, error_model="numpy")  # serial kernels (see below)

    @njit(**seq)
    def adam(w, g, m, v, c1, c2, alpha, eps, tiny):
        # serial: one pass is memory-bound, and a second thread only met OpenBLAS's spinning worker (measured)
        # Moments below ``tiny`` (the dtype's smallest normal number) are stored as 0: the moment of a weight
        # whose gradient stays 0 decays by beta_1 per step into subnormal numbers, which x86 computes ~100x
        # slower (an MLP step went 1.45 -> 2.2 ms by its fourth epoch); the update they carry is < 1e-30.
        for k in range(w.size):
            gk = g[k]
            mk = m[k] + (gk - m[k]) * c1
            vk = v[k] + (gk * gk - v[k]) * c2
            mk *= np.float32(abs(mk) >= tiny)  # a multiply by 0/1 vectorises; an if/else select did not (2.7x)
            vk *= np.float32(vk >= tiny)
            m[k] = mk
            v[k] = vk
            w[k] -= mk / (np.sqrt(vk) + eps) * alpha

    @njit(**seq)
    def softmax_xent_shift(x, labels, z, picked):
        # per row r: z[r] = x[r] - max_k x[r, k]; picked[r] = z[r, label]  (then NumPy: p = exp(z), vectorised)
        n, c = x.shape
        for r in range(n):
            lab = labels[r]
            if lab < 0 or lab >= c:
                raise IndexError("softmax_xent: label out of range")
            m = x[r, 0]
            for k in range(1, c):
                v = x[r, k]
                if v > m or v != v:  # NaN propagates, as in np.max
                    m = v
            for k in range(c):
                z[r, k] = x[r, k] - m
            picked[r] = z[r, lab]

    @njit(**seq)
    def softmax_xent_norm(p, picked, loss):
        # per row r: s = sum_k p[r, k]; loss[r] = log s - picked[r]; p[r] /= s  (the softmax, kept for backward)
        n, c = p.shape
        for r in range(n):
            s = p[r, 0]
            for k in range(1, c):
                s += p[r, k]
            loss[r] = np.log(s) - picked[r]
            for k in range(c):
                p[r, k] = p[r, k] / s

    @njit(**seq)
    def softmax_xent_grad(p, labels, g, gx):
        # gx = (p - onehot(label)) g, written as the NumPy path computes it: p g, then + (-g) at the label
        n, c = p.shape
        for r in range(n):
            gr = g[r]
            for k in range(c):
                gx[r, k] = p[r, k] * gr
            gx[r, labels[r]] += -gr

    @njit(**seq)
    def scatter_add_rows(out, idx, g):
        # out[idx[p]] += g[p] for p in order: repeated indices sum in order of occurrence (Embedding backward)
        v = out.shape[0]
        for p in range(idx.shape[0]):
            k = idx[p]
            if k < 0:  # NumPy's indexing from the end, as the forward gather read it
                k += v
            if k < 0 or k >= v:
                raise IndexError("scatter_add_rows: index out of range")
            for j in range(g.shape[1]):
                out[k, j] += g[p, j]

    @njit(inline="always", fastmath=True, **seq)
    def tanh32(x):
        """float32 tanh: the rational approximation TensorFlow/XLA/Eigen use (|error| <= 3e-7, a few ulp;
        it vectorises, math.tanh does not)."""
        x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
        x2 = x * x
        p = np.float32(-2.76076847742355e-16)
        p = p * x2 + np.float32(2.00018790482477e-13)
        p = p * x2 + np.float32(-8.60467152213735e-11)
        p = p * x2 + np.float32(5.12229709037114e-08)
        p = p * x2 + np.float32(1.48572235717979e-05)
        p = p * x2 + np.float32(6.37261928875436e-04)
        p = p * x2 + np.float32(4.89352455891786e-03)
        q = np.float32(1.19825839466702e-06)
        q = q * x2 + np.float32(1.18534705686654e-04)
        q = q * x2 + np.float32(2.26843463243900e-03)
        q = q * x2 + np.float32(4.89352518554385e-03)
        return p * x / q

    @njit(inline="always", fastmath=True, **seq)
    def tanh64(x):
        return math.tanh(x)

    def make_lstm_step(th, half):
        # gate-major passes over flat contiguous blocks (few arrays per loop, so that LLVM vectorises them;
        # fastmath: min/max without NaN branches in the float32 tanh; elementwise only, no reductions)
        seq = dict(parallel=False, cache=True, nogil=True, error_model="numpy", fastmath=True)
        # row loops from 0 over contiguous rows: LLVM vectorises them (a loop starting at a run-time offset ran
        # 3x slower, and a single loop reading many arrays with offsets did not vectorise at all)
        @njit(**seq)
        def act(a, alpha, beta):  # a = alpha + beta tanh(a)
            for r in range(a.shape[0]):
                ar = a[r]
                for j in range(ar.size):
                    ar[j] = alpha + beta * th(ar[j])

        @njit(**seq)
        def cell(i, f, g, c_prev, c):  # c = f c_prev + i g
            for r in range(c.shape[0]):
                ir, fr, gr, pr, cr = i[r], f[r], g[r], c_prev[r], c[r]
                for j in range(cr.size):
                    cr[j] = fr[j] * pr[j] + ir[j] * gr[j]

        @njit(**seq)
        def out(o, c, tc, h):  # tc = tanh(c), h = o tc
            for r in range(c.shape[0]):
                orow, cr, tr, hr = o[r], c[r], tc[r], h[r]
                for j in range(cr.size):
                    t = th(cr[j])
                    tr[j] = t
                    hr[j] = orow[j] * t

        @njit(**seq)
        def lstm_step(z, c_prev, c, tc, h):
            """(4n, N) gates z = (i, f, o, g) pre-activations (sigmoid rows pre-scaled by 1/2), in place ->
            activations; c = f c_prev + i g; tc = tanh(c); h = o tc ((n, N) each)."""
            n = c.shape[0]
            act(z[:3 * n], half, half)
            act(z[3 * n:], half - half, half + half)
            cell(z[:n], z[n:2 * n], z[3 * n:], c_prev, c)
            out(z[2 * n:3 * n], c, tc, h)

        @njit(**seq)
        def gru_step(x, rec, hp, h):
            """x = (xz, xr, xh) input projections (flat 3m), rec = (rz, rr, rh) with its bias; in place:
            x becomes (z, r, hh); h = hh + z (h_prev - hh)."""
            m = h.size
            zr, rzr = x[:2 * m], rec[:2 * m]
            for j in range(zr.size):
                zr[j] = half + half * th(half * (zr[j] + rzr[j]))
            xh, r, rh = x[2 * m:], x[m:2 * m], rec[2 * m:]
            for j in range(m):
                xh[j] = th(xh[j] + r[j] * rh[j])
            z = x[:m]
            for j in range(m):
                h[j] = xh[j] + z[j] * (hp[j] - xh[j])
        return lstm_step, gru_step

    (lstm_step32, gru_step32), (lstm_step64, gru_step64) = make_lstm_step(tanh32, np.float32(0.5)), \
        make_lstm_step(tanh64, 0.5)

    @njit(**seq)
    def gru_step_grad(g, rh, hp, dh, dR, dX, t, dhz):
        """(n, N) blocks at step t: dah = dh (1-z)(1-hh^2); drc = (dh (h_prev - hh) z(1-z), dah rh r(1-r),
        dah r) into dR[:, t] and (drc[:2n], dah) into dX[:, t]; dhz = dh z."""
        n, nb = dh.shape
        for r_ in range(n):
            for k in range(nb):
                z, r, hh, d = g[r_, k], g[n + r_, k], g[2 * n + r_, k], dh[r_, k]
                a = d * (1 - z) * (1 - hh * hh)
                dz = d * (hp[r_, k] - hh) * z * (1 - z)
                dr = a * rh[r_, k] * r * (1 - r)
                dR[r_, t, k] = dz
                dR[n + r_, t, k] = dr
                dR[2 * n + r_, t, k] = a * r
                dX[r_, t, k] = dz
                dX[n + r_, t, k] = dr
                dX[2 * n + r_, t, k] = a
                dhz[r_, k] = d * z

    @njit(**seq)
    def lstm_step_grad(z, th, c_prev, dh, dc, dZ, t):
        """dc_t, and dz_t = (di, df, do, dg) pre-activation into dZ[:, t]; dc becomes dc_{t-1}. (Writing a
        contiguous copy of dz_t in the same loop, 8 output streams, stopped LLVM from vectorising it: +8% per
        LSTM step; the loop below copies it in a pass of its own.)"""
        n, nb = dh.shape
        for r in range(n):
            for k in range(nb):
                i, f, o, g = z[r, k], z[n + r, k], z[2 * n + r, k], z[3 * n + r, k]
                tt = th[r, k]
                hh = dh[r, k]
                d = dc[r, k] + hh * o * (1 - tt * tt)
                dZ[r, t, k] = d * g * i * (1 - i)
                dZ[n + r, t, k] = d * c_prev[r, k] * f * (1 - f)
                dZ[2 * n + r, t, k] = hh * tt * o * (1 - o)
                dZ[3 * n + r, t, k] = d * i * (1 - g * g)
                dc[r, k] = d * f

    @njit(**seq)
    def copy_step(dZ, t, dz):
        """dz = dZ[:, t] (contiguous: numba's np.dot needs it), one row at a time."""
        for r in range(dz.shape[0]):
            src, dst = dZ[r, t], dz[r]
            for k in range(dst.size):
                dst[k] = src[k]

    def make_lstm_loops(lstm_step):
        """Whole forward / backward recurrences in one call (no GIL and no Python per step: with batch chains,
        two threads handing the GIL back and forth ~110 times per step cost ~10% of the LSTM step). The GEMMs
        are np.dot, which numba runs through SciPy's BLAS; without SciPy these fail to compile and lstm_t.py
        keeps its Python loop."""
        @njit(**seq)
        def lstm_forward_loop(uw, HX, G, CT, TC):
            n = CT.shape[1]
            for t in range(G.shape[0]):
                np.dot(uw, HX[t], G[t])
                lstm_step(G[t], CT[t], CT[t + 1], TC[t], HX[t + 1][:n])

        @njit(**seq)
        def lstm_backward_loop(G, TC, CT, uq, dh, dc, dZ, dz, dHs, has_seq):
            for t in range(G.shape[0] - 1, -1, -1):
                if has_seq:
                    dh += dHs[t]
                lstm_step_grad(G[t], TC[t], CT[t], dh, dc, dZ, t)
                copy_step(dZ, t, dz)
                np.dot(uq, dz, dh)
        return lstm_forward_loop, lstm_backward_loop

    (lstm_forward_loop32, lstm_backward_loop32), (lstm_forward_loop64, lstm_backward_loop64) = \
        make_lstm_loops(lstm_step32), make_lstm_loops(lstm_step64)

    from .malloc import keep_freed_memory
    keep_freed_memory()
    ns = types.SimpleNamespace(
        **vars(rows), serial=rows_serial, adam=adam, softmax_xent_shift=softmax_xent_shift,
        softmax_xent_norm=softmax_xent_norm, softmax_xent_grad=softmax_xent_grad,
        scatter_add_rows=scatter_add_rows, lstm_step32=lstm_step32,
        lstm_step64=lstm_step64, lstm_step_grad=lstm_step_grad, lstm_forward_loop32=lstm_forward_loop32,
        lstm_backward_loop32=lstm_backward_loop32, lstm_forward_loop64=lstm_forward_loop64,
        lstm_backward_loop64=lstm_backward_loop64, gru_step32=gru_step32, gru_step64=gru_step64,
        gru_step_grad=gru_step_grad, numba=numba)
    return ns
