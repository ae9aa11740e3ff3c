"""The engine on CuPy arrays (GPU): the backend picks CuPy, and forward/backward match NumPy.
Skips with a visible reason where CuPy or a GPU is missing."""
import numpy as np
import pytest

try:
    import cupy as cp
    _N_GPU = cp.cuda.runtime.getDeviceCount()
    _WHY = None if _N_GPU > 0 else "no GPU visible to CuPy"
except ImportError as e:
    cp, _WHY = None, f"cupy is not importable ({e})"
except Exception as e:  # CUDA driver/runtime missing
    cp, _WHY = None, f"CUDA unavailable ({type(e).__name__}: {e})"
if _WHY is not None:
    pytest.skip(f"CuPy not installed / no GPU: {_WHY}", allow_module_level=True)

import nerve  # noqa: E402
from nerve import backend, ops  # noqa: E402

R = np.random.default_rng(3)

CASES = {
    "add_broadcast": (lambda a, b: a + b, [(3, 1, 4), (5, 4)]),
    "multiply_divide": (lambda a, b: a * b / (b * b + 1.0), [(3, 4), (4,)]),
    "matmul": (ops.matmul, [(2, 3, 4), (4, 5)]),
    "relu_sum_axis": (lambda a: ops.sum(ops.relu(a), axis=(0, 2)), [(2, 3, 4)]),
    "log_softmax": (ops.log_softmax, [(3, 5)]),
    "softmax_max": (lambda a: ops.max(ops.softmax(a, axis=0), axis=1), [(3, 5)]),
    "gelu_erf": (lambda a: ops.gelu(a, approximate=False), [(4, 4)]),
    "tanh_sigmoid": (lambda a: ops.tanh(a) * ops.sigmoid(a), [(4, 4)]),
    "getitem_adv": (lambda a: a[[0, 2, 0]], [(3, 4)]),
    "take_axis": (lambda a: ops.take(a, backend.get_array_module(a.data).asarray([1, 1, 0]), axis=1), [(2, 3)]),
    "concat_split": (lambda a, b: ops.split(ops.concatenate([a, b], axis=1), 2, axis=1)[1], [(2, 3), (2, 3)]),
    "logsumexp_var": (lambda a: ops.logsumexp(a, axis=-1) + ops.var(a, axis=-1), [(3, 4)]),
}


def test_backend_picks_cupy():
    a = cp.ones(3)
    assert backend.get_array_module(a) is cp
    assert backend.get_array_module(np.ones(3), a) is cp
    assert backend.get_array_module(np.ones(3)) is np
    assert isinstance(backend.to_numpy(a), np.ndarray)


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_forward_backward_matches_numpy(name):
    fn, shapes = CASES[name]
    xs = [R.standard_normal(s) for s in shapes]
    n_in = [nerve.tensor(x.copy(), requires_grad=True) for x in xs]
    g_in = [nerve.tensor(cp.asarray(x), requires_grad=True) for x in xs]
    n_out = fn(*n_in)
    g_out = fn(*g_in)
    assert isinstance(g_out.data, cp.ndarray)
    np.testing.assert_allclose(backend.to_numpy(g_out.data), n_out.numpy(), rtol=1e-10, atol=1e-12)
    cot = R.standard_normal(n_out.shape)
    n_out.backward(cot)
    g_out.backward(cp.asarray(cot))
    for a, b in zip(n_in, g_in):
        assert isinstance(b.grad.data, cp.ndarray)
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_direct_cublas_gemm_steps_match_matmul(dtype, accumulate):
    """ops/gpu.gemm_steps (the recurrences' per-step GEMM as a direct cuBLAS call): c[t] (+)= a @ b[t] for 3-D
    and 2-D operands, every t, the other blocks untouched."""
    from nerve.autograd.ops import gpu
    r = np.random.default_rng(2)
    a = cp.asarray(r.standard_normal((12, 7)).astype(dtype))
    b = cp.asarray(r.standard_normal((5, 7, 9)).astype(dtype))
    c = cp.asarray(r.standard_normal((4, 12, 9)).astype(dtype))
    want = c.copy()
    f = gpu.gemm_steps(a, b, c, accumulate=accumulate)
    assert f is not None
    for t in (2, 0):
        f(t)
        want[t] = a @ b[t] + (want[t] if accumulate else 0)
    np.testing.assert_allclose(cp.asnumpy(c), cp.asnumpy(want), rtol=1e-5, atol=1e-5)
    c2, b2 = cp.zeros((12, 9), dtype), b[1].copy()
    gpu.gemm_steps(a, b2, c2)()
    np.testing.assert_allclose(cp.asnumpy(c2), cp.asnumpy(a @ b2), rtol=1e-5, atol=1e-5)
    assert gpu.gemm_steps(a, b[:, :, :4], c) is None  # not contiguous: the caller's matmul
