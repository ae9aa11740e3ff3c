"""Update rules against torch.optim (where its formula is Keras') and against Keras 3's formulas written
out by hand in float64 NumPy (where torch differs: ε placement, ε-hat, Nadam's momentum schedule).

Findings pinned here:
- SGD (momentum, Nesterov), Adadelta, Nadam (torch momentum_decay=1) and AdamW/Adam/RMSprop/Adagrad/
  Adamax with ε = 0 match torch exactly in form (constant learning rate).
- Keras RMSprop and Adagrad put ε inside the square root; torch outside.
- Keras Adam/AdamW use ε-hat: ε is added to sqrt(v) before bias correction, i.e. torch's
  ε' = ε / sqrt(1 − β₂ᵗ); one step of torch Adam with that ε' equals one Keras step. Nadam uses the
  bias-corrected sqrt(v̂) + ε like torch.
- Keras Adamax adds ε to the norm in the denominator; torch adds it inside the max.
"""
import math

import numpy as np
import pytest
import torch

from nerve import optimizers
from nerve.variables import Variable

STEPS = 6
SHAPES = [(4, 3), (3,)]


def _problem(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[(scale * rng.normal(size=s)).astype(np.float32) for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def run_nerve(opt, w0, grads):
    vs = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(w0)]
    for gs in grads:
        opt.apply(gs, vs)
    return [v.data for v in vs]


def run_torch(make, w0, grads):
    ps = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = make(ps)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in ps]


def run_hand(rule, w0, grads, lr_at=None):
    """``rule(w, g, state, t, lr)`` updates float64 arrays; state is a per-variable dict."""
    ws = [w.astype(np.float64) for w in w0]
    states = [{} for _ in ws]
    for k, gs in enumerate(grads):
        lr = lr_at(k) if lr_at else None
        for w, g, st in zip(ws, gs, states):
            rule(w, g.astype(np.float64), st, k + 1, lr)
    return ws


def close(a, b, rtol=2e-5, atol=2e-6):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ torch-matching cases
TORCH_CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(0.1, momentum=0.8, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    "rmsprop_eps0": (lambda: optimizers.RMSprop(0.01, rho=0.8, epsilon=0.0),
                     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=0.0)),
    "rmsprop_centered_momentum_eps0": (
        lambda: optimizers.RMSprop(0.01, rho=0.9, momentum=0.5, centered=True, epsilon=0.0),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, eps=0.0)),
    "adagrad_eps0": (lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=0.0),
                     lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0)),
    "adadelta": (lambda: optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
                 lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6)),
    "adam_eps0": (lambda: optimizers.Adam(0.01, epsilon=0.0), lambda p: torch.optim.Adam(p, lr=0.01, eps=0.0)),
    "adam_amsgrad_eps0": (lambda: optimizers.Adam(0.01, epsilon=0.0, amsgrad=True),
                          lambda p: torch.optim.Adam(p, lr=0.01, eps=0.0, amsgrad=True)),
    "adamw_eps0": (lambda: optimizers.AdamW(0.01, weight_decay=0.1, epsilon=0.0),
                   lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, eps=0.0)),
    "adamax_eps0": (lambda: optimizers.Adamax(0.01, epsilon=0.0),
                    lambda p: torch.optim.Adamax(p, lr=0.01, eps=0.0)),
    "nadam": (lambda: optimizers.Nadam(0.01, epsilon=1e-7),
              lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0)),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch(case):
    make_nerve, make_torch = TORCH_CASES[case]
    w0, grads = _problem(seed=len(case))
    close(run_nerve(make_nerve(), w0, grads), run_torch(make_torch, w0, grads))


def test_adam_epsilon_is_epsilon_hat():
    # one Keras step with ε equals torch Adam with ε' = ε / sqrt(1 − β₂); with plain ε they differ
    w0, grads = _problem(seed=3, scale=1e-4)  # small gradients make ε matter
    eps, b2 = 1e-5, 0.999
    ours = run_nerve(optimizers.Adam(0.01, epsilon=eps), w0, grads[:1])
    hat = run_torch(lambda p: torch.optim.Adam(p, lr=0.01, eps=eps / math.sqrt(1 - b2)), w0, grads[:1])
    plain = run_torch(lambda p: torch.optim.Adam(p, lr=0.01, eps=eps), w0, grads[:1])
    close(ours, hat, rtol=1e-6, atol=1e-7)
    assert max(np.abs(a - b).max() for a, b in zip(ours, plain)) > 1e-4


