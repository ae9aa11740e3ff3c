"""Whole-sequence recurrent kernels: SimpleRNN, LSTM (Keras gate order i, f, c, o), GRU (reset_after=True).

The input projection for all timesteps is one GEMM (x W + b hoisted out of the loop); the loop does
one h U GEMM per step; backprop through time (seed-002 §1.20-1.21) stores the pre-activation
gradients dZ of every step and finishes with one GEMM each for dW (X^T dZ), dU (H_prev^T dZ) and dx (dZ W^T).
Arrays are time-major inside: (T, N, .). A mask (N, T) keeps the state where it is False (Keras semantics).

Speed trick (LSTM/GRU): sigma(z) = 0.5 + 0.5 tanh(z / 2), so the sigmoid columns of W, U, b are scaled
by 1/2 once per call and every step needs a single tanh over all gate columns.
"""
from ...backend import get_array_module
from ..function import Function
from . import lstm_t


def _time_major(x, go_backwards):
    xp = get_array_module(x)
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    return xp.ascontiguousarray(xt)


def _mask_tm(mask, go_backwards, dtype):
    if mask is None:
        return None
    xp = get_array_module(mask)
    m = xp.asarray(mask, bool).T
    if go_backwards:
        m = m[::-1]
    return xp.ascontiguousarray(m)[..., None].astype(dtype)  # (T, N, 1)


def _outputs(hs, return_sequences, zero_masked, m):
    xp = get_array_module(hs)
    if return_sequences:
        seq = hs[1:]
        if zero_masked and m is not None:
            seq = seq * m
        return xp.ascontiguousarray(seq.transpose(1, 0, 2))
    return hs[-1].copy()


class _RNNBase(Function):
    def _setup(self, x, w, u, b, mask, return_sequences, go_backwards, zero_masked):
        """Time-major input and mask, call options and weights saved for backward; returns (xt, m)."""
        self.xt = xt = _time_major(x, go_backwards)
        self.m = m = _mask_tm(mask, go_backwards, x.dtype)
        self.return_sequences, self.go_backwards, self.zero_masked = return_sequences, go_backwards, zero_masked
        self.w, self.u, self.has_b, self.fast = w, u, b is not None, m is None
        return xt, m

    def _seq_grad(self, g_out, g_h, T, N, u, dtype):
        """Per-step gradient w.r.t. h_t from the outputs (sequence or last) and the returned final state."""
        xp = get_array_module(self.w)
        dH = xp.zeros((T, N, u), dtype)
        if g_out is not None:
            if self.return_sequences:
                gs = g_out.transpose(1, 0, 2)
                if self.zero_masked and self.m is not None:
                    gs = gs * self.m
                dH += gs
            else:
                dH[-1] += g_out
        if g_h is not None:
            dH[-1] += g_h
        return dH

    def _finish(self, dZ, W, hs, N, T):
        """dx = dZ W^T, dW = X^T dZ, dU = H_prev^T dZ, db = sum dZ (one GEMM each)."""
        xp = get_array_module(dZ)
        k = dZ.shape[-1]
        dZ2 = dZ.reshape(T * N, k)
        gx = gw = None
        if self.needs[0]:
            gx = (dZ2 @ W.T).reshape(T, N, -1)
            if self.go_backwards:
                gx = gx[::-1]
            gx = xp.ascontiguousarray(gx.transpose(1, 0, 2))
        if self.needs[1]:
            gw = self.xt.reshape(T * N, -1).T @ dZ2
        return gx, gw, dZ2


