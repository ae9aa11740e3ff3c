"""Every op against PyTorch 2.13 (the test oracle): forward values and the vector-Jacobian product for the
same random cotangent, in float32 (rtol 1e-5) and float64 (rtol 1e-10). Dtypes must be preserved too."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nerve
from nerve import ops

R = np.random.default_rng(7)


def rnd(*s):
    return R.standard_normal(s)


def pos(*s):
    return R.uniform(0.5, 2.0, s)


def away(*s):
    return R.uniform(0.1, 2.0, s) * R.choice([-1.0, 1.0], s)


def distinct(*s):
    return (R.permutation(int(np.prod(s))).reshape(s) - 5) * 0.37


def _tpad(x, pw):  # numpy pad widths -> torch's reversed flat list
    return F.pad(x, [v for p in reversed(pw) for v in p])


CASES = []


def case(name, nfn, tfn, *inputs, tol64=1e-10):
    CASES.append(pytest.param(nfn, tfn, inputs, tol64, id=name))


for sa, sb in [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((2, 3), ()), ((4, 1), (1, 3))]:
    t = f"{sa}x{sb}"
    case("add" + t, ops.add, torch.add, rnd(*sa), rnd(*sb))
    case("subtract" + t, ops.subtract, torch.sub, rnd(*sa), rnd(*sb))
    case("multiply" + t, ops.multiply, torch.mul, rnd(*sa), rnd(*sb))
    case("divide" + t, ops.divide, torch.div, rnd(*sa), pos(*sb))
    case("power" + t, ops.power, torch.pow, pos(*sa), rnd(*sb))
    case("maximum" + t, ops.maximum, torch.maximum, rnd(*sa), rnd(*sb))
    case("minimum" + t, ops.minimum, torch.minimum, rnd(*sa), rnd(*sb))
case("power_int", lambda x: ops.power(x, 3), lambda x: torch.pow(x, 3), rnd(3, 4))
case("operators", lambda x, y: (2.0 - x) * y / 3.0 + x ** 2, lambda x, y: (2.0 - x) * y / 3.0 + x ** 2,
     rnd(3, 4), rnd(4))
case("negative", ops.negative, torch.neg, rnd(3, 4))
case("square", ops.square, torch.square, rnd(3, 4))
case("sqrt", ops.sqrt, torch.sqrt, pos(3, 4))
case("exp", ops.exp, torch.exp, rnd(3, 4))
case("log", ops.log, torch.log, pos(3, 4))
case("log1p", ops.log1p, torch.log1p, pos(3, 4) - 0.4)
case("abs", ops.abs, torch.abs, np.array([-1.5, 0.0, 2.0, -0.3]))
case("sign", lambda x: ops.sign(x) * x, lambda x: torch.sign(x) * x, np.array([-1.5, 0.0, 2.0, -0.3]))
case("clip", lambda x: ops.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5),
     np.array([-1.0, -0.5, -0.2, 0.0, 0.5, 0.7]))
case("where", lambda x, y: ops.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y), rnd(3, 4), rnd(4))
for ax, kd in [(None, False), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)]:
    t = f"[{ax},{kd}]"
    tax = tuple(range(3)) if ax is None else ax
    case("sum" + t, lambda x, a=ax, k=kd: ops.sum(x, a, k), lambda x, a=tax, k=kd: torch.sum(x, a, k), rnd(2, 3, 4))
    case("mean" + t, lambda x, a=ax, k=kd: ops.mean(x, a, k), lambda x, a=tax, k=kd: torch.mean(x, a, k),
         rnd(2, 3, 4))
    case("max" + t, lambda x, a=ax, k=kd: ops.max(x, a, k), lambda x, a=tax, k=kd: torch.amax(x, a, k),
         distinct(2, 3, 4))
    case("min" + t, lambda x, a=ax, k=kd: ops.min(x, a, k), lambda x, a=tax, k=kd: torch.amin(x, a, k),
         distinct(2, 3, 4))
    case("var" + t, lambda x, a=ax, k=kd: ops.var(x, a, k),
         lambda x, a=tax, k=kd: torch.var(x, a, correction=0, keepdim=k), rnd(2, 3, 4))
    case("std" + t, lambda x, a=ax, k=kd: ops.std(x, a, k),
         lambda x, a=tax, k=kd: torch.std(x, a, correction=0, keepdim=k), rnd(2, 3, 4))
    case("logsumexp" + t, lambda x, a=ax, k=kd: ops.logsumexp(x, a, k),
         lambda x, a=tax, k=kd: torch.logsumexp(x, a, k), rnd(2, 3, 4))
case("max_ties", ops.max, torch.amax, np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]))  # ties share equally
for sa, sb in [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))]:
    case(f"matmul{sa}@{sb}", ops.matmul, torch.matmul, rnd(*sa), rnd(*sb))
case("tensordot", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
     lambda a, b: torch.tensordot(a, b, dims=([0, 2], [1, 0])), rnd(2, 3, 4), rnd(4, 2, 5))
case("tensordot_int", lambda a, b: ops.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1),
     rnd(2, 3), rnd(3, 4))
for spec, shapes in [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->", [(2, 3)]), ("i,j->ij", [(3,), (4,)]),
                     ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]),
                     ("ijk->ik", [(2, 3, 4)])]:
    case(f"einsum[{spec}]", lambda *x, s=spec: ops.einsum(s, *x), lambda *x, s=spec: torch.einsum(s, *x),
         *[rnd(*s) for s in shapes])
case("transpose", ops.transpose, lambda x: x.permute(2, 1, 0), rnd(2, 3, 4))
case("transpose_axes", lambda x: ops.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0), rnd(2, 3, 4))
case("reshape", lambda x: ops.reshape(x, (4, -1)), lambda x: x.reshape(4, -1), rnd(2, 3, 4))
case("expand_dims", lambda x: ops.expand_dims(x, -1), lambda x: x.unsqueeze(-1), rnd(2, 3))
case("squeeze", lambda x: ops.squeeze(x, 1), lambda x: x.squeeze(1), rnd(2, 1, 3))
case("concatenate", lambda a, b: ops.concatenate([a, b], axis=-1), lambda a, b: torch.cat([a, b], -1),
     rnd(2, 3), rnd(2, 2))
case("stack", lambda a, b: ops.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], 1), rnd(2, 3), rnd(2, 3))
case("split", lambda x: tuple(ops.split(x, [1, 3], axis=1)), lambda x: torch.tensor_split(x, [1, 3], dim=1),
     rnd(2, 5))
case("pad", lambda x: ops.pad(x, ((1, 2), (0, 3))), lambda x: _tpad(x, ((1, 2), (0, 3))), rnd(2, 3))
case("take_flat", lambda x: ops.take(x, np.array([0, 5, 5, 2])), lambda x: torch.take(x, torch.tensor([0, 5, 5, 2])),
     rnd(2, 3))
case("take_axis", lambda x: ops.take(x, np.array([[0, 2], [2, 2]]), axis=1),
     lambda x: x[:, torch.tensor([[0, 2], [2, 2]])], rnd(2, 3, 4))
case("getitem_basic", lambda x: x[1:, ::2, -1], lambda x: x[1:, ::2, -1], rnd(3, 5, 2))
case("getitem_adv", lambda x: x[[0, 2, 0, 0], 1:], lambda x: x[[0, 2, 0, 0], 1:], rnd(3, 4))
case("getitem_mask", lambda x: x[np.array([True, False, True])], lambda x: x[torch.tensor([True, False, True])],
     rnd(3, 2))
case("sigmoid", ops.sigmoid, torch.sigmoid, rnd(3, 4) * 4)
case("tanh", ops.tanh, torch.tanh, rnd(3, 4))
case("relu", ops.relu, torch.relu, np.array([-1.0, 0.0, 0.5, 2.0]))
case("leaky_relu", ops.leaky_relu, lambda x: F.leaky_relu(x, 0.2), rnd(3, 4))
case("elu", lambda x: ops.elu(x, 0.7), lambda x: F.elu(x, 0.7), away(3, 4))
case("selu", ops.selu, torch.selu, away(3, 4))
case("softplus", ops.softplus, F.softplus, rnd(3, 4) * 5)
case("softsign", ops.softsign, F.softsign, rnd(3, 4))
# torch's hardsigmoid backward multiplies by the float32 constant 1/6 even in float64 (error ~3e-8), so
# the float64 tolerance is looser here; test_hard_sigmoid_exact_gradient checks the exact slope 1/6.
case("hard_sigmoid", ops.hard_sigmoid, F.hardsigmoid, np.array([-4.0, -2.0, 0.0, 1.0, 2.9, 3.5]), tol64=1e-7)
case("silu", ops.silu, F.silu, rnd(3, 4) * 3)
case("gelu_tanh", lambda x: ops.gelu(x, True), lambda x: F.gelu(x, approximate="tanh"), rnd(3, 4) * 2)
case("gelu_erf", lambda x: ops.gelu(x, False), lambda x: F.gelu(x), rnd(3, 4) * 2)
case("softmax", ops.softmax, lambda x: torch.softmax(x, -1), rnd(3, 4) * 3)
case("softmax_axis0", lambda x: ops.softmax(x, 0), lambda x: torch.softmax(x, 0), rnd(3, 4))
case("log_softmax", ops.log_softmax, lambda x: torch.log_softmax(x, -1), rnd(3, 4) * 3)
case("log_softmax_axis1", lambda x: ops.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1), rnd(2, 3, 4))

TOL32 = 1e-5


def _close(actual, expected, tol, what):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nfn, tfn, inputs, tol64", CASES)
def test_forward_backward_match_torch(nfn, tfn, inputs, tol64, dtype):
    xs = [np.asarray(x, dtype=dtype) for x in inputs]
    nx = [nerve.tensor(x.copy(), requires_grad=True) for x in xs]
    hx = [(n * 1.0).retain_grad() for n in nx]  # non-leaf inputs: their .grad is the op's raw backward
    tx = [torch.tensor(x, requires_grad=True) for x in xs]
    nout, tout = nfn(*hx), tfn(*tx)
    nout = list(nout) if isinstance(nout, (tuple, list)) else [nout]
    tout = list(tout) if isinstance(tout, (tuple, list)) else [tout]
    assert len(nout) == len(tout)
    tol = TOL32 if dtype == "float32" else tol64
    cot = []
    for n, t in zip(nout, tout):
        assert n.shape == tuple(t.shape)
        assert n.dtype == np.dtype(dtype), f"output dtype {n.dtype}, expected {dtype}"
        _close(n.numpy(), t.detach().numpy(), tol, "forward")
        cot.append(R.standard_normal(n.shape).astype(dtype))
    if len(nout) == 1:
        nout[0].backward(cot[0])
    else:
        ops.sum(ops.stack([ops.sum(n * c) for n, c in zip(nout, cot)])).backward()
    torch.autograd.backward(tout, [torch.tensor(c) for c in cot])
    for i, (n, t) in enumerate(zip(nx, tx)):
        assert n.grad is not None, f"input {i} got no gradient"
        assert n.grad.dtype == np.dtype(dtype), f"grad dtype {n.grad.dtype}, expected {dtype}"
        assert hx[i].grad.dtype == np.dtype(dtype), f"backward gave dtype {hx[i].grad.dtype}, expected {dtype}"
        assert hx[i].grad.shape == n.shape
        _close(n.grad.numpy(), t.grad.numpy(), tol, f"gradient of input {i}")


def test_one_hot_matches_torch():
    lab = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(ops.one_hot(lab, 4).numpy(), F.one_hot(torch.tensor(lab), 4).numpy())


def test_hard_sigmoid_exact_gradient():
    x = nerve.tensor(np.array([-4.0, -2.0, 0.0, 1.0, 2.9, 3.5]), requires_grad=True)
    g = np.arange(1.0, 7.0)
    ops.hard_sigmoid(x).backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g * np.array([0, 1, 1, 1, 1, 0]) / 6)
