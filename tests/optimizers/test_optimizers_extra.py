"""Ftrl, Lamb, Lion, Adafactor, LossScaleOptimizer and the base class' EMA, with Keras 3.15 semantics.

Update rules: several steps against golden values that Keras 3.15.1 computed (torch backend, float32, the same
problem as ``_problem``: ``opt.apply(grads, [keras.Variable(w) for w in w0])`` once per step; keras is not
imported here), against float64 NumPy transcriptions of the papers' / Keras' formulas for more steps, and
Adafactor against torch.optim.Adafactor (the same rule when there is no weight decay). Then tiny trainings,
state round trips (bit-identical continuation, .keras files), configs, errors and the strict CuPy stand-in.
"""
import json
import math
import os
import sys

import numpy as np
import pytest
import torch

import nerve
from nerve import layers as L
from nerve import ops, optimizers
from nerve.autograd.tensor import Tensor
from nerve.optimizers import schedules
from nerve.variables import Variable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402
from optimizer_checks import resume_from_state, run  # noqa: E402

STEPS = 5
SHAPES = [(3, 2), (2,), (2, 2, 3)]  # a matrix, a vector and a rank-3 tensor (Adafactor factors the last two axes)


def _problem(seed, steps=STEPS, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return w0, grads


def _variables(w0):
    return [Variable(w.copy(), name=f"layer/w{i}") for i, w in enumerate(w0)]




# ------------------------------------------------------------------ golden values from Keras 3.15.1
# case: (seed of _problem, the optimizer; Keras was given the same arguments)
CASES = {
    "ftrl": (10, lambda: optimizers.Ftrl(0.1, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                                         l1_regularization_strength=0.05, l2_regularization_strength=0.02,
                                         l2_shrinkage_regularization_strength=0.03, beta=0.1)),
    "ftrl_fixed_lr": (11, lambda: optimizers.Ftrl(0.2, learning_rate_power=0.0, initial_accumulator_value=0.0)),
    "lamb": (12, lambda: optimizers.Lamb(0.01)),
    "lamb_wd": (13, lambda: optimizers.Lamb(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1)),
    "lion": (14, lambda: optimizers.Lion(0.01)),
    "lion_wd": (15, lambda: optimizers.Lion(0.003, beta_1=0.95, beta_2=0.98, weight_decay=0.5)),
    "adafactor": (16, lambda: optimizers.Adafactor(0.01)),
    "adafactor_big_lr": (17, lambda: optimizers.Adafactor(0.9, beta_2_decay=-0.5, epsilon_2=1e-2, clip_threshold=0.5)),
    "adafactor_schedule": (18, lambda: optimizers.Adafactor(schedules.ExponentialDecay(0.3, 2, 0.5),
                                                            relative_step=False)),
}

# the weights after STEPS updates, flattened, as Keras 3.15.1 (torch backend, float32) computed them
KERAS_GOLDEN = {
    "ftrl": [
        [-0.459780186, -0.346221, -0.380265117, 0.0600440316, 0.218600139, 0.131223634],
        [0.297646642, 0.567865968],
        [0.28305307, -0.369669855, 0.0692051873, -0.605781913, -0.0626924634, -0.0610899031, 0.00769678364,
         -0.74943459, 0.0281587206, -0.226556391, -0.36322403, 0.1729642],
    ],
    "ftrl_fixed_lr": [
        [0.50284946, -0.231826633, -0.0201748498, 0.299885213, 0.231784374, 1.08261371],
        [0.478341877, 0.254899681],
        [0.083736226, 0.229862377, -1.34541929, 0.0107709523, -0.247778699, -0.436943054, -0.810129762,
         0.173449799, -0.0325414911, -1.07908535, 0.469432116, 0.282234907],
    ],
    "lamb": [
        [-0.0578203015, 1.08926249, 0.710499346, 0.77116251, 1.64542043, -1.16208994],
        [-0.574462712, -1.27941668],
        [-0.107706495, 1.05682325, -0.0569433868, 0.51239568, -1.90888965, 0.180552453, -0.942399442,
         1.75922942, 0.809773564, 0.952495694, -0.0677672923, 0.554657936],
    ],
    "lamb_wd": [
        [1.69753218, -2.99676585, 1.00442231, -0.327458382, 0.784608185, -0.00442379806],
        [1.91872287, 0.181755602],
        [-0.277544588, 0.498330414, 0.278587222, -0.538968682, -0.327280015, 0.753056645, 0.670254529,
         -0.792974591, -0.433322221, -1.80475044, 1.85553062, -0.317931354],
    ],
    "lion": [
        [0.685519755, -0.989474177, -1.58349037, -2.93497062, -0.363232166, 1.25760639],
        [0.0230726246, 0.54184401],
        [1.01323819, -0.872145832, 2.64228678, -0.846908271, 0.403553039, 2.74958086, -0.0842524171,
         0.104294516, -0.541879535, 0.364526451, -2.11668372, -0.656808734],
    ],
    "lion_wd": [
        [-1.40521836, -0.920589447, 0.388001651, -0.52913183, 0.518685877, 0.792295814],
        [-1.44769251, 1.00646758],
        [-0.588203609, 2.09338164, 0.708284974, -0.537968099, 0.208936244, 0.204397321, 0.318090111, 1.38584232,
         0.513904452, 1.65721095, 0.620495617, -0.161456913],
    ],
    "adafactor": [
        [-0.590069413, 0.635374665, 1.05447423, 0.964266658, 1.79286098, -0.376298666],
        [0.546394765, -0.365246385],
        [-1.46458447, -0.706853807, 0.132431105, -0.923872411, -0.202035636, 1.09382999, 0.582903564,
         0.576334834, 0.32104075, -0.171242878, -1.89643085, 1.03061008],
    ],
    "adafactor_big_lr": [
        [-0.444319725, 0.0475969911, 1.08271849, -1.78618097, -4.41786861, 1.22200358],
        [-0.194126368, -0.857465625],
        [-0.203290194, 0.174267203, -0.566775441, 0.0103831217, -2.73062468, 2.03087234, 2.57109094, -1.2636745,
         1.98310173, 1.29258454, 1.10286701, 0.70757854],
    ],
    "adafactor_schedule": [
        [-0.671139777, -1.11910236, 0.765859604, -1.01484382, 2.32208204, 0.829612732],
        [-0.120990299, 0.472497195],
        [2.64690495, 2.75931573, -0.674307287, 0.858617365, 0.591456413, -0.254258096, 0.143320352, 0.159646168,
         1.81721485, -0.854496419, 0.0611735098, 1.33481872],
    ],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras_golden_values(case):
    seed, make = CASES[case]
    w0, grads = _problem(seed)
    vs = run(make(), _variables(w0), grads)
    for v, want in zip(vs, KERAS_GOLDEN[case]):
        assert v.data.dtype == np.float32
        np.testing.assert_allclose(v.data.ravel(), want, rtol=2e-5, atol=1e-6)


# ------------------------------------------------------------------ the formulas by hand, float64
def ftrl_rule(n0=0.1, power=-0.5, l1=0.0, l2=0.0, l2s=0.0, beta=0.0):
    """McMahan et al. 2013, Algorithm 1: the per-coordinate closed form with sgn(z) (nerve clips z instead),
    Keras' 2·λ₂ and the L2 shrinkage g + 2 λ₂ₛ w."""
    p = -power

    def rule(w, g, st, t, lr):
        n = st.setdefault("n", np.full_like(w, n0))
        z = st.setdefault("z", np.zeros_like(w))
        n_new = n + g * g
        sigma = (n_new ** p - n ** p) / lr
        z += g + 2 * l2s * w - sigma * w
        w[...] = np.where(np.abs(z) <= l1, 0.0, -(z - np.sign(z) * l1) / ((beta + n_new ** p) / lr + 2 * l2))
        n[...] = n_new
    return rule


def lamb_rule(b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    """You et al. 2020, Algorithm 2 with Keras' decoupled weight decay (before the step) and φ = identity."""
    def rule(w, g, st, t, lr):
        m = st.setdefault("m", np.zeros_like(w))
        v = st.setdefault("v", np.zeros_like(w))
        w -= lr * wd * w
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        r = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        w_norm, r_norm = np.linalg.norm(w), np.linalg.norm(r)
        w -= lr * (w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0) * r
    return rule


def lion_rule(b1=0.9, b2=0.99, wd=0.0):
    """Chen et al. 2023, Algorithm 2."""
    def rule(w, g, st, t, lr):
        m = st.setdefault("m", np.zeros_like(w))
        w -= lr * wd * w
        w -= lr * np.sign(b1 * m + (1 - b1) * g)
        m[...] = b2 * m + (1 - b2) * g
    return rule


def adafactor_rule(decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    """Shazeer & Stern 2018, Algorithms 4 (factored, rank >= 2) and 5 (vectors), with update clipping."""
    def rule(w, g, st, t, lr):
        alpha = max(eps2, np.sqrt(np.mean(w * w))) * min(lr, 1 / math.sqrt(t))
        beta = 1 - t ** decay
        G = g * g + eps1
        if w.ndim >= 2:
            R = st["R"] = beta * st.get("R", 0.0) + (1 - beta) * G.mean(axis=-1)
            C = st["C"] = beta * st.get("C", 0.0) + (1 - beta) * G.mean(axis=-2)
            v = np.einsum("...i,...j->...ij", R, C) / R.mean(axis=-1)[..., None, None]   # R Cᵀ / (1ᵀ R)
        else:
            v = st["v"] = beta * st.get("v", 0.0) + (1 - beta) * G
        u = g / np.sqrt(v)
        w -= alpha * u / max(1.0, np.sqrt(np.mean(u * u)) / d)
    return rule


def run_hand(rule, w0, grads, lr_at):
    ws = [w.astype(np.float64) for w in w0]
    states = [{} for _ in ws]
    for k, gs in enumerate(grads):
        for w, g, st in zip(ws, gs, states):
            rule(w, g.astype(np.float64), st, k + 1, lr_at(k))
    return ws


HAND = {
    "ftrl": (lambda: optimizers.Ftrl(0.3, initial_accumulator_value=0.2, l1_regularization_strength=0.01,
                                     l2_regularization_strength=0.05, l2_shrinkage_regularization_strength=0.02,
                                     beta=0.5),
             ftrl_rule(n0=0.2, l1=0.01, l2=0.05, l2s=0.02, beta=0.5), lambda k: 0.3),
    "ftrl_power": (lambda: optimizers.Ftrl(0.1, learning_rate_power=-0.7, l1_regularization_strength=0.3),
                   ftrl_rule(power=-0.7, l1=0.3), lambda k: 0.1),
    "lamb": (lambda: optimizers.Lamb(0.02, weight_decay=0.05), lamb_rule(wd=0.05), lambda k: 0.02),
    "lion": (lambda: optimizers.Lion(0.005, beta_1=0.8, beta_2=0.95), lion_rule(0.8, 0.95), lambda k: 0.005),
    "adafactor": (lambda: optimizers.Adafactor(0.05), adafactor_rule(), lambda k: 0.05),
    "adafactor_clip": (lambda: optimizers.Adafactor(0.5, beta_2_decay=-0.6, epsilon_2=0.05, clip_threshold=0.3),
                       adafactor_rule(decay=-0.6, eps2=0.05, d=0.3), lambda k: 0.5),
    "adafactor_schedule": (lambda: optimizers.Adafactor(schedules.InverseTimeDecay(2.0, 1, 1.0)),
                           adafactor_rule(), lambda k: 2.0 / (1 + k)),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_matches_the_formulas_by_hand(name):
    make, rule, lr_at = HAND[name]
    w0, grads = _problem(seed=len(name), steps=12)
    vs = run(make(), _variables(w0), grads)
    for v, ref in zip(vs, run_hand(rule, w0, grads, lr_at)):
        np.testing.assert_allclose(v.data, ref, rtol=1e-4, atol=1e-5)


def test_adafactor_matches_torch_without_weight_decay():
    # torch.optim.Adafactor is the same algorithm (it clamps v at ε₁² where Keras adds ε₁ to g²: no difference for
    # nonzero gradients); it applies weight decay differently (after computing α_t), so none here
    w0, grads = _problem(seed=7, steps=8, shapes=SHAPES + [(4, 5)])
    for lr in (0.01, 0.5):
        ours = run(optimizers.Adafactor(lr), _variables(w0), grads)
        ps = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
        opt = torch.optim.Adafactor(ps, lr=lr, eps=(None, 1e-3))
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = torch.tensor(g)
            opt.step()
        for v, p in zip(ours, ps):
            np.testing.assert_allclose(v.data, p.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ properties of each rule
def test_ftrl_l1_gives_exact_zeros():
    vs = _variables([np.zeros((2, 2), np.float32)])
    opt = optimizers.Ftrl(0.1, l1_regularization_strength=2.5)
    opt.apply([np.float32([[1, -2], [0.5, 3]])], vs)                    # z = g from w = 0
    assert np.array_equal(vs[0].data == 0, [[True, True], [True, False]])  # exactly 0 where |z| <= λ₁


def test_lion_moves_every_weight_by_the_learning_rate():
    w0, grads = _problem(seed=3)
    vs = run(optimizers.Lion(0.01), _variables(w0), grads[:3])
    for v, w in zip(vs, w0):
        steps = np.abs(v.data - w)
        assert np.all(np.isin(np.round(steps / 0.01), [1.0, 3.0])), steps  # ±α per step: 3α or α after 3 steps


def test_lamb_trust_ratio():
    w = np.float32([[3.0, -4.0], [0.0, 0.0]])
    g = np.float32([[0.1, 0.2], [-0.3, 0.4]])
    vs = _variables([w, np.zeros(2, np.float32)])
    optimizers.Lamb(0.01).apply([g, np.float32([0.5, -2.0])], vs)
    # the step of a variable has norm α ‖w‖ (ratio ‖w‖/‖r‖), and is α r (ratio 1) for a zero variable
    np.testing.assert_allclose(np.linalg.norm(vs[0].data - w), 0.01 * 5.0, rtol=1e-5)
    np.testing.assert_allclose(vs[1].data, [-0.01, 0.01], rtol=1e-5)   # r = g/(|g| + ε) at the first step


def test_adafactor_keeps_factored_slots():
    vs = _variables([np.ones((3, 2), np.float32), np.ones(2, np.float32), np.ones((2, 4, 3), np.float32)])
    opt = optimizers.Adafactor()
    opt.apply([np.ones_like(v.data) for v in vs], vs)
    shapes = {k: a.shape for k, a in opt.get_state()[1].items()}
    assert shapes == {"layer/w0/velocity_row": (3,), "layer/w0/velocity_col": (2,), "layer/w1/velocity": (2,),
                      "layer/w2/velocity_row": (2, 4), "layer/w2/velocity_col": (2, 3)}


# ------------------------------------------------------------------ the base class' EMA (Keras 3 use_ema)
# Lion(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3) on _problem(42), 5 steps: the first two
# variables and their moving averages as Keras 3.15.1 computed them (the weights were overwritten at step 3)
EMA_WEIGHTS = [
    [0.313817084, -1.03088415, 0.761351228, 0.947664678, -1.92393517, -1.29507947],
    [0.13694042, -0.327142596],
]
EMA_AVERAGES = [
    [0.312917084, -1.02998412, 0.744251311, 0.948564649, -1.94103515, -1.2959795],
    [0.119840413, -0.328042597],
]


def test_ema_matches_keras():
    w0, grads = _problem(seed=42)
    opt = optimizers.Lion(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    vs = run(opt, _variables(w0), grads)
    for v, avg, want_w, want_avg in zip(vs, opt._ema_averages, EMA_WEIGHTS, EMA_AVERAGES):
        np.testing.assert_allclose(v.data.ravel(), want_w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(avg.ravel(), want_avg, rtol=1e-6, atol=1e-7)
    assert "layer/w0/average" in opt.get_state()[1]


def test_ema_argument_errors():
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Lion(use_ema=True, ema_momentum=1.5)
    for bad in (0.5, True, "3", -2):
        with pytest.raises(ValueError, match="ema_overwrite_frequency"):
            optimizers.Lamb(use_ema=True, ema_overwrite_frequency=bad)
    optimizers.Lamb(use_ema=False, ema_overwrite_frequency=0.5)          # only checked with use_ema, as Keras
    optimizers.Lamb(use_ema=True, ema_overwrite_frequency=0)             # 0 means never, as None (Keras)
    assert optimizers.Ftrl(use_ema=True, ema_overwrite_frequency=None).use_ema


# ------------------------------------------------------------------ LossScaleOptimizer
def test_loss_scale_optimizer_matches_keras():
    # Keras 3.15.1: LossScaleOptimizer(SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2), one variable
    # [1, -2], these (already scaled) gradients; (weights, dynamic_scale, step_counter, iterations) after each
    v = Variable(np.float32([1.0, -2.0]), name="v")
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    seq = [[8.0, 16.0], [4.0, -8.0], [np.inf, 1.0], [np.nan, 1.0], [2.0, 2.0], [16.0, 0.0], [1.0, 1.0]]
    keras = [([0.9, -2.2], 8.0, 1, 1), ([0.85, -2.1], 16.0, 0, 2), ([0.85, -2.1], 8.0, 0, 2),
             ([0.85, -2.1], 4.0, 0, 2), ([0.8, -2.15], 4.0, 1, 3), ([0.4, -2.15], 8.0, 0, 4),
             ([0.3875, -2.1625], 8.0, 1, 5)]
    for g, (w, scale, counter, iterations) in zip(seq, keras):
        opt.apply([np.float32(g)], [v])
        np.testing.assert_allclose(v.data, w, rtol=1e-6)
        assert (opt.dynamic_scale, opt.step_counter, opt.iterations) == (scale, counter, iterations)
    assert float(opt.scale_loss(Tensor(np.float32(1.5))).data) == 12.0


def _regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.float32([[2.0], [-1.0], [0.5]]) + 1.0 + 0.1 * rng.normal(size=(64, 1))).astype(np.float32)
    w = Variable(np.random.default_rng(1).normal(scale=0.5, size=(3, 1)).astype(np.float32), name="dense/kernel")
    b = Variable(np.float32([0.1]), name="dense/bias")
    x, y = Tensor(x), Tensor(y)
    return (lambda: ops.mean(ops.square(ops.matmul(x, w) + b - y))), [w, b]


def test_loss_scaling_in_float32_trains_exactly_like_the_inner_optimizer():
    # scale_loss, backward, unscale: with a power-of-two scale every gradient is exactly the unscaled one
    loss, vs = _regression()
    plain_loss, plain_vs = _regression()
    lso = optimizers.LossScaleOptimizer(optimizers.SGD(0.05, momentum=0.9), dynamic_growth_steps=5)
    plain = optimizers.SGD(0.05, momentum=0.9)
    first = float(loss().data)
    for _ in range(60):
        lso.minimize(loss, vs)
        plain.minimize(plain_loss, plain_vs)
    for a, b in zip(vs, plain_vs):
        assert np.array_equal(a.data, b.data)
    assert lso.iterations == lso.inner_optimizer.iterations == 60 and lso.dynamic_scale == 2.0 ** (15 + 12)
    assert float(loss().data) < 0.01 * first


def test_loss_scaling_skips_overflowing_steps_then_trains():
    # a scale of 2¹⁴⁰ overflows float32 (max ≈ 2¹²⁸): those steps are skipped and the scale halves until the
    # scaled gradients are finite; the weights never see an inf or a NaN
    loss, vs = _regression()
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.05), initial_scale=2.0 ** 140, dynamic_growth_steps=1000)
    first = float(loss().data)
    with np.errstate(over="ignore", invalid="ignore"):  # the overflowing backward passes
        for _ in range(150):
            opt.minimize(loss, vs)
            assert all(np.isfinite(v.data).all() for v in vs)
    skipped = 150 - opt.iterations
    assert 10 <= skipped <= 20 and opt.dynamic_scale == 2.0 ** (140 - skipped)
    assert float(loss().data) < 0.01 * first


@pytest.mark.parametrize("loss", ["mse", "sparse_categorical_crossentropy"])
def test_fit_with_loss_scaling_trains_like_the_inner_optimizer(loss):
    """The train step backpropagates optimizer.scale_loss(loss) (Keras's trainers), apply() divides the gradients
    by the same power of two: the same history as without scaling. SCCE on Dense layers would take the planned
    step, which seeds backward with ones: it stands aside for a scaling optimizer."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.float32([[1.0], [-2.0], [0.5]]) if loss == "mse" else rng.integers(0, 2, 64)
    histories = []
    for opt in (optimizers.SGD(0.05), optimizers.LossScaleOptimizer(optimizers.SGD(0.05)),
                optimizers.SGD(0.05, loss_scale_factor=8.0)):
        nerve.set_random_seed(0)
        model = nerve.Sequential([L.Input((3,)), L.Dense(4, activation="relu"), L.Dense(1 if loss == "mse" else 2)])
        model.compile(optimizer=opt, loss=loss if loss == "mse" else nerve.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        histories.append(model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"])
    assert histories[0] == histories[1] == histories[2]
    assert histories[0][-1] < histories[0][0]


def test_loss_scale_optimizer_delegates_to_the_inner_optimizer():
    inner = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5, loss_scale_factor=4.0)
    opt = optimizers.LossScaleOptimizer(inner, initial_scale=2.0)
    assert inner.loss_scale_factor is None        # the loss is scaled once, by the wrapper
    opt.learning_rate = 0.5                        # as ReduceLROnPlateau does
    assert inner.learning_rate == opt.learning_rate == 0.5
    v = Variable(np.float32([0.0]), name="e")
    opt.apply([np.float32([-2.0])], [v])           # w = 0.5 (g = -2 / 2), average = w
    opt.apply([np.float32([-2.0])], [v])           # w = 1.0, average = 0.75
    assert opt.variables == inner.variables and v.data[0] == 1.0
    opt.finalize_variable_values([v])
    assert v.data[0] == 0.75
    with pytest.raises(ValueError, match="must already be built"):
        optimizers.LossScaleOptimizer(optimizers.SGD()).apply([np.float32([1.0])])


def test_loss_scale_optimizer_errors():
    with pytest.raises(ValueError, match="dynamic=False"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="does not support `weight_decay`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), weight_decay=0.1)
    with pytest.raises(ValueError, match="does not support arguments: `foo`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), foo=1)
    with pytest.raises(TypeError, match="must be an Optimizer instance"):
        optimizers.LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="cannot wrap LBFGS"):
        optimizers.LossScaleOptimizer(optimizers.LBFGS())
    with pytest.raises(ValueError, match="initial_scale"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), initial_scale=0)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic_growth_steps=0)
    # the base arguments at their defaults are accepted (configs written by older Keras versions carry them)
    optimizers.LossScaleOptimizer(optimizers.SGD(), use_ema=False, clipnorm=None, ema_momentum=0.99)


# ------------------------------------------------------------------ tiny trainings, names, configs, state
TRAIN = {"ftrl": {"learning_rate": 0.5}, "lamb": {"learning_rate": 0.05}, "lion": {"learning_rate": 0.02},
         "adafactor": {"learning_rate": 0.1}}


@pytest.mark.parametrize("name", sorted(TRAIN))
def test_each_optimizer_fits_linear_regression(name):
    loss, vs = _regression()
    opt = optimizers.get({"class_name": name, "config": TRAIN[name]})
    first = float(loss().data)
    for _ in range(100):
        opt.minimize(loss, vs)
    assert float(loss().data) < 0.1 * first, name
    assert opt.iterations == 100 and all(a.dtype == np.float32 for a in opt.variables)


def test_names_and_defaults():
    for name, cls in [("ftrl", optimizers.Ftrl), ("Lamb", optimizers.Lamb), ("lion", optimizers.Lion),
                      ("adafactor", optimizers.Adafactor)]:
        opt = optimizers.get(name)
        assert type(opt) is cls and opt.name == name.lower() and opt.learning_rate == 0.001
    assert optimizers.Lion().beta_2 == 0.99 and optimizers.Lamb().epsilon == 1e-7
    assert optimizers.Adafactor().get_config()["epsilon_1"] == 1e-30
    assert optimizers.LossScaleOptimizer(optimizers.Adam()).name == "loss_scale_optimizer"
    with pytest.raises(ImportError, match="not supported in Keras 3"):
        optimizers.legacy.Adam(learning_rate=0.1)


def test_argument_errors():
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    for arg in ("initial_accumulator_value", "l1_regularization_strength", "l2_regularization_strength",
                "l2_shrinkage_regularization_strength"):
        with pytest.raises(ValueError, match=arg):
            optimizers.Ftrl(**{arg: -0.1})
    with pytest.raises(ValueError, match="degenerates to SignSGD"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adafactor(beta_2=0.9)


ALL = {
    "ftrl": lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01, use_ema=True),
    "lamb": lambda: optimizers.Lamb(schedules.ExponentialDecay(0.01, 3, 0.9), weight_decay=0.01),
    "lion": lambda: optimizers.Lion(0.001, gradient_accumulation_steps=2),
    "adafactor": lambda: optimizers.Adafactor(0.05, clipnorm=1.0),
    "loss_scale": lambda: optimizers.LossScaleOptimizer(optimizers.Nadam(0.01, use_ema=True), initial_scale=4.0,
                                                        dynamic_growth_steps=3),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_config_round_trip(name):
    opt = ALL[name]()
    cfg = json.loads(json.dumps(optimizers.serialize(opt)))
    back = optimizers.deserialize(cfg)
    assert type(back) is type(opt) and back.get_config() == opt.get_config()
    assert optimizers.get(cfg).get_config() == opt.get_config()
    if name == "loss_scale":
        assert type(back.inner_optimizer) is optimizers.Nadam and back.inner_optimizer.use_ema


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("restore", ["pending", "with_variables"])
def test_state_round_trip_is_bit_identical(name, restore):
    w0, grads = _problem(seed=1, steps=8)
    if name == "loss_scale":  # skipped steps and a shrunk scale are part of the state too
        grads[1][0][0, 0] = np.inf
        grads[5][1][0] = np.nan
    opt, opt2, vs, fresh = resume_from_state(ALL[name](), _variables, w0, grads, restore)
    for a, b in zip(vs, fresh):
        assert np.array_equal(a.data, b.data)
    assert opt2.iterations == opt.iterations and opt2.learning_rate == opt.learning_rate
    if name == "loss_scale":
        assert (opt2.dynamic_scale, opt2.step_counter) == (opt.dynamic_scale, opt.step_counter) != (4.0, 0)


@pytest.mark.parametrize("name", ["adafactor", "loss_scale"])
def test_saved_model_keeps_the_optimizer_state(tmp_path, name):
    model = nerve.Sequential([L.Input((3, 2)), L.Dense(4), L.Flatten(), L.Dense(1)])
    model.compile(optimizer=ALL[name](), loss="mse")
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in model.trainable_weights] for _ in range(5)]
    if name == "loss_scale":
        grads[2][0][0, 0] = np.inf
    for gs in grads[:4]:
        model.optimizer.apply(gs, model.trainable_weights)
    model.save(tmp_path / "m.keras")
    loaded = nerve.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for m in (model, loaded):
        m.optimizer.apply(grads[4], m.trainable_weights)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)
    if name == "loss_scale":
        assert loaded.optimizer.dynamic_scale == model.optimizer.dynamic_scale == 2.0


# ------------------------------------------------------------------ the device path (strict CuPy stand-in)
REAL = fakecupy.real_cupy()

DEVICE = {
    "ftrl": lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.05, l2_shrinkage_regularization_strength=0.1),
    "lamb": lambda: optimizers.Lamb(0.01, weight_decay=0.1),
    "lion": lambda: optimizers.Lion(0.01, use_ema=True, ema_overwrite_frequency=2),
    "adafactor": lambda: optimizers.Adafactor(0.1),
    "loss_scale": lambda: optimizers.LossScaleOptimizer(optimizers.SGD(0.1, momentum=0.9), initial_scale=8.0,
                                                        dynamic_growth_steps=2),
}


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name", sorted(DEVICE))
def test_updates_on_the_device_match_the_cpu(cp, name):
    w0, grads = _problem(seed=5, steps=6)
    if name == "loss_scale":
        grads[2][2][1, 0, 0] = np.inf
    ref_opt = DEVICE[name]()
    ref = run(ref_opt, _variables(w0), grads)
    opt = DEVICE[name]()
    with nerve.device("gpu"):
        vs = _variables(w0)
    assert all(isinstance(v.data, cp.ndarray) for v in vs)
    run(opt, vs, [[cp.asarray(g) for g in gs] for gs in grads])
    assert opt.variables and all(isinstance(s, cp.ndarray) for s in opt.variables)
    _, arrays = opt.get_state()
    _, ref_arrays = ref_opt.get_state()
    pairs = [(cp.asnumpy(v.data), r.data) for v, r in zip(vs, ref)] + [(arrays[k], ref_arrays[k]) for k in ref_arrays]
    for got, want in pairs:
        if REAL is None:  # the stand-in computes with NumPy: bit for bit
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert opt.iterations == ref_opt.iterations
