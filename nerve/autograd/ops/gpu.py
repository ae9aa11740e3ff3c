"""Fused CuPy kernels for the GPU (the counterpart of ops/jit.py): one launch instead of a chain of
elementwise CuPy calls, each of which costs a kernel launch and ~10 us of Python (PERFORMANCE.md).

    bias_relu   z = max(z + b, 0) (NaN stays NaN, as np.maximum), in place; b broadcast over rows
    relu_grad   d = g [out > 0]                          (g * (out > 0), the NumPy path's product)
    adam        m += (g - m)(1 - b1); v += (g g - v)(1 - b2); w -= m / (sqrt(v) + eps) alpha, in place,
                the float operations of optimizers/adam.py's NumPy path in the same order
    maxpool2    2x2 stride-2 max pooling of NHWC x: y and the window index of the maximum, chosen as ops/pool.py's
                tournament does (max of the top pair, of the bottom pair, then of both; ties keep the first)
    maxpool2_grad  dx[window arg] = dy, 0 at the other three (one thread per pooled element)
    col2im      dx_pad[n, y, x, c] = sum over the (i, j) windows that read it of dcols[n, p, q, i, j, c] (a gather:
                one thread per pixel, no atomics; the same (i, j) order as conv.col2im's adds)
    softmax_xent  per row: m = max x, e = exp(x - m), s = sum e, loss = log s - (x[label] - m), p = e / s; an
                out-of-range label gives loss NaN (the device cannot raise without waiting for the GPU)
    softmax_xent_grad  gx = p ge - [k = label] ge with ge = g / n (SoftmaxCrossEntropy.backward's operations)
    lstm_step / lstm_step_grad, gru_step / gru_step_grad   one recurrent time step's gate algebra (after its
                GEMM) in the feature-major layout of ops/lstm_t.py, forward and backward, with the operations of
                its NumPy path (one launch per step instead of ~10 forward and ~15 backward)

Beside the kernels: ``colsum`` (column sums as a cuBLAS GEMV) and ``gemm_steps`` (a recurrence's per-step GEMM as
one direct cuBLAS call, without cupy.matmul's dispatch).

Use: ``kernels(a)`` returns the namespace when ``a`` is a CuPy float32/float64 array and the kernels are on
(``NERVE_GPU_KERNELS=0`` or ``set_enabled(False)`` switches them off), else None: callers then take the
generic ``xp`` path, which gives the same results up to the compiler's fused multiply-adds.
"""
import os
import sys
import types

_state = {"enabled": os.environ.get("NERVE_GPU_KERNELS", "1") not in ("0", "false", "False", ""), "cp": None,
          "mod": None}


def set_enabled(flag):
    """Switch the fused GPU kernels on or off; returns the previous setting."""
    old = _state["enabled"]
    _state["enabled"] = bool(flag)
    return old


def kernels(a):
    """The kernel namespace for CuPy float arrays like ``a``, else None (NumPy arrays, kernels off, no CuPy)."""
    if not _state["enabled"] or type(a).__module__.split(".")[0] != "cupy" or a.dtype.char not in "fd":
        return None
    cp = sys.modules["cupy"]
    if _state["cp"] is not cp:  # built once per CuPy module
        try:
            _state["mod"] = _build(cp)
        except Exception:  # a CuPy without a compiler, or a stand-in that cannot compile (tests/fakecupy.py)
            _state["mod"] = None
        _state["cp"] = cp
    return _state["mod"]


_ONES = {}
_GEMM_OK = {}  # (shape key) -> whether the direct cuBLAS call matched cupy.matmul at its first use


