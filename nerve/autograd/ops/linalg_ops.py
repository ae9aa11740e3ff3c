"""``keras.ops.linalg`` (and ``keras.ops``'s logdet / slogdet): decompositions, solves, inverses and norms with
Keras 3 names, signatures and semantics, batched over leading axes, each with its reverse-mode gradient where
the function is differentiable. The backward formulas (comments at each Function):
- det, slogdet, logdet: Jacobi's formula d det A = det A tr(A^-1 dA);
- inv: d(A^-1) = -A^-1 dA A^-1; solve, solve_triangular: dX = A^-1 (dB - dA X);
- cholesky: Murray (2016), "Differentiation of the Cholesky decomposition", eq. 10;
- eigh: Giles (2008), "An extended collection of matrix derivative results", sec. 3.1;
- qr: Walter & Lehmann (2018) / TensorFlow's QrGrad, with the wide case by splitting A = [X | Y];
- svd: Townsend (2016), "Differentiating the singular value decomposition" (PyTorch's svd_backward);
- pinv (and lstsq = pinv(a) b): Golub & Pereyra (1973), for matrices of constant rank;
- norm: composed from differentiable ops (abs, sum, max, power; singular values for 'nuc', 2, -2).
Symmetric inputs (cholesky, eigh) get a symmetric gradient: the gradient in the space of symmetric matrices.
eig and lu_factor are forward only (as in Keras's NumPy backend); asking for their gradient raises.
jvp (keras.ops.jvp / ops.linalg.jvp) is autograd/higher_order.jvp: two reverse sweeps (the double-vjp trick).

Device-neutral: every array function comes from the input's array module (``backend.get_array_module``),
NumPy on the host, CuPy on a GPU, whose ``cupy.linalg`` has det, inv, solve, cholesky, eigh, qr, svd and
slogdet (all batched). CuPy has no eig: it runs on the host (``backend.to_numpy``) and its results go back to
the input's device (``backend.like``). lu_factor is written here with array ops (partial pivoting, one
vectorised step per column), so it runs on either; solve_triangular solves the masked triangle with
``xp.linalg.solve``; pinv, lstsq and matrix_rank go through ``xp.linalg.svd``.
"""
import numpy as np

from ... import backend
from ..function import Function, unbroadcast
from ..tensor import Tensor
from . import _data, _float, _t_arr, matmul, power, reshape, squeeze, swapaxes, transpose
from . import abs as _abs
from . import max as _max
from . import min as _min
from . import sum as _sum

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "logdet", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd"]


def _xp(*arrays):
    return backend.get_array_module(*arrays)


def _mT(a):
    """The matrix transpose of a stack of matrices (the last two axes swapped)."""
    return a.swapaxes(-1, -2)


def _matrix(x, who, arg="x", square=False):
    """x as a float Tensor or array of rank >= 2 (square when asked), else a ValueError naming who and arg."""
    x = _float(_t_arr(x), who)
    shape = tuple(_data(x).shape)
    if len(shape) < 2 or (square and shape[-1] != shape[-2]):
        want = "a square matrix of shape (..., M, M)" if square else "a matrix of shape (..., M, N)"
        raise ValueError(f"{who}: argument '{arg}' expected {want}, got shape {shape}")
    return x


def _lapack(who, arg, f, a, *args, **kwargs):
    """f(a, ...) with NumPy's LinAlgError (singular, not positive definite) renamed for the op and argument."""
    try:
        return f(a, *args, **kwargs)
    except np.linalg.LinAlgError as e:
        raise np.linalg.LinAlgError(f"{who}: argument '{arg}' of shape {tuple(a.shape)}: {e}") from None


def _is_vector(sa, sb):
    """b is a (stack of) vector(s) for a of shape sa (torch's rule): rank 1, or a's shape without its last axis."""
    return len(sb) == 1 or (len(sb) == len(sa) - 1 and sb == sa[:-1])