class SimpleRNNFn(_RNNBase):
    """h_t = tanh(x_t W + h_{t-1} U + b)."""
    name = "simple_rnn"

    def forward(self, x, w, u, b, h0, mask=None, return_sequences=False, go_backwards=False, zero_masked=False):
        xp = get_array_module(x)
        N, T, _ = x.shape
        n = u.shape[0]
        xt, m = self._setup(x, w, u, b, mask, return_sequences, go_backwards, zero_masked)
        xw = (xt.reshape(T * N, -1) @ w).reshape(T, N, n)
        if b is not None:
            xw += b
        hs = xp.empty((T + 1, N, n), x.dtype)
        hs[0] = 0 if h0 is None else h0
        for t in range(T):
            z = xw[t]
            z += hs[t] @ u
            xp.tanh(z, out=hs[t + 1])
            if m is not None:  # masked step: keep the previous state
                hs[t + 1] = hs[t] + m[t] * (hs[t + 1] - hs[t])
        self.hs = hs
        return _outputs(hs, return_sequences, zero_masked, m), hs[-1].copy()

    def backward(self, g_out, g_h):
        xp = get_array_module(self.w)
        hs, u, m = self.hs, self.u, self.m
        T, N, n = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dH = self._seq_grad(g_out, g_h, T, N, n, hs.dtype)
        dZ = xp.empty((T, N, n), hs.dtype)
        dh = xp.zeros((N, n), hs.dtype)
        for t in range(T - 1, -1, -1):
            dh += dH[t]
            h = hs[t + 1]
            dz = dZ[t]
            xp.multiply(dh, 1 - h * h, out=dz)  # BPTT: dz = dh (1 - h^2)
            if m is not None:
                dz *= m[t]
                dh = dh * (1 - m[t]) + dz @ u.T
            else:
                dh = dz @ u.T  # dh_prev = dz U^T
        gx, gw, dZ2 = self._finish(dZ, self.w, hs, N, T)
        gu = hs[:-1].reshape(T * N, n).T @ dZ2 if self.needs[2] else None
        gb = dZ2.sum(axis=0) if self.has_b and self.needs[3] else None
        gh0 = dh if len(self.needs) > 4 and self.needs[4] else None
        return gx, gw, gu, gb, gh0