def gemm_steps(a, b, c, accumulate=False):
    """A callable ``f(t)`` computing ``c[t] = a @ b[t]`` (``+=`` with ``accumulate``) for C-contiguous CuPy arrays
    a (M, K), b (T, K, N) or (K, N), c (T, M, N) or (M, N) (2-D operands ignore ``t``), through one direct cuBLAS
    gemm per call: ``cupy.matmul`` spends ~35 us of host time per call in its dispatch (measured on an H200's
    host), and a recurrence makes one per time step and direction. In column-major terms cuBLAS computes
    c[t]^T (N x M) = b[t]^T (N x K) a^T (K x M), each a row-major array read as it lies. The first use of each
    shape is checked against ``cupy.matmul``; None where the direct call is unavailable (no CuPy cuBLAS bindings,
    the CPU stand-in, kernels off) or did not match: callers then keep ``xp.matmul``."""
    cp = sys.modules.get("cupy")
    if not _state["enabled"] or cp is None or type(a) is not getattr(cp, "ndarray", None):
        return None
    try:
        from cupy_backends.cuda.libs import cublas
        handle = cp.cuda.device.get_cublas_handle()
        stream = cp.cuda.get_current_stream().ptr
    except Exception:  # noqa: BLE001 - another CuPy layout, a stand-in: the caller's matmul
        return None
    dt = a.dtype
    if dt.char not in "fd" or b.dtype != dt or c.dtype != dt or a.ndim != 2 or b.ndim not in (2, 3) \
            or c.ndim != b.ndim or not (a.flags.c_contiguous and b.flags.c_contiguous and c.flags.c_contiguous):
        return None
    (M, K), N = a.shape, b.shape[-1]
    if b.shape[-2] != K or c.shape[-2:] != (M, N) or (b.ndim == 3 and b.shape[0] > c.shape[0] + 1):
        return None
    key = (M, N, K, dt.char, accumulate)
    if key not in _GEMM_OK:
        _GEMM_OK[key] = _gemm_matches(cp, cublas, handle, stream, M, N, K, dt, accumulate)
    if not _GEMM_OK[key]:
        return None
    return _gemm_call(cublas, handle, stream, a, b, c, M, N, K, accumulate)


def _gemm_call(cublas, handle, stream, a, b, c, M, N, K, accumulate):
    import numpy as np
    dt = a.dtype
    gemm = cublas.sgemm if dt.char == "f" else cublas.dgemm
    scalars = np.array([1, 1 if accumulate else 0], dt)  # host alpha, beta (pointer mode host)
    alpha, beta = scalars.ctypes.data, scalars.ctypes.data + dt.itemsize
    pa, pb, pc = a.data.ptr, b.data.ptr, c.data.ptr
    sb = K * N * dt.itemsize if b.ndim == 3 else 0
    sc = M * N * dt.itemsize if c.ndim == 3 else 0
    host = cublas.CUBLAS_POINTER_MODE_HOST

    def f(t=0):
        cublas.setStream(handle, stream)
        cublas.setPointerMode(handle, host)
        gemm(handle, 0, 0, N, M, K, alpha, pb + t * sb, N, pa, K, beta, pc + t * sc, N)
    f.keep = (a, b, c, scalars)  # the pointers stay valid while f lives
    return f


def _gemm_matches(cp, cublas, handle, stream, M, N, K, dt, accumulate):
    """The direct call against cupy.matmul on random operands of this shape (once per shape and process)."""
    import numpy as np
    r = np.random.default_rng(0)  # not the model's Generator: the check must not move its stream
    a, b, c = (cp.asarray(r.standard_normal(s).astype(dt)) for s in ((M, K), (K, N), (M, N)))
    want = a @ b + (c if accumulate else 0)
    try:
        _gemm_call(cublas, handle, stream, a, b, c, M, N, K, accumulate)()
        tol = 1e-4 if dt.char == "f" else 1e-10
        return bool(cp.allclose(c, want, rtol=tol, atol=tol * (K ** 0.5)))
    except Exception:  # noqa: BLE001 - a cuBLAS error: the caller's matmul
        return False


def colsum(a):
    """a.sum(axis=0) of a tall (M, F) device array as a GEMV with a cached ones vector (cuBLAS): a reduction over
    the long axis with only F outputs leaves most of the GPU idle."""
    key = (a.shape[0], a.dtype.str, type(a))
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = sys.modules["cupy"].ones(a.shape[0], a.dtype)
    return ones @ a


