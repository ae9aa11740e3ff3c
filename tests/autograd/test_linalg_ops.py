"""keras.ops.linalg (autograd/ops/linalg_ops.py): values against NumPy (torch.linalg / SciPy where NumPy has no
counterpart) in float32 and float64, batched; float64 gradcheck with random cotangents for every differentiable
function; the same values and gradients on the device (tests/fakecupy.py's strict stand-in, or a real GPU);
no gradient where Keras has none; clear errors."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import ops
from nerve.autograd.ops.linalg_ops import (cholesky, cholesky_inverse, det, eig, eigh, inv, logdet, lstsq,
                                           lu_factor, matrix_rank, norm, pinv, qr, slogdet, solve,
                                           solve_triangular, svd)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)


def rnd(*shape):
    return R.standard_normal(shape)


def well(*shape):  # a well-conditioned (triangular parts too) square matrix
    return rnd(*shape) * 0.5 + 3 * np.eye(shape[-1])


def spd(*shape):
    x = rnd(*shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def factor(*shape, lower=True):  # a Cholesky factor: triangular with a positive diagonal
    t = np.tril(rnd(*shape)) if lower else np.triu(rnd(*shape))
    return t + (2 + np.abs(rnd(*shape[:-1])))[..., None] * np.eye(shape[-1])


def distinct(*shape):  # no ties in |x| (max / min norms pick one entry)
    return (R.permutation(int(np.prod(shape))).reshape(shape) + 1 + R.uniform(0, 0.1, shape)) * 0.3 * \
        R.choice([-1, 1], shape)


def val(t):
    return [val(v) for v in t] if isinstance(t, (list, tuple)) else ops.convert_to_numpy(t)


def T(a):
    return np.swapaxes(a, -1, -2)


# ---------------------------------------------------------------- values against NumPy / torch / SciPy
def _np_lstsq(a, b):
    if a.ndim == 2:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    return np.stack([_np_lstsq(ai, bi) for ai, bi in zip(a, b)])


def _np_norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    return np.linalg.norm(x, ord, axis, keepdims)


S33, S233, A43, A235, B32 = spd(3, 3), spd(2, 3, 3), rnd(4, 3), rnd(2, 3, 5), rnd(3, 2)
W233, W33, V3, L233 = well(2, 3, 3), well(3, 3), rnd(2, 3), factor(2, 3, 3)
X234 = rnd(2, 3, 4)
RANK1 = np.outer([1.0, 2, 3], [1.0, -1, 0.5, 2])
VALUES = [  # (name, nerve function, NumPy oracle, inputs)
    ("det", det, np.linalg.det, [W233]),
    ("slogdet", slogdet, lambda x: tuple(np.linalg.slogdet(x)), [rnd(2, 3, 3)]),
    ("logdet", logdet, lambda x: np.linalg.slogdet(x)[1], [S233]),
    ("inv", inv, np.linalg.inv, [W233]),
    ("solve", solve, np.linalg.solve, [W33, B32]),
    ("solve_batched_vector", solve, lambda a, b: np.linalg.solve(a, b[..., None])[..., 0], [W233, V3]),
    ("solve_broadcast", solve, np.linalg.solve, [W33, rnd(2, 3, 2)]),
    ("solve_triangular", solve_triangular, lambda a, b: np.linalg.solve(np.triu(a), b), [W233, rnd(2, 3, 2)]),
    ("solve_triangular_lower", lambda a, b: solve_triangular(a, b, lower=True),
     lambda a, b: np.linalg.solve(np.tril(a), b[..., None])[..., 0], [W233, V3]),
    ("cholesky", cholesky, np.linalg.cholesky, [S233]),
    ("cholesky_upper", lambda x: cholesky(x, upper=True), lambda x: T(np.linalg.cholesky(x)), [S233]),
    ("cholesky_inverse", cholesky_inverse, lambda l: np.linalg.inv(l @ T(l)), [L233]),
    ("cholesky_inverse_upper", lambda u: cholesky_inverse(u, upper=True), lambda u: np.linalg.inv(T(u) @ u),
     [T(L233)]),
    ("eigh", eigh, lambda x: tuple(np.linalg.eigh(x)), [S233]),
    ("qr", qr, lambda x: tuple(np.linalg.qr(x)), [A43]),
    ("qr_batched_wide", qr, lambda x: tuple(np.linalg.qr(x)), [A235]),
    ("qr_complete", lambda x: qr(x, mode="complete"), lambda x: tuple(np.linalg.qr(x, mode="complete")), [A43]),
    ("svd", svd, lambda x: tuple(np.linalg.svd(x)), [A235]),
    ("svd_reduced", lambda x: svd(x, full_matrices=False), lambda x: tuple(np.linalg.svd(x, False)), [A43]),
    ("svd_s", lambda x: svd(x, compute_uv=False), lambda x: np.linalg.svd(x, compute_uv=False), [A235]),
    ("pinv", pinv, np.linalg.pinv, [A235]),
    ("pinv_rank_deficient", lambda x: pinv(x, rcond=1e-6), lambda x: np.linalg.pinv(x, rcond=1e-6), [RANK1]),
    ("lstsq", lstsq, _np_lstsq, [rnd(5, 3), rnd(5, 2)]),
    ("lstsq_vector", lstsq, _np_lstsq, [rnd(5, 3), rnd(5)]),
    ("lstsq_batched", lstsq, _np_lstsq, [rnd(2, 3, 4), rnd(2, 3, 2)]),
    ("matrix_rank", matrix_rank, lambda x: np.linalg.matrix_rank(x), [np.stack([RANK1, rnd(3, 4)])]),
    ("matrix_rank_tol", lambda x: matrix_rank(x, tol=0.5), lambda x: np.linalg.matrix_rank(x, tol=0.5), [A235]),
    ("norm_default", norm, _np_norm, [X234]),
    ("norm_default_keepdims", lambda x: norm(x, keepdims=True), lambda x: _np_norm(x, keepdims=True), [X234]),
    *[(f"norm_vector_{o}", (lambda x, o=o: norm(x, o, axis=1)), (lambda x, o=o: _np_norm(x, o, 1)), [X234])
      for o in (None, 1, 2, 3, 0.5, 0, np.inf, -np.inf)],
    ("norm_vector_1d", lambda x: norm(x, 3), lambda x: _np_norm(x, 3), [X234[0, 0]]),
    *[(f"norm_matrix_{o}", (lambda x, o=o: norm(x, o, axis=(2, 0))), (lambda x, o=o: _np_norm(x, o, (2, 0))), [X234])
      for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)],
    ("norm_matrix_2d_keepdims", lambda x: norm(x, "nuc", keepdims=True),
     lambda x: _np_norm(x, "nuc", keepdims=True), [A43]),
    ("norm_matrix_2d_inf", lambda x: norm(x, np.inf), lambda x: _np_norm(x, np.inf), [A43]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, fn, oracle, inputs", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, fn, oracle, inputs, dtype):
    xs = [x.astype(dtype) for x in inputs]
    got, want = val(fn(*xs)), oracle(*xs)
    got, want = (got, want) if isinstance(want, tuple) else ([got], [want])
    tol = 1e-4 if dtype == "float32" else 1e-10
    for g, w in zip(got, want):
        assert g.shape == np.shape(w), (name, g.shape, np.shape(w))
        if g.dtype.kind == "f":
            assert g.dtype == dtype, (name, g.dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_against_torch():
    """Functions whose NumPy oracle above is a composition: torch.linalg (and SciPy's lu_factor)."""
    torch = pytest.importorskip("torch")
    a, l, b = W233, L233, rnd(2, 3, 4)
    tt = torch.from_numpy
    np.testing.assert_allclose(val(solve_triangular(a, b)),
                               torch.linalg.solve_triangular(tt(a), tt(b), upper=True).numpy(), rtol=1e-10)
    np.testing.assert_allclose(val(solve_triangular(a, b, lower=True)),
                               torch.linalg.solve_triangular(tt(a), tt(b), upper=False).numpy(), rtol=1e-10)
    np.testing.assert_allclose(val(cholesky_inverse(l)), torch.cholesky_inverse(tt(l)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(val(cholesky_inverse(T(l), upper=True)),
                               torch.cholesky_inverse(tt(T(l).copy()), upper=True).numpy(), rtol=1e-10)
    x = rnd(2, 4, 4)
    lu, piv = val(lu_factor(x))
    tlu, tpiv = torch.linalg.lu_factor(tt(x))
    np.testing.assert_allclose(lu, tlu.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(piv, tpiv.numpy() - 1)  # torch's pivots are 1-based, Keras's 0-based
    assert piv.dtype == np.int32
    np.testing.assert_allclose(val(norm(X234, "nuc", axis=(1, 2))),
                               torch.linalg.norm(tt(X234), "nuc", dim=(1, 2)).numpy(), rtol=1e-10)


def test_lu_factor_against_scipy_and_rebuilds_x():
    for x in (rnd(5, 5), rnd(3, 4, 4).astype(np.float32), rnd(4, 3), rnd(3, 5), np.array([[0.0, 1], [0, 2]])):
        lu, piv = val(lu_factor(x))
        k = min(x.shape[-2:])
        assert lu.shape == x.shape and piv.shape == x.shape[:-2] + (k,) and piv.dtype == np.int32
        for i in np.ndindex(x.shape[:-2]):  # P x = L U, the swaps applied in order
            m = x[i].astype(np.float64)
            for j, p in enumerate(piv[i]):
                m[[j, p]] = m[[p, j]]
            low = np.tril(lu[i], -1)[:, :k] + np.eye(x.shape[-2], k)
            np.testing.assert_allclose(low @ np.triu(lu[i])[:k], m, atol=1e-5)
    scipy_linalg = pytest.importorskip("scipy.linalg")
    x = rnd(6, 6)
    lu, piv = val(lu_factor(x))
    slu, spiv = scipy_linalg.lu_factor(x)
    np.testing.assert_allclose(lu, slu, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(piv, spiv)


def test_eig_values_and_vectors():
    x = rnd(2, 4, 4)
    for dtype, cdtype in (("float32", np.complex64), ("float64", np.complex128)):
        w, v = val(eig(x.astype(dtype)))
        assert w.dtype == cdtype and v.dtype == cdtype and w.shape == (2, 4) and v.shape == (2, 4, 4)
        np.testing.assert_allclose(x @ v, v * w[:, None, :], atol=1e-4)  # x v_j = w_j v_j
        np.testing.assert_allclose(w, np.linalg.eigvals(x), rtol=1e-4)
    w, v = val(eig(np.diag([1.0, 2.0])))  # real eigenvalues come back complex too
    assert w.dtype == np.complex128 and np.allclose(w, [1, 2])


def test_int_inputs_are_cast_to_floatx():
    assert norm(np.arange(4)).dtype == np.float32 and det(np.eye(2, dtype=np.int64)).dtype == np.float32


# ---------------------------------------------------------------- float64 gradcheck
def sym(x):  # a symmetric input built by differentiable ops: the gradient is taken in symmetric matrices
    return ops.multiply(ops.add(x, ops.swapaxes(x, -1, -2)), 0.5)


def spd_of(x):
    n = ops.shape(x)[-1]  # x x^T + n I, the identity on x's device
    return ops.add(ops.matmul(x, ops.swapaxes(x, -1, -2)), nerve.backend.like(x.data, n * np.eye(n)))


def even(*outs):
    """Squares of the sign-ambiguous factors (q, r, u, vh, eigenvectors): the same whichever signs LAPACK or
    cuSOLVER picks, so the device test can compare them; their cotangents are still generic."""
    return tuple(ops.multiply(o, o) for o in outs)


GRADS = [
    ("det", det, [rnd(3, 3)]), ("det_batched", det, [rnd(2, 3, 3)]),
    ("slogdet", slogdet, [rnd(2, 3, 3)]), ("logdet", lambda x: logdet(spd_of(x)), [rnd(3, 3)]),
    ("inv", inv, [well(2, 3, 3)]),
    ("solve", solve, [well(3, 3), rnd(3, 2)]), ("solve_vector", solve, [well(2, 3, 3), rnd(2, 3)]),
    ("solve_broadcast", solve, [well(3, 3), rnd(2, 3, 2)]),
    ("solve_triangular", solve_triangular, [well(3, 3), rnd(3, 2)]),
    ("solve_triangular_lower", lambda a, b: solve_triangular(a, b, lower=True), [well(2, 3, 3), rnd(2, 3)]),
    ("cholesky", lambda x: cholesky(spd_of(x)), [rnd(2, 3, 3)]),
    ("cholesky_upper", lambda x: cholesky(spd_of(x), upper=True), [rnd(3, 3)]),
    ("cholesky_inverse", cholesky_inverse, [factor(2, 3, 3)]),
    ("cholesky_inverse_upper", lambda u: cholesky_inverse(u, upper=True), [factor(3, 3, lower=False)]),
    ("eigh", lambda x: (lambda w, v: (w,) + even(v))(*eigh(sym(x))), [rnd(2, 4, 4)]),
    ("qr_tall", lambda x: even(*qr(x)), [rnd(5, 3)]), ("qr_square", lambda x: even(*qr(x)), [rnd(2, 3, 3)]),
    ("qr_wide", lambda x: even(*qr(x)), [rnd(3, 5)]),
    ("qr_complete_wide", lambda x: even(*qr(x, mode="complete")), [rnd(2, 4)]),
    ("svd_s", lambda x: svd(x, compute_uv=False), [rnd(2, 3, 4)]),
    ("svd_s_of_full", lambda x: svd(x)[1], [rnd(4, 2)]),
    ("svd_tall", lambda x: (lambda u, s, vh: even(u, vh) + (s,))(*svd(x, full_matrices=False)), [rnd(5, 3)]),
    ("svd_wide", lambda x: (lambda u, s, vh: even(u, vh) + (s,))(*svd(x, full_matrices=False)), [rnd(2, 3, 4)]),
    ("svd_square_full", lambda x: (lambda u, s, vh: even(u, vh) + (s,))(*svd(x)), [rnd(3, 3)]),
    ("pinv_tall", pinv, [rnd(4, 3)]), ("pinv_wide", pinv, [rnd(2, 3, 5)]),
    ("lstsq", lstsq, [rnd(5, 3), rnd(5, 2)]), ("lstsq_vector", lstsq, [rnd(5, 3), rnd(5)]),
    ("lstsq_underdetermined", lstsq, [rnd(2, 4), rnd(2, 3)]),
    ("norm_default", norm, [rnd(2, 3, 4)]), ("norm_vector_keepdims", lambda x: norm(x, axis=0, keepdims=True),
                                              [rnd(3, 4)]),
    *[(f"norm_vector_{o}", (lambda x, o=o: norm(x, o, axis=-1)), [distinct(3, 4)])
      for o in (1, 3, 0.5, np.inf, -np.inf)],
    *[(f"norm_matrix_{o}", (lambda x, o=o: norm(x, o, axis=(0, 2))), [distinct(3, 2, 4)])
      for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)],
]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn, inputs):
    r = nerve.gradcheck(fn, inputs)
    assert r.ok, (name, r.rel_diff)


# ---------------------------------------------------------------- on the device
REAL = fakecupy.real_cupy()


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in, whose cupy.linalg then keeps only what
    CuPy's has (no eig): a call to a host-only routine on device data fails here as on a GPU."""
    with fakecupy.gpu_module() as module:
        if REAL is None:
            for name in ("eig", "eigvals"):
                delattr(module.linalg, name)
        yield module


def _run(fn, inputs, to, weights):
    ts = [nerve.tensor(to(a), requires_grad=True) for a in inputs]
    out = fn(*ts)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    total = None
    for o, w in zip(outs, weights):
        term = ops.sum(ops.multiply(o, to(w)))
        total = term if total is None else ops.add(total, term)
    total.backward()
    return [val(o) for o in outs] + [val(t.grad) for t in ts]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_on_the_device_as_on_the_cpu(cp, name, fn, inputs):
    """Every gradchecked function: values and input gradients (random cotangents) on device arrays equal the
    CPU's (no implicit host conversion: the stand-in refuses one)."""
    with nerve.no_grad():
        shapes = [np.shape(val(o)) for o in (lambda r: r if isinstance(r, tuple) else (r,))(fn(*inputs))]
    rs = np.random.default_rng(3)
    weights = [rs.standard_normal(s) for s in shapes]
    cpu = _run(fn, inputs, np.asarray, weights)
    dev = _run(fn, inputs, cp.asarray, weights)
    for a, b in zip(cpu, dev):
        np.testing.assert_allclose(b, a, rtol=1e-6 if REAL is not None else 1e-12, atol=1e-9)


def test_forward_only_functions_on_the_device(cp):
    x = rnd(2, 4, 4)
    for fn in (eig, lu_factor, matrix_rank, lambda v: norm(v, 0, axis=1)):
        cpu, dev = fn(x), fn(cp.asarray(x))
        cpu, dev = (cpu, dev) if isinstance(cpu, tuple) else ((cpu,), (dev,))
        for a, b in zip(cpu, dev):
            assert isinstance(b.data, cp.ndarray)
            np.testing.assert_allclose(val(b), val(a), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- no gradient, errors
def test_no_gradient_where_keras_has_none():
    x = nerve.tensor(rnd(3, 3), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"eig: no gradient"):
        ops.sum(ops.real(eig(x)[1])).backward()
    x = nerve.tensor(rnd(3, 3), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"lu_factor: no gradient"):
        ops.sum(lu_factor(x)[0]).backward()
    x = nerve.tensor(rnd(4, 2), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"qr: no gradient for mode='complete' with M > N"):
        ops.sum(qr(x, mode="complete")[0]).backward()
    x = nerve.tensor(rnd(4, 2), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"svd: no gradient through the last \|M - N\|"):
        ops.sum(svd(x)[0]).backward()
    x = nerve.tensor(rnd(3, 3), requires_grad=True)
    r = matrix_rank(x)
    assert r.dtype == np.int32 and not r.requires_grad and int(val(r)) == 3


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match=r"det: argument 'x' expected a square matrix of shape \(\.\.\., M, M\), "
                                         r"got shape \(2, 3\)"):
        det(np.ones((2, 3)))
    for fn in (inv, slogdet, logdet, cholesky, eigh, eig, cholesky_inverse):
        with pytest.raises(ValueError, match=r"argument 'x' expected a square matrix"):
            fn(np.ones((2, 3)))
    for fn in (svd, qr, pinv, matrix_rank, lu_factor):
        with pytest.raises(ValueError, match=r"argument 'x' expected a matrix of shape \(\.\.\., M, N\), got "
                                             r"shape \(3,\)"):
            fn(np.ones(3))
    with pytest.raises(ValueError, match=r"solve: argument 'b' expected shape \(\.\.\., 3\) or \(\.\.\., 3, K\) to "
                                         r"match 'a' of shape \(3, 3\), got shape \(4, 2\)"):
        solve(np.eye(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"solve_triangular: the batch axes of 'a' \(2, 3, 3\) and 'b' \(4, 3, 1\)"):
        solve_triangular(np.ones((2, 3, 3)), np.ones((4, 3, 1)))
    with pytest.raises(ValueError, match=r"lstsq: argument 'b' expected shape \(\.\.\., 5\)"):
        lstsq(np.ones((5, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"qr: argument 'mode' expected 'reduced' or 'complete', got 'r'"):
        qr(np.eye(2), mode="r")
    with pytest.raises(ValueError, match=r"norm: argument 'ord' expected a matrix norm .* got 3"):
        norm(np.eye(2), 3)
    with pytest.raises(ValueError, match=r"norm: argument 'ord' 'fro' is a matrix norm"):
        norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match=r"norm: argument 'axis' is needed for ord=1 and an input of rank 3"):
        norm(np.ones((2, 2, 2)), 1)
    with pytest.raises(ValueError, match=r"norm: argument 'axis' expected an int or a 2-tuple of distinct ints"):
        norm(np.ones((2, 2)), axis=(0, 0))
    with pytest.raises(np.linalg.LinAlgError, match=r"cholesky: argument 'x' of shape \(2, 2\): .*positive definite"):
        cholesky(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match=r"inv: argument 'x' of shape \(2, 2\): Singular matrix"):
        inv(np.ones((2, 2)))