class LSTMFn(_RNNBase):
    """Keras LSTM: z = x W + h U + b split as (i, f, c, o); c_t = f c_{t-1} + i tanh(z_c); h_t = o tanh(c_t)."""
    name = "lstm"

    def forward(self, x, w, u, b, h0, c0, mask=None, return_sequences=False, go_backwards=False, zero_masked=False):
        xp = get_array_module(x)
        N, T, _ = x.shape
        n = u.shape[0]
        dt = x.dtype
        xt, m = self._setup(x, w, u, b, mask, return_sequences, go_backwards, zero_masked)
        if m is None:  # fast path: feature-major layout, contiguous gate blocks (lstm_t.py)
            return lstm_t.lstm_forward(self, xt, w, u, b, h0, c0, return_sequences)
        scale = xp.full(4 * n, 0.5, dt)
        scale[2 * n:3 * n] = 1.0  # sigmoid columns use tanh(z/2); the cell-candidate column uses tanh(z)
        xw = (xt.reshape(T * N, -1) @ (w * scale)).reshape(T, N, 4 * n)
        if b is not None:
            xw += b * scale
        us = u * scale
        G = xw  # reused in place: after step t, G[t] holds the activated gates i, f, g, o
        hs = xp.empty((T + 1, N, n), dt)
        cs = xp.empty((T + 1, N, n), dt)
        tc = xp.empty((T, N, n), dt)
        hs[0] = 0 if h0 is None else h0
        cs[0] = 0 if c0 is None else c0
        for t in range(T):
            z = G[t]
            z += hs[t] @ us
            xp.tanh(z, out=z)
            zi, zf, zg, zo = z[:, :n], z[:, n:2 * n], z[:, 2 * n:3 * n], z[:, 3 * n:]
            z[:, :2 * n] *= 0.5
            z[:, :2 * n] += 0.5
            zo *= 0.5
            zo += 0.5
            c = cs[t + 1]
            xp.multiply(zf, cs[t], out=c)
            c += zi * zg
            xp.tanh(c, out=tc[t])
            xp.multiply(zo, tc[t], out=hs[t + 1])
            if m is not None:
                mt = m[t]
                hs[t + 1] = hs[t] + mt * (hs[t + 1] - hs[t])
                cs[t + 1] = cs[t] + mt * (c - cs[t])
        self.G, self.hs, self.cs, self.tc = G, hs, cs, tc
        return _outputs(hs, return_sequences, zero_masked, m), hs[-1].copy(), cs[-1].copy()

    def backward(self, g_out, g_h, g_c):
        xp = get_array_module(self.w)
        if self.fast:
            return self._backward_fast(g_out, g_h, g_c)
        G, hs, cs, tc, u, m = self.G, self.hs, self.cs, self.tc, self.u, self.m
        T, N, n = tc.shape
        dt = hs.dtype
        dH = self._seq_grad(g_out, g_h, T, N, n, dt)
        dZ = xp.empty((T, N, 4 * n), dt)
        dh = xp.zeros((N, n), dt)
        dc = xp.zeros((N, n), dt) if g_c is None else g_c.astype(dt, copy=True)
        uT = u.T
        for t in range(T - 1, -1, -1):
            dh += dH[t]
            g = G[t]
            i, f, gg, o = g[:, :n], g[:, n:2 * n], g[:, 2 * n:3 * n], g[:, 3 * n:]
            th = tc[t]
            dz = dZ[t]
            if m is not None:
                mt = m[t]
                dh_keep, dc_keep = dh * (1 - mt), dc * (1 - mt)
                dh = dh * mt
                dc_in = dc * mt
            else:
                dc_in = dc
            # dc_t = dc_{t+1} f_{t+1} + dh o (1 - tanh(c)^2)
            dct = dc_in + dh * o * (1 - th * th)
            xp.multiply(dh, th, out=dz[:, 3 * n:])                 # do = dh tanh(c)
            dz[:, 3 * n:] *= o * (1 - o)                           # through sigma'
            xp.multiply(dct, gg, out=dz[:, :n])                    # di = dc g
            dz[:, :n] *= i * (1 - i)
            xp.multiply(dct, cs[t], out=dz[:, n:2 * n])            # df = dc c_{t-1}
            dz[:, n:2 * n] *= f * (1 - f)
            xp.multiply(dct, i, out=dz[:, 2 * n:3 * n])            # dg = dc i
            dz[:, 2 * n:3 * n] *= 1 - gg * gg                      # through tanh'
            dc = dct * f
            dh = dz @ uT
            if m is not None:
                dh += dh_keep
                dc += dc_keep
        gx, gw, dZ2 = self._finish(dZ, self.w, hs, N, T)
        gu = hs[:-1].reshape(T * N, n).T @ dZ2 if self.needs[2] else None
        gb = dZ2.sum(axis=0) if self.has_b and self.needs[3] else None
        gh0 = dh if len(self.needs) > 4 and self.needs[4] else None
        gc0 = dc if len(self.needs) > 5 and self.needs[5] else None
        return gx, gw, gu, gb, gh0, gc0


    def _backward_fast(self, g_out, g_h, g_c):
        xp = get_array_module(self.w)
        needs = self.needs
        seq = g_out.transpose(1, 0, 2) if (g_out is not None and self.return_sequences) else None
        last = g_out if (g_out is not None and not self.return_sequences) else None
        if g_h is not None:
            last = g_h if last is None else last + g_h
        gx, gw, gu, gb, gh0, gc0 = lstm_t.lstm_backward(self, last, seq, g_c, self.w, self.u, needs[0], needs[1],
                                                   needs[2], self.has_b and needs[3])
        if gx is not None:
            if self.go_backwards:
                gx = gx[::-1]
            gx = xp.ascontiguousarray(gx.transpose(1, 0, 2))
        gh0 = gh0 if len(needs) > 4 and needs[4] else None
        gc0 = gc0 if len(needs) > 5 and needs[5] else None
        return gx, gw, gu, gb, gh0, gc0