def _rhs(who, a, b):
    """Check the right-hand side b of a x = b against a (..., M, N): (..., M) or (..., M, K), batch axes that
    broadcast. Returns (b, vector?)."""
    b = _float(_t_arr(b), who)
    sa, sb = tuple(_data(a).shape), tuple(_data(b).shape)
    vec = _is_vector(sa, sb)
    rows = sb[-1] if vec else (sb[-2] if len(sb) >= 2 else None)
    if rows != sa[-2]:
        raise ValueError(f"{who}: argument 'b' expected shape (..., {sa[-2]}) or (..., {sa[-2]}, K) to match 'a' of "
                         f"shape {sa}, got shape {sb}")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-1] if vec else sb[:-2])
    except ValueError:
        raise ValueError(f"{who}: the batch axes of 'a' {sa} and 'b' {sb} do not broadcast") from None
    return b, vec


# ============================================================================ determinants and inverses
class _Det(Function):
    """y = det A; d det A = det A tr(A^-1 dA), so dA = g y A^-T."""
    name = "det"

    def forward(self, a):
        self.a, self.y = a, _xp(a).asarray(_xp(a).linalg.det(a))
        return self.y

    def backward(self, g):
        return (g * self.y)[..., None, None] * _mT(_lapack("det", "x", _xp(g).linalg.inv, self.a))


class _Slogdet(Function):
    """(sign, log|det A|); d log|det A| = tr(A^-1 dA), so dA = g A^-T. sign is piecewise constant: no gradient."""
    name = "slogdet"

    def forward(self, a):
        xp = _xp(a)
        sign, logabs = xp.linalg.slogdet(a)
        self.a = a
        return xp.asarray(sign), xp.asarray(logabs)

    def backward(self, gsign, glog):
        return glog[..., None, None] * _mT(_lapack("slogdet", "x", _xp(glog).linalg.inv, self.a))


class _Inv(Function):
    """Y = A^-1; dY = -Y dA Y, so dA = -Y^T G Y^T."""
    name = "inv"

    def forward(self, a):
        self.y = _lapack("inv", "x", _xp(a).linalg.inv, a)
        return self.y

    def backward(self, g):
        yt = _mT(self.y)
        return -(yt @ g @ yt)


def det(x):
    """The determinant of each square matrix of x (..., M, M) -> (...)."""
    return _Det.apply(_matrix(x, "det", square=True))


def slogdet(x):
    """(sign, log|det x|) of each square matrix of x (keras.ops.slogdet); the gradient flows through log|det|."""
    return _Slogdet.apply(_matrix(x, "slogdet", square=True))


def logdet(x):
    """log|det x| (keras.ops.logdet; Keras's NumPy and JAX backends take slogdet's second output), meant for
    symmetric positive-definite x."""
    return slogdet(x)[1]


def inv(x):
    """The inverse of each square matrix of x (..., M, M)."""
    return _Inv.apply(_matrix(x, "inv", square=True))


# ============================================================================ linear systems
class _Solve(Function):
    """X = A^-1 B (A broadcast over B's batch). dX = A^-1 (dB - dA X), so dB = A^-T G and dA = -dB X^T; for
    solve_triangular A is its triangle, so dA is masked to that triangle too."""
    name = "solve"

    def forward(self, a, b, vec=False, tri=None):
        xp = _xp(a, b)
        bm = b[..., None] if vec else b
        if tri is not None:  # only that triangle of a is read (as LAPACK's trtrs)
            a = xp.tril(a) if tri == "lower" else xp.triu(a)
        batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
        self.a = xp.broadcast_to(a, batch + a.shape[-2:])
        self.x = _lapack(self.name, "a", xp.linalg.solve, self.a, xp.broadcast_to(bm, batch + bm.shape[-2:]))
        self.shapes, self.vec, self.tri = (a.shape, bm.shape, b.shape), vec, tri
        return self.x[..., 0] if vec else self.x

    def backward(self, g):
        xp = _xp(g)
        gb = xp.linalg.solve(_mT(self.a), g[..., None] if self.vec else g)
        ga = None
        if self.needs[0]:
            ga = -(gb @ _mT(self.x))
            if self.tri is not None:
                ga = xp.tril(ga) if self.tri == "lower" else xp.triu(ga)
            ga = unbroadcast(ga, self.shapes[0])
        gb = unbroadcast(gb, self.shapes[1]).reshape(self.shapes[2]) if self.needs[1] else None
        return ga, gb