def _build(cp):
    ek = cp.ElementwiseKernel
    return types.SimpleNamespace(
        bias_relu=ek("T b", "T z", "T v = z + b; z = v < (T)0 ? (T)0 : v", "nerve_bias_relu"),
        relu_grad=ek("T g, T out", "T d", "d = g * (T)(out > (T)0)", "nerve_relu_grad"),
        adam=ek("T g, T b1c, T b2c, T alpha, T eps", "T w, T m, T v",
                "T mm = m + (g - m) * b1c; T vv = v + (g * g - v) * b2c; m = mm; v = vv;"
                "w = w - mm / (sqrt(vv) + eps) * alpha", "nerve_adam"),
        maxpool2=ek("raw T x, int32 H, int32 W, int32 C, int32 OH, int32 OW", "T y, uint8 arg", """
            int c = i % C; long long t = i / C; int ow = t % OW; t /= OW; int oh = t % OH; long long n = t / OH;
            long long b = ((n * H + 2 * oh) * W + 2 * ow) * C + c;
            T v0 = x[b], v1 = x[b + C], v2 = x[b + (long long)W * C], v3 = x[b + (long long)W * C + C];
            bool f01 = v1 > v0, f23 = v3 > v2;
            T top = (v0 != v0) ? v0 : (v1 != v1) ? v1 : (f01 ? v1 : v0);   // np.maximum: NaN wins
            T bot = (v2 != v2) ? v2 : (v3 != v3) ? v3 : (f23 ? v3 : v2);
            bool fb = bot > top;
            y = (top != top) ? top : (bot != bot) ? bot : (fb ? bot : top);
            arg = fb ? (f23 ? 3 : 2) : (f01 ? 1 : 0);""", "nerve_maxpool2"),
        maxpool2_grad=ek("T g, uint8 arg, int32 H, int32 W, int32 C, int32 OH, int32 OW", "raw T gx", """
            int c = i % C; long long t = i / C; int ow = t % OW; t /= OW; int oh = t % OH; long long n = t / OH;
            long long b = ((n * H + 2 * oh) * W + 2 * ow) * C + c, r = (long long)W * C;
            gx[b] = arg == 0 ? g : (T)0; gx[b + C] = arg == 1 ? g : (T)0;
            gx[b + r] = arg == 2 ? g : (T)0; gx[b + r + C] = arg == 3 ? g : (T)0;""", "nerve_maxpool2_grad"),
        col2im=ek("raw T dcols, int32 PH, int32 PW, int32 C, int32 OH, int32 OW, int32 KH, int32 KW, int32 SH, "
                  "int32 SW, int32 DH, int32 DW", "T dx", """
            int c = i % C; long long t = i / C; int xw = t % PW; t /= PW; int yh = t % PH; long long n = t / PH;
            T s = 0;
            for (int a = 0; a < KH; a++) {
                int oy = yh - a * DH;
                if (oy < 0 || oy % SH != 0 || oy / SH >= OH) continue;
                oy /= SH;
                for (int b = 0; b < KW; b++) {
                    int ox = xw - b * DW;
                    if (ox < 0 || ox % SW != 0 || ox / SW >= OW) continue;
                    ox /= SW;
                    s += dcols[((((n * OH + oy) * OW + ox) * KH + a) * KW + b) * C + c];
                }
            }
            dx = s;""", "nerve_col2im"),
        softmax_xent=ek("raw T x, int64 label, int32 K", "T loss, raw T p", """
            long long r = (long long)i * K;
            T m = x[r];
            for (int k = 1; k < K; k++) { T v = x[r + k]; m = (v > m || v != v) && m == m ? v : m; }
            T s = 0;
            for (int k = 0; k < K; k++) { T e = exp(x[r + k] - m); p[r + k] = e; s += e; }
            for (int k = 0; k < K; k++) p[r + k] = p[r + k] / s;
            T nan = (T)__longlong_as_double(0x7ff8000000000000LL);
            loss = (label < 0 || label >= K) ? nan : log(s) - (x[r + label] - m);""", "nerve_softmax_xent"),
        softmax_xent_grad=ek("T p, raw int64 label, raw T g, T n, int32 K", "T gx", """
            T ge = g[0] / n;
            T v = p * ge;
            gx = (i % K == label[i / K]) ? v - ge : v;""", "nerve_softmax_xent_grad"),
        # LSTM, gates (i, f, o, g) as row blocks of z (4n, N); sigmoid rows pre-scaled by 1/2: s = tanh(z)/2 + 1/2
        lstm_step=ek("T cp, int64 nN", "raw T z, T c, T tc, T h", """
            T ig = tanh(z[i]) * (T)0.5 + (T)0.5, fg = tanh(z[i + nN]) * (T)0.5 + (T)0.5;
            T og = tanh(z[i + 2 * nN]) * (T)0.5 + (T)0.5, gg = tanh(z[i + 3 * nN]);
            z[i] = ig; z[i + nN] = fg; z[i + 2 * nN] = og; z[i + 3 * nN] = gg;
            T cc = fg * cp + ig * gg, t = tanh(cc);
            c = cc; tc = t; h = og * t;""", "nerve_lstm_step"),
        lstm_step_grad=ek("raw T z, T th, T cp, T dh, int64 nN, int64 N, int64 TT, int64 t",
                          "raw T dz, raw T dZ, T dc", """
            T ig = z[i], fg = z[i + nN], og = z[i + 2 * nN], gg = z[i + 3 * nN];
            T dct = ((T)1 - th * th) * og * dh + dc;
            T a = (dct * gg) * (((T)1 - ig) * ig), b = (dct * cp) * (((T)1 - fg) * fg);
            T o = (dh * th) * (((T)1 - og) * og), g = dct * (((T)1 - gg * gg) * ig);
            dz[i] = a; dz[i + nN] = b; dz[i + 2 * nN] = o; dz[i + 3 * nN] = g;
            long long s = TT * N, q = (i / N) * s + t * N + i % N, r = (nN / N) * s;
            dZ[q] = a; dZ[q + r] = b; dZ[q + 2 * r] = o; dZ[q + 3 * r] = g;
            dc = dct * fg;""", "nerve_lstm_step_grad"),
        # GRU (reset_after): x (3n, N) input projection (z, r, h rows) overwritten by the gates, rec (3n, N) = U h + b
        gru_step=ek("raw T rec, T hp, int64 nN", "raw T x, T h", """
            T zg = tanh((x[i] + rec[i]) * (T)0.5) * (T)0.5 + (T)0.5;
            T rg = tanh((x[i + nN] + rec[i + nN]) * (T)0.5) * (T)0.5 + (T)0.5;
            T hh = tanh(x[i + 2 * nN] + rg * rec[i + 2 * nN]);
            x[i] = zg; x[i + nN] = rg; x[i + 2 * nN] = hh;
            h = hh + zg * (hp - hh);""", "nerve_gru_step"),
        gru_step_grad=ek("raw T g, raw T rec, T hp, int64 nN, int64 N, int64 TT, int64 t",
                         "raw T drc, raw T dR, raw T dX, T dh", """
            T z = g[i], r = g[i + nN], hh = g[i + 2 * nN], rh = rec[i + 2 * nN], d = dh;
            T dah = (((T)1 - hh * hh) * ((T)1 - z)) * d;
            T dzz = (z * ((hp - hh) * d)) * ((T)1 - z);
            T drr = (dah * rh) * (((T)1 - r) * r);
            T dhh = dah * r;
            drc[i] = dzz; drc[i + nN] = drr; drc[i + 2 * nN] = dhh;
            long long s = TT * N, q = (i / N) * s + t * N + i % N, k = (nN / N) * s;
            dR[q] = dzz; dR[q + k] = drr; dR[q + 2 * k] = dhh;
            dX[q] = dzz; dX[q + k] = drr; dX[q + 2 * k] = dah;
            dh = d * z;""", "nerve_gru_step_grad"),
    )