# ------------------------------------------------------------------ Keras formulas by hand
def sgd_rule(mu, nesterov):
    def rule(w, g, st, t, lr):
        v = st.setdefault("v", np.zeros_like(w))
        v[...] = mu * v - lr * g
        w += mu * v - lr * g if nesterov else v
    return rule


def rmsprop_rule(lr, rho, eps, mu=0.0, centered=False):
    def rule(w, g, st, t, _):
        s = st.setdefault("s", np.zeros_like(w))
        s[...] = rho * s + (1 - rho) * g * g
        denom = s + eps
        if centered:
            a = st.setdefault("a", np.zeros_like(w))
            a[...] = rho * a + (1 - rho) * g
            denom = s - a * a + eps
        inc = lr * g / np.sqrt(denom)                    # ε inside the root
        if mu > 0:
            m = st.setdefault("m", np.zeros_like(w))
            m[...] = mu * m + inc
            inc = m
        w -= inc
    return rule


def adagrad_rule(lr, init, eps):
    def rule(w, g, st, t, _):
        acc = st.setdefault("acc", np.full_like(w, init))
        acc += g * g
        w -= lr * g / np.sqrt(acc + eps)
    return rule


def adam_rule(lr, b1, b2, eps, amsgrad=False):
    def rule(w, g, st, t, _):
        m, v = st.setdefault("m", np.zeros_like(w)), st.setdefault("v", np.zeros_like(w))
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vh = st.setdefault("vh", np.zeros_like(w))
            vh[...] = np.maximum(vh, v)
            v = vh
        w -= lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return rule


def adamax_rule(lr, b1, b2, eps):
    def rule(w, g, st, t, _):
        m, u = st.setdefault("m", np.zeros_like(w)), st.setdefault("u", np.zeros_like(w))
        m[...] = b1 * m + (1 - b1) * g
        u[...] = np.maximum(b2 * u, np.abs(g))
        w -= lr * m / ((1 - b1 ** t) * (u + eps))
    return rule


def nadam_rule(lr, b1, b2, eps):
    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** t)

    def rule(w, g, st, t, _):
        m, v = st.setdefault("m", np.zeros_like(w)), st.setdefault("v", np.zeros_like(w))
        prod = st.get("prod", 1.0) * mu(t)
        st["prod"] = prod
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        m_hat = mu(t + 1) * m / (1 - prod * mu(t + 1)) + (1 - mu(t)) * g / (1 - prod)
        w -= lr * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return rule


HAND_CASES = {
    "rmsprop": (lambda: optimizers.RMSprop(0.01), rmsprop_rule(0.01, 0.9, 1e-7)),
    "rmsprop_centered_momentum": (lambda: optimizers.RMSprop(0.01, momentum=0.9, centered=True),
                                  rmsprop_rule(0.01, 0.9, 1e-7, mu=0.9, centered=True)),
    "adagrad": (lambda: optimizers.Adagrad(0.05), adagrad_rule(0.05, 0.1, 1e-7)),
    "adam": (lambda: optimizers.Adam(0.01), adam_rule(0.01, 0.9, 0.999, 1e-7)),
    "adam_amsgrad": (lambda: optimizers.Adam(0.01, amsgrad=True), adam_rule(0.01, 0.9, 0.999, 1e-7, True)),
    "adamax": (lambda: optimizers.Adamax(0.01), adamax_rule(0.01, 0.9, 0.999, 1e-7)),
    "nadam": (lambda: optimizers.Nadam(0.01), nadam_rule(0.01, 0.9, 0.999, 1e-7)),
}


@pytest.mark.parametrize("case", sorted(HAND_CASES))
@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_matches_keras_formula(case, scale):
    make, rule = HAND_CASES[case]
    w0, grads = _problem(seed=7, scale=scale)
    close(run_nerve(make(), w0, grads), run_hand(rule, w0, grads), rtol=1e-5, atol=1e-6)


def test_rmsprop_epsilon_inside_root_differs_from_torch():
    w0, grads = _problem(seed=5, scale=1e-3)
    ours = run_nerve(optimizers.RMSprop(0.01, epsilon=1e-6), w0, grads)
    theirs = run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6), w0, grads)
    assert max(np.abs(a - b).max() for a, b in zip(ours, theirs)) > 1e-4


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_with_schedule_is_keras_form(nesterov):
    # with a changing rate Keras' v = μv − α_t g differs from torch's buf = μ buf + g; w −= α_t buf
    sched = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    w0, grads = _problem(seed=11)
    ours = run_nerve(optimizers.SGD(sched, momentum=0.9, nesterov=nesterov), w0, grads)
    close(ours, run_hand(sgd_rule(0.9, nesterov), w0, grads, lr_at=sched))