def solve(a, b):
    """x with a x = b for square a (..., M, M) and b (..., M) or (..., M, K); x has b's shape (batch axes
    broadcast)."""
    a = _matrix(a, "solve", "a", square=True)
    b, vec = _rhs("solve", a, b)
    return _Solve.apply(a, b, vec=vec)


class _SolveTriangular(_Solve):
    name = "solve_triangular"


def solve_triangular(a, b, lower=False):
    """x with a x = b, a upper (lower=False, Keras's default) or lower triangular; the other triangle of a is not
    read. The triangle is solved by xp.linalg.solve (LU), so it runs on NumPy and CuPy alike."""
    a = _matrix(a, "solve_triangular", "a", square=True)
    b, vec = _rhs("solve_triangular", a, b)
    return _SolveTriangular.apply(a, b, vec=vec, tri="lower" if lower else "upper")


class _Pinv(Function):
    """X = A^+ from the reduced SVD A = U S V^T: X = V S^+ U^T, singular values <= rcond * max(S) dropped.
    For A of constant rank (Golub & Pereyra 1973): dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X,
    so dA = -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A)."""
    name = "pinv"

    def forward(self, a, rcond=1e-15):
        xp = _xp(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        keep = s > rcond * s.max(axis=-1, keepdims=True)
        s_inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
        self.a = a
        self.x = (_mT(vh) * s_inv[..., None, :]) @ _mT(u)
        return self.x

    def backward(self, g):
        a, x = self.a, self.x
        xt, gt = _mT(x), _mT(g)
        return -(xt @ g @ xt) + (gt - a @ (x @ gt)) @ (x @ xt) + (xt @ x) @ (gt - (gt @ x) @ a)


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse of each matrix of x (..., M, N) -> (..., N, M), by the SVD; singular
    values <= rcond * the largest are taken as zero (rcond=None: NumPy's default 1e-15)."""
    return _Pinv.apply(_matrix(x, "pinv"), rcond=1e-15 if rcond is None else float(rcond))


def lstsq(a, b, rcond=None):
    """The least-squares solution x of a x = b of least norm (a (..., M, N), b (..., M) or (..., M, K)) as
    pinv(a, rcond) b: the SVD solution (LAPACK's gelsd's). rcond=None: eps * max(M, N) (NumPy's default)."""
    a = _matrix(a, "lstsq", "a")
    b, vec = _rhs("lstsq", a, b)
    shape = _data(a).shape
    p = _Pinv.apply(a, rcond=np.finfo(_data(a).dtype).eps * max(shape[-2:]) if rcond is None else float(rcond))
    return squeeze(matmul(p, reshape(b, tuple(_data(b).shape) + (1,))), -1) if vec else matmul(p, b)


# ============================================================================ decompositions
class _Cholesky(Function):
    """A = L L^T. With Phi(X) = the lower triangle of X with its diagonal halved (Murray 2016, eq. 10):
    dA = L^-T Phi(L^T dL) L^-1, symmetrised (dL is masked to the lower triangle first: the upper is zero)."""
    name = "cholesky"

    def forward(self, a, upper=False):
        self.l, self.upper = _lapack("cholesky", "x", _xp(a).linalg.cholesky, a), upper
        return _mT(self.l) if upper else self.l  # U = L^T

    def backward(self, g):
        xp, l = _xp(g), self.l
        g = xp.tril(_mT(g) if self.upper else g)
        n = l.shape[-1]
        p = xp.tril(_mT(l) @ g) * (1 - 0.5 * xp.eye(n, dtype=l.dtype))
        lt = _mT(l)
        s = _mT(xp.linalg.solve(lt, _mT(xp.linalg.solve(lt, p))))  # L^-T P L^-1 by two solves
        return 0.5 * (s + _mT(s))


def cholesky(x, upper=False):
    """The Cholesky factor of each symmetric positive-definite matrix of x (..., M, M): lower L with x = L L^T, or
    with upper=True the upper U = L^T (x = U^T U). Only the lower triangle of x is read."""
    return _Cholesky.apply(_matrix(x, "cholesky", square=True), upper=bool(upper))


def cholesky_inverse(x, upper=False):
    """(L L^T)^-1 from a lower Cholesky factor x = L, or (U^T U)^-1 from an upper one with upper=True (Keras's
    semantics: x is the factor): L^-1 by a triangular solve, then L^-T L^-1 (U^-1 U^-T); the gradient flows
    through the solve and the product."""
    x = _matrix(x, "cholesky_inverse", square=True)
    d = _data(x)
    li = solve_triangular(x, _xp(d).eye(d.shape[-1], dtype=d.dtype), lower=not upper)
    return matmul(li, swapaxes(li, -1, -2)) if upper else matmul(swapaxes(li, -1, -2), li)


class _Eigh(Function):
    """A = V diag(w) V^T, A symmetric with distinct eigenvalues (Giles 2008, sec. 3.1): dw = diag(V^T dA V),
    dV = V (F o V^T dA V) with F_ij = 1 / (w_j - w_i) off the diagonal and 0 on it; so
    dA = V (diag(gw) + F o V^T gV) V^T, symmetrised."""
    name = "eigh"

    def forward(self, a):
        self.w, self.v = _xp(a).linalg.eigh(a)
        return self.w, self.v

    def backward(self, gw, gv):
        xp, w, v = _xp(gw), self.w, self.v
        eye = xp.eye(w.shape[-1], dtype=bool)
        d = w[..., None, :] - w[..., :, None]  # d_ij = w_j - w_i
        f = xp.where(eye, 0, 1 / xp.where(eye, 1, d))
        ga = v @ (f * (_mT(v) @ gv) + eye * gw[..., None, :]) @ _mT(v)
        return 0.5 * (ga + _mT(ga))


def eigh(x):
    """(eigenvalues ascending (..., M), eigenvectors (..., M, M) as columns) of each symmetric matrix of x
    (only its lower triangle is read). The gradient assumes distinct eigenvalues."""
    return _Eigh.apply(_matrix(x, "eigh", square=True))


class _Forward(Function):
    """A result without a gradient (eig, lu_factor): asking for one raises and says why."""
    name = "forward_only"

    def forward(self, a, fn=None, op=None, why=None):
        self.op, self.why = op, why
        return fn(a)

    def backward(self, *g):
        raise NotImplementedError(f"{self.op}: no gradient ({self.why})")


def _eig_host(a):
    # CuPy has no general eigensolver: on the host, back to a's device; complex always (as torch, JAX)
    w, v = np.linalg.eig(backend.to_numpy(a))
    c = np.result_type(a.dtype, np.complex64)
    return backend.like(a, w.astype(c)), backend.like(a, v.astype(c))


def eig(x):
    """(eigenvalues (..., M), right eigenvectors (..., M, M) as unit columns) of each square matrix of x, complex.
    Forward only: computed on the host (CuPy has no eig) and returned on x's device; no gradient."""
    return _Forward.apply(_matrix(x, "eig", square=True), fn=_eig_host, op="eig",
                          why="the eigenvectors of a general matrix are complex and defined up to a complex "
                              "scale; use eigh for symmetric matrices")


def _lu(a):
    """Partial-pivoting LU, LAPACK getrf's result: P A = L U with L unit lower and U upper in one matrix, and
    piv[j] = the row swapped with row j at step j (0-based, as scipy.linalg.lu_factor). One vectorised step per
    column over the whole batch (array ops only, so NumPy and CuPy alike)."""
    xp = _xp(a)
    *batch, m, n = a.shape
    k = min(m, n)
    lu = a.reshape(-1, m, n).copy()
    piv = xp.zeros((lu.shape[0], k), dtype=np.int32)
    rows = xp.arange(lu.shape[0])
    for j in range(k):
        p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=1)  # the largest |entry| on or below the diagonal
        piv[:, j] = p
        top = lu[rows, j]  # swap rows j and p (advanced indexing: copies)
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        d = lu[:, j, j]
        lu[:, j + 1:, j] /= xp.where(d == 0, 1, d)[:, None]  # a zero pivot (singular): the column is zero already
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]  # Schur complement
    return lu.reshape(tuple(batch) + (m, n)), piv.reshape(tuple(batch) + (k,))