class GRUFn(_RNNBase):
    """Keras GRU, reset_after=True: x W + b_in = (xz, xr, xh); h U + b_rec = (rz, rr, rh);
    z = sigma(xz + rz), r = sigma(xr + rr), hh = tanh(xh + r rh), h_t = z h_{t-1} + (1 - z) hh."""
    name = "gru"

    def forward(self, x, w, u, b, h0, mask=None, return_sequences=False, go_backwards=False, zero_masked=False):
        xp = get_array_module(x)
        N, T, _ = x.shape
        n = u.shape[0]
        dt = x.dtype
        xt, m = self._setup(x, w, u, b, mask, return_sequences, go_backwards, zero_masked)
        if m is None:  # fast path: feature-major layout, contiguous gate blocks (lstm_t.py)
            return lstm_t.gru_run(self, xt, w, u, b, h0, return_sequences)
        b_in, b_rec = (None, None) if b is None else (b[0], b[1])
        xw = (xt.reshape(T * N, -1) @ w).reshape(T, N, 3 * n)
        if b_in is not None:
            xw += b_in
        hs = xp.empty((T + 1, N, n), dt)
        hs[0] = 0 if h0 is None else h0
        Z = xp.empty((T, N, n), dt)
        R = xp.empty((T, N, n), dt)
        HH = xp.empty((T, N, n), dt)
        RH = xp.empty((T, N, n), dt)
        for t in range(T):
            rec = hs[t] @ u
            if b_rec is not None:
                rec += b_rec
            x_t = xw[t]
            zr = x_t[:, :2 * n] + rec[:, :2 * n]
            zr *= 0.5
            xp.tanh(zr, out=zr)
            zr *= 0.5
            zr += 0.5  # sigma via tanh
            Z[t], R[t] = zr[:, :n], zr[:, n:]
            RH[t] = rec[:, 2 * n:]
            hh = HH[t]
            xp.multiply(R[t], RH[t], out=hh)
            hh += x_t[:, 2 * n:]
            xp.tanh(hh, out=hh)
            h = hs[t + 1]
            xp.subtract(hs[t], hh, out=h)
            h *= Z[t]
            h += hh  # h = z h_prev + (1 - z) hh = hh + z (h_prev - hh)
            if m is not None:
                hs[t + 1] = hs[t] + m[t] * (h - hs[t])
        self.hs, self.Z, self.R, self.HH, self.RH = hs, Z, R, HH, RH
        return _outputs(hs, return_sequences, zero_masked, m), hs[-1].copy()

    def backward(self, g_out, g_h):
        xp = get_array_module(self.w)
        if self.fast:
            needs = self.needs
            seq = g_out.transpose(1, 0, 2) if (g_out is not None and self.return_sequences) else None
            last = g_out if (g_out is not None and not self.return_sequences) else None
            if g_h is not None:
                last = g_h if last is None else last + g_h
            gx, gw, gu, gb, gh0 = lstm_t.gru_grad(self, last, seq, self.w, self.u, needs[0], needs[1], needs[2],
                                                      self.has_b and needs[3])
            if gx is not None:
                gx = xp.ascontiguousarray((gx[::-1] if self.go_backwards else gx).transpose(1, 0, 2))
            return gx, gw, gu, gb, gh0 if len(needs) > 4 and needs[4] else None
        hs, Z, R, HH, RH, u, m = self.hs, self.Z, self.R, self.HH, self.RH, self.u, self.m
        T, N, n = Z.shape
        dt = hs.dtype
        dH = self._seq_grad(g_out, g_h, T, N, n, dt)
        dX = xp.empty((T, N, 3 * n), dt)   # gradients of the input-projection pre-activations
        dRec = xp.empty((T, N, 3 * n), dt)  # gradients of the recurrent-projection pre-activations
        dh = xp.zeros((N, n), dt)
        uT = u.T
        for t in range(T - 1, -1, -1):
            dh += dH[t]
            if m is not None:
                dh_keep = dh * (1 - m[t])
                dh = dh * m[t]
            z, r, hh, rh, hp = Z[t], R[t], HH[t], RH[t], hs[t]
            dhh = dh * (1 - z)
            dah = dhh * (1 - hh * hh)                    # through tanh
            dzp = dh * (hp - hh) * z * (1 - z)           # dz through sigma
            drp = dah * rh * r * (1 - r)                 # dr through sigma
            dx, drc = dX[t], dRec[t]
            dx[:, :n] = dzp
            dx[:, n:2 * n] = drp
            dx[:, 2 * n:] = dah
            drc[:, :n] = dzp
            drc[:, n:2 * n] = drp
            xp.multiply(dah, r, out=drc[:, 2 * n:])      # d(rh) = dah r
            dh = dh * z + drc @ uT
            if m is not None:
                dh += dh_keep
        gx, gw, dX2 = self._finish(dX, self.w, hs, N, T)
        dRec2 = dRec.reshape(T * N, 3 * n)
        gu = hs[:-1].reshape(T * N, n).T @ dRec2 if self.needs[2] else None
        gb = xp.stack([dX2.sum(axis=0), dRec2.sum(axis=0)]) if self.has_b and self.needs[3] else None
        gh0 = dh if len(self.needs) > 4 and self.needs[4] else None
        return gx, gw, gu, gb, gh0
