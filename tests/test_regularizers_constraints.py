"""Regularizers (value and gradient, Keras penalties without 1/2) and constraints (Keras formulas)."""
import json

import numpy as np
import pytest
import torch

import nerve
from nerve import constraints as C
from nerve import regularizers as R
from nerve.saving import registry

RS = np.random.default_rng(2)
W = RS.normal(size=(5, 3))


@pytest.mark.parametrize("reg,value,grad", [
    (R.L1(), 0.01 * np.abs(W).sum(), 0.01 * np.sign(W)),
    (R.L2(), 0.01 * (W ** 2).sum(), 0.02 * W),
    (R.L1(0.3), 0.3 * np.abs(W).sum(), 0.3 * np.sign(W)),
    (R.L2(l2=0.5), 0.5 * (W ** 2).sum(), 1.0 * W),
    (R.L1L2(l1=0.1, l2=0.2), 0.1 * np.abs(W).sum() + 0.2 * (W ** 2).sum(), 0.1 * np.sign(W) + 0.4 * W),
    (R.L1L2(), 0.0, np.zeros_like(W)),
])
def test_regularizer_value_and_gradient(reg, value, grad):
    w = nerve.tensor(W, requires_grad=True)
    out = reg(w)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), value, rtol=1e-12)
    if value:
        out.backward()
        np.testing.assert_allclose(w.grad.numpy(), grad, rtol=1e-12)
        nerve.gradcheck(reg, [W])


def test_orthogonal_regularizer_against_torch():
    for mode, dim in (("rows", 1), ("columns", 0)):
        reg = R.OrthogonalRegularizer(factor=0.1, mode=mode)
        w = nerve.tensor(W, requires_grad=True)
        out = reg(w)
        out.backward()
        tw = torch.tensor(W, requires_grad=True)
        u = torch.nn.functional.normalize(tw, dim=dim, eps=1e-7)
        prod = u @ u.T if mode == "rows" else u.T @ u
        n = prod.shape[0]
        ref = 0.1 * 0.5 * (prod * (1 - torch.eye(n, dtype=prod.dtype))).abs().sum() / (n * (n - 1) / 2)
        ref.backward()
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-10)
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_regularizer_defaults_and_validation():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01 and R.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert R.L2(None).l2 == 0.01 and R.L1L2(l1=None, l2=0.1).get_config() == {"l1": 0.0, "l2": 0.1}
    with pytest.raises(ValueError, match="'l2'.*non-negative"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="'l1'"):
        R.L1("big")
    with pytest.raises(ValueError, match="did you mean 'l2'"):
        R.get("l22")
    assert isinstance(R.get("l1_l2"), R.L1L2) and isinstance(R.get("L2"), R.L2) and R.get(None) is None
    assert float(R.L1L2()(nerve.tensor(W)).item()) == 0.0


EPS = 1e-7


def norms(w, axis):
    return np.sqrt((w ** 2).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("con,ref", [
    (C.MaxNorm(), lambda w: w * np.clip(norms(w, 0), 0, 2) / (EPS + norms(w, 0))),
    (C.MaxNorm(max_value=1.0, axis=1), lambda w: w * np.clip(norms(w, 1), 0, 1) / (EPS + norms(w, 1))),
    (C.NonNeg(), lambda w: w * (w >= 0)),
    (C.UnitNorm(), lambda w: w / (EPS + norms(w, 0))),
    (C.UnitNorm(axis=[0, 1]), lambda w: w / (EPS + norms(w, (0, 1)))),
    (C.MinMaxNorm(min_value=0.5, max_value=1.5, rate=0.7, axis=0),
     lambda w: w * (0.7 * np.clip(norms(w, 0), 0.5, 1.5) + 0.3 * norms(w, 0)) / (EPS + norms(w, 0))),
    (C.MinMaxNorm(), lambda w: w * np.clip(norms(w, 0), 0, 1) / (EPS + norms(w, 0))),
])
def test_constraint_formulas(con, ref):
    w = RS.normal(size=(4, 3)) * 3
    np.testing.assert_allclose(con(w), ref(w), rtol=1e-12)
    out = con(w.astype(np.float32))
    assert out.dtype == np.float32
    t = con(nerve.tensor(w))
    assert isinstance(t, nerve.Tensor) and not t.requires_grad
    np.testing.assert_allclose(t.numpy(), ref(w), rtol=1e-12)


def test_constraint_effects():
    w = RS.normal(size=(6, 4)) * 5
    assert (norms(C.MaxNorm(1.0)(w), 0) <= 1.0 + 1e-6).all()
    np.testing.assert_allclose(norms(C.UnitNorm()(w), 0), 1.0, rtol=1e-6)
    assert (C.NonNeg()(w) >= 0).all()
    small = w * 1e-3
    np.testing.assert_allclose(C.MaxNorm(2.0)(small), small, rtol=1e-4)  # inside the ball: unchanged (up to eps)


ALL = [R.L1(0.2), R.L2(0.3), R.L1L2(0.1, 0.4), R.OrthogonalRegularizer(0.2, "columns"), C.MaxNorm(3.0, axis=1),
       C.NonNeg(), C.UnitNorm(axis=[0, 1]), C.MinMaxNorm(0.1, 2.0, 0.5, 1)]


@pytest.mark.parametrize("obj", ALL, ids=lambda v: type(v).__name__)
def test_config_round_trip(obj):
    cfg = obj.get_config()
    assert type(obj).from_config(cfg).get_config() == cfg
    kind = "regularizers" if isinstance(obj, R.Regularizer) else "constraints"
    ser = json.loads(json.dumps(registry.serialize(obj)))
    back = registry.deserialize(ser, kind=kind)
    assert type(back) is type(obj)
    mod = R if kind == "regularizers" else C
    assert type(mod.deserialize(mod.serialize(obj))) is type(obj)
    w = RS.normal(size=(4, 3))
    a, b = obj(w), back(w)
    np.testing.assert_allclose(np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b)), rtol=1e-12)


def test_constraints_get():
    for n, c in (("max_norm", C.MaxNorm), ("non_neg", C.NonNeg), ("unit_norm", C.UnitNorm),
                 ("min_max_norm", C.MinMaxNorm), ("MaxNorm", C.MaxNorm)):
        assert isinstance(C.get(n), c)
    assert C.get(None) is None
    with pytest.raises(ValueError, match="did you mean 'max_norm'"):
        C.get("max_nrom")
    assert registry.deserialize("non_neg", kind="constraints") is C.NonNeg