def lu_factor(x):
    """(lu (..., M, N), pivots (..., min(M, N)) int32): P x = L U with L (unit diagonal) below and U on and above
    the diagonal of lu; pivots are 0-based row swaps, as scipy.linalg.lu_factor and Keras. No gradient."""
    return _Forward.apply(_matrix(x, "lu_factor"), fn=_lu, op="lu_factor",
                          why="the pivoting is piecewise constant; differentiate solve or det instead")


def _qr_grad(q, r, gq, gr):
    """A = Q R with Q (M, N) orthonormal, R (N, N) upper, M >= N (TensorFlow's QrGrad; Walter & Lehmann 2018):
    with X R^-T = solve(R, X^T)^T,
    dA = Q (gR + tril(Q^T gQ - gQ^T Q + R gR^T - gR R^T) R^-T) + (gQ - Q Q^T gQ) R^-T."""
    xp = _xp(q)

    def r_inv_t(x):
        return _mT(xp.linalg.solve(r, _mT(x)))
    qgq, rgr = _mT(q) @ gq, r @ _mT(gr)
    m = xp.tril(qgq - _mT(qgq) + rgr - _mT(rgr))
    return q @ (gr + r_inv_t(m)) + r_inv_t(gq - q @ qgq)


class _QR(Function):
    """A = Q R. Reduced (and complete with M <= N, the same factors): the gradient of _qr_grad; for M < N split
    A = [X | Y] with X = Q R_X square and R = [R_X | Q^T Y]: dY = Q gR_Y, and Q's gradient gains Y gR_Y^T."""
    name = "qr"

    def forward(self, a, mode="reduced"):
        self.a, self.mode = a, mode
        self.q, self.r = _xp(a).linalg.qr(a, mode=mode)
        return self.q, self.r

    def backward(self, gq, gr):
        xp, q, r = _xp(gq), self.q, self.r
        m, n = self.a.shape[-2:]
        if m > n and self.mode == "complete":
            raise NotImplementedError("qr: no gradient for mode='complete' with M > N (the last M - N columns of q "
                                      "are not unique); use mode='reduced'")
        gr = xp.triu(gr)  # R's lower triangle is zero whatever A is
        if m >= n:
            return _qr_grad(q, r, gq, gr)
        y, gry = self.a[..., m:], gr[..., m:]
        gx = _qr_grad(q, r[..., :m], gq + y @ _mT(gry), gr[..., :m])
        return xp.concatenate([gx, q @ gry], axis=-1)


def qr(x, mode="reduced"):
    """(q, r) with x = q r for each matrix of x (..., M, N): mode='reduced' gives q (..., M, K), r (..., K, N),
    K = min(M, N); 'complete' gives q (..., M, M), r (..., M, N). Differentiable except 'complete' with M > N."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: argument 'mode' expected 'reduced' or 'complete', got {mode!r}")
    return _QR.apply(_matrix(x, "qr"), mode=mode)


class _SVD(Function):
    """A = U diag(s) V^T, k = min(M, N), distinct non-zero singular values (Townsend 2016; PyTorch's
    svd_backward, real case). With skew(X) = X - X^T and E_ij = s_j^2 - s_i^2 (1 on the diagonal):
    core = (skew(U^T gU) s_j + s_i skew(V^T gV)) / E + diag(gs), and
    dA = U core V^T + (I - U U^T) gU S^-1 V^T (M > N) or + U S^-1 gV^T (I - V V^T) (M < N).
    s only: dA = U diag(gs) V^T."""
    name = "svd"

    def forward(self, a, full_matrices=True, compute_uv=True):
        xp = _xp(a)
        self.shape, self.compute_uv = a.shape[-2:], compute_uv
        if compute_uv:
            self.u, self.s, self.vh = xp.linalg.svd(a, full_matrices=full_matrices)
            return self.u, self.s, self.vh
        if self.needs and self.needs[0]:  # recording: the backward needs U and V
            self.u, s, self.vh = xp.linalg.svd(a, full_matrices=False)
            return s
        return xp.linalg.svd(a, compute_uv=False)

    def backward(self, *grads):
        xp, u, vh = _xp(grads[0]), self.u, self.vh
        if not self.compute_uv:
            return (u * grads[0][..., None, :]) @ vh
        gu, gs, gvh = grads
        m, n = self.shape
        k, s = min(m, n), self.s
        if u.shape[-1] > k or vh.shape[-2] > k:  # full_matrices with M != N
            if bool(xp.any(gu[..., k:] != 0)) or bool(xp.any(gvh[..., k:, :] != 0)):
                raise NotImplementedError("svd: no gradient through the last |M - N| singular vectors of "
                                          "full_matrices=True (they are not unique); use full_matrices=False")
            u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
        v, gv = _mT(vh), _mT(gvh)
        eye = xp.eye(k, dtype=bool)
        s2 = s * s
        e = xp.where(eye, 1, s2[..., None, :] - s2[..., :, None])
        ugu, vgv = _mT(u) @ gu, vh @ gv
        core = ((ugu - _mT(ugu)) * s[..., None, :] + s[..., :, None] * (vgv - _mT(vgv))) / e + eye * gs[..., None, :]
        if m > n:
            gus = gu / s[..., None, :]
            return (u @ core + gus - u @ (_mT(u) @ gus)) @ vh
        if m < n:
            sgv = _mT(gv) / s[..., :, None]
            return u @ (core @ vh + sgv - (sgv @ v) @ vh)
        return u @ core @ vh


def svd(x, full_matrices=True, compute_uv=True):
    """(u (..., M, M), s (..., K), vh (..., N, N)) with x = u diag(s) vh, K = min(M, N) (u (..., M, K) and vh
    (..., K, N) with full_matrices=False); s alone with compute_uv=False. Differentiable for s, and for u and vh
    except their last |M - N| vectors of full_matrices=True."""
    return _SVD.apply(_matrix(x, "svd"), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))


def matrix_rank(x, tol=None):
    """The number of singular values > tol of each matrix of x (..., M, N) -> int32 (...); tol=None: NumPy's
    max(s) * max(M, N) * eps. No gradient (an integer)."""
    a = _data(_matrix(x, "matrix_rank"))
    xp = _xp(a)
    s = xp.linalg.svd(a, compute_uv=False)
    if tol is None:
        tol = s.max(axis=-1, keepdims=True) * (max(a.shape[-2:]) * np.finfo(a.dtype).eps)
    else:
        tol = _data(tol)
        tol = (tol if backend.is_array(tol) else backend.like(a, np.asarray(tol, a.dtype)))[..., None]
    return Tensor((s > tol).sum(axis=-1).astype(np.int32))


# ============================================================================ norms
class _Norm2(Function):
    """y = sqrt(sum x^2) over axis, kept; dx = g x / y (0 where y = 0: the subgradient PyTorch takes)."""
    name = "norm"

    def forward(self, a, axis=None):
        self.a = a
        self.y = _xp(a).sqrt((a * a).sum(axis=axis, keepdims=True))
        return self.y

    def backward(self, g):
        return g * self.a / _xp(g).where(self.y == 0, 1, self.y)


_MATRIX_ORDS = "None, 'fro', 'nuc', 1, -1, 2, -2, inf or -inf"


def _vector_norm(x, ord, ax):  # noqa: A002 - Keras's name
    if ord is None or (not isinstance(ord, str) and ord == 2):
        return _Norm2.apply(x, axis=ax)
    if isinstance(ord, str):
        raise ValueError(f"norm: argument 'ord' {ord!r} is a matrix norm; a vector norm (an int 'axis') takes a "
                         f"number or None")
    a = _abs(x)
    if ord == np.inf:
        return _max(a, axis=ax, keepdims=True)
    if ord == -np.inf:
        return _min(a, axis=ax, keepdims=True)
    if ord == 0:  # the number of non-zeros: no gradient
        d = _data(x)
        return Tensor((d != 0).sum(axis=ax, keepdims=True).astype(d.dtype))
    if ord == 1:
        return _sum(a, axis=ax, keepdims=True)
    return power(_sum(power(a, float(ord)), axis=ax, keepdims=True), 1.0 / ord)  # (sum |x|^p)^(1/p)


def _matrix_norm(x, ord, r, c):  # noqa: A002
    if ord is None or ord == "fro":
        return _Norm2.apply(x, axis=(r, c))
    shape = list(_data(x).shape)
    if ord == "nuc" or (not isinstance(ord, str) and ord in (2, -2)):  # from the singular values
        keep = [1 if i in (r, c) else n for i, n in enumerate(shape)]
        s = svd(transpose(x, [i for i in range(len(shape)) if i not in (r, c)] + [r, c]), compute_uv=False)
        s = _sum(s, axis=-1) if ord == "nuc" else _max(s, axis=-1) if ord == 2 else _min(s, axis=-1)
        return reshape(s, keep)
    a = _abs(x)
    if not isinstance(ord, str) and ord in (1, -1):  # max / min column sum
        return (_max if ord == 1 else _min)(_sum(a, axis=r, keepdims=True), axis=c, keepdims=True)
    if not isinstance(ord, str) and ord in (np.inf, -np.inf):  # max / min row sum
        return (_max if ord > 0 else _min)(_sum(a, axis=c, keepdims=True), axis=r, keepdims=True)
    raise ValueError(f"norm: argument 'ord' expected a matrix norm ({_MATRIX_ORDS}) for a 2-tuple 'axis', "
                     f"got {ord!r}")


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norms, as numpy.linalg.norm / Keras: axis an int (vector norms: None or 2, 1, inf, -inf,
    0 (non-zeros), any p) or a 2-tuple (matrix norms: None or 'fro', 'nuc', 1, -1, 2, -2, inf, -inf); axis=None
    takes x as a vector (rank 1) or matrix (rank 2), and with ord=None the 2-norm of x flattened, any rank."""
    x = _float(_t_arr(x), "norm")
    nd = _data(x).ndim
    if axis is None:
        if ord is None:
            out = _Norm2.apply(x, axis=None)
            return out if keepdims else reshape(out, ())
        if nd not in (1, 2):
            raise ValueError(f"norm: argument 'axis' is needed for ord={ord!r} and an input of rank {nd} (only ranks "
                             f"1 and 2 imply it)")
        axis = tuple(range(nd))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) not in (1, 2) or not all(-nd <= a < nd for a in axes) or \
            len({int(a) % nd for a in axes}) != len(axes):
        raise ValueError(f"norm: argument 'axis' expected an int or a 2-tuple of distinct ints in [{-nd}, {nd}) for "
                         f"an input of rank {nd}, got {axis!r}")
    axes = tuple(int(a) % nd for a in axes)
    out = _vector_norm(x, ord, axes[0]) if len(axes) == 1 else _matrix_norm(x, ord, *axes)
    return out if keepdims else squeeze(out, axes)
