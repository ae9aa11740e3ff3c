"""Muon, ScheduleFreeAdamW, MultiOptimizer and OptimizerMap, with Keras 3.15 semantics.

Update rules: several steps against golden values that Keras 3.15.1 computed (torch backend, float32, the same
problem as ``_problem``: ``opt.apply(grads, vs)`` once per step on ``keras.Variable``s whose paths are
``PATHS``; keras is not imported here), and against float64 NumPy transcriptions of the formulas for more steps.
For ScheduleFreeAdamW the golden run replaced the torch Variable's in-place ``copy_`` assignment by a rebinding
(JAX's semantics): Keras 3.15 on torch reads "momentum_old" after the in-place update of the momentum, i.e.
computes x from the new z, which is not the paper's rule nor Keras-on-JAX's (see schedule_free_adamw.py).
Then tiny trainings, state round trips (bit-identical continuation, .keras files), configs, errors and the strict
CuPy stand-in.
"""
import json
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve import ops, optimizers
from nerve.autograd.tensor import Tensor
from nerve.optimizers import OptimizerMap
from nerve.optimizers.muon import newton_schulz
from nerve.variables import Variable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402
from optimizer_checks import resume_from_state, run  # noqa: E402

STEPS = 5
SHAPES = [(3, 2), (2,), (2, 2, 3), (4, 3), (2, 5)]
PATHS = ["layer/w0", "layer/w1", "layer/w2", "embedding/embeddings", "head/w4"]


def _problem(seed, steps=STEPS, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return w0, grads


def _variables(w0):
    return [Variable(w.copy(), name=p) for w, p in zip(w0, PATHS)]




# ------------------------------------------------------------------ golden values from Keras 3.15.1
# case: (seed of _problem, the optimizer; Keras was given the same arguments)
CASES = {
    "muon": (20, lambda: optimizers.Muon(0.01)),
    "muon_plain": (21, lambda: optimizers.Muon(0.05, nesterov=False, rms_rate=None, momentum=0.9, ns_steps=3,
                                               exclude_layers=["head"], adam_lr_ratio=0.1, weight_decay=0.1,
                                               adam_weight_decay=0.01, epsilon=1e-6, adam_beta_1=0.8,
                                               adam_beta_2=0.99)),
    "muon_keep_embeddings": (22, lambda: optimizers.Muon(0.02, exclude_embeddings=False, weight_decay=None,
                                                         adam_weight_decay=None)),
    "schedule_free": (23, lambda: optimizers.ScheduleFreeAdamW(0.05)),
    "schedule_free_warmup": (24, lambda: optimizers.ScheduleFreeAdamW(0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                                                                      warmup_steps=3, weight_decay=0.05)),
    "multi": (25, lambda: optimizers.MultiOptimizer(OptimizerMap(
        optimizers.SGD(0.1, momentum=0.9), {"layer/.*": optimizers.Adam(0.01), "head/w4": optimizers.Lion(0.01)}))),
}

# the weights after STEPS updates, flattened, as Keras 3.15.1 (torch backend, float32) computed them
KERAS_GOLDEN = {
    "muon": [
        [-0.360144049, 1.2159965, 1.41085958, 0.316346824, 0.413759351, -0.485778153],
        [-0.89616245, -0.882443726],
        [-1.03197563, 0.900268793, -0.0984979644, 0.083669439, -0.627575278, -1.04997885, -1.22092438, -0.827707529,
         0.599500597, -0.0037717449, -0.48362577, -0.266958535],
        [-1.41526043, 1.2181778, -1.17392671, 0.0309141688, 2.12014675, -2.51011229, -1.39399278, -0.696688771,
         0.0892549679, -1.71718359, -0.258405834, -0.0234041195],
        [0.18332836, -2.38768339, 0.643274009, 1.59952497, 0.438395351, -0.724500775, -0.611799479, -2.65526819,
         0.484449178, 1.49947631],
    ],
    "muon_plain": [
        [0.381127864, 1.29877067, -1.62217557, 1.64585352, 0.0661191493, -0.729007423],
        [-0.792937279, -1.08555901],
        [-0.200642139, 0.832711637, 0.574590921, 0.650656402, -1.69732165, -1.55322564, 1.55814993, 0.962633848,
         2.18535781, 1.22300208, -1.01156306, 1.26550794],
        [0.64961946, 0.236468464, -0.814170599, -0.014224967, -0.156787172, 0.880023777, 0.12421488, 1.59980714,
         -0.777620912, 0.486069649, 0.48664999, -0.846479416],
        [-1.17706347, 1.01372159, 0.515342534, -0.168645933, 0.404604137, -0.657472074, 0.238690138, -0.598771513,
         0.174481168, 0.969310105],
    ],
    "muon_keep_embeddings": [
        [-1.40666437, -1.22301936, -1.28841043, -0.640636206, 1.45358455, -1.61153305],
        [0.910587132, 1.17342281],
        [-0.403986603, -0.754476428, 0.416087329, 1.13188577, 2.218256, 0.917252898, 1.52958906, -0.402709574,
         -0.835831821, -1.78600466, -1.11558628, -0.350131571],
        [0.198573902, -1.30741787, 0.819886863, -0.115208216, -0.646366596, -0.762711465, 2.02620983, 0.140423626,
         -0.892789483, -0.972539067, 1.82891178, -0.596802771],
        [1.18646812, 1.42730117, -2.31303811, 1.36948812, -0.199472561, -1.07063103, -0.539243579, 0.546966732,
         0.375091136, 0.455911487],
    ],
    "schedule_free": [
        [0.441660523, 0.252223223, -0.15991734, -2.44381094, 0.444160193, -2.01102781],
        [0.80873996, 0.633405805],
        [0.90684104, 0.783784509, 0.328155667, -0.493981361, -0.222695872, 1.51620936, -0.554953337, -0.310087085,
         -0.654145718, -0.530811846, -0.389918596, 0.304338813],
        [-0.348647624, -0.307794541, -0.63124007, -0.0197929293, -1.3955096, 0.00490128575, 1.43136764, -0.671539903,
         0.048048269, 2.78440905, -1.0419836, -1.58928537],
        [-0.373617053, 1.7647928, 2.08576822, -1.17845237, 0.563623965, 0.00708817411, -0.584041119, -1.86601019,
         1.05642056, -0.71109122],
    ],
    "schedule_free_warmup": [
        [1.3282795, 0.534080386, -1.07937014, -0.219248742, -0.266834408, -0.21019727],
        [0.55156827, -1.28986418],
        [1.02667761, -1.07672369, -0.228001237, 0.914544344, 0.845806062, -0.766213179, 1.88874567, 0.481266469,
         -0.719732285, 0.153715104, -0.737737358, 0.448372453],
        [-1.34943891, 0.365823895, -1.58351338, 1.05501235, 0.169764698, 1.26368713, -0.561834276, -1.9780122,
         -1.53337932, -0.375776649, 1.96367204, 0.655156016],
        [1.31068552, -0.887453794, -0.544351399, -0.303228736, 1.20146954, -0.475451112, -0.282520413, 1.68044782,
         -0.79394424, 0.0145466086],
    ],
    "multi": [
        [0.379807979, -0.0469209589, -0.514796674, -2.28691196, 0.0231789127, 0.927521229],
        [1.0062145, -0.564322174],
        [2.19364619, 1.90214169, -0.246412724, -0.181776896, 1.00412583, -0.291275889, 0.215748474, 1.23242855,
         1.1517185, -0.556567609, -0.423822343, -0.587773442],
        [0.969443679, 0.476150662, 0.0838507414, 0.906272948, 0.725277543, 0.484198719, -1.86097074, -1.11997342,
         -0.0295249522, 0.601802588, -0.189421862, 2.22186542],
        [0.137630641, 0.227103278, 0.129962683, 0.482623339, 0.893978417, -0.560902417, 1.55853367, -0.769105136,
         0.527408719, -0.21632348],
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
def _ns64(u, steps=5, a=3.4445, b=-4.7750, c=2.0315):
    tall = u.shape[0] > u.shape[1]
    x = u.T if tall else u
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return x.T if tall else x


def _muon64(w0, grads, lr=0.02, mu=0.95, b1=0.9, b2=0.999, eps=1e-7, wd=0.004, rms=0.2):
    """Keras' Muon with its defaults (nesterov, exclude_embeddings) on PATHS, in float64."""
    ws = [w.astype(np.float64) for w in w0]
    ms, vs = [np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws]
    for t, gs in enumerate(grads, 1):
        for w, m, v, g, path in zip(ws, ms, vs, gs, PATHS):
            w -= lr * wd * w
            if w.ndim == 2 and "embedding" not in path:
                m[...] = mu * m + g
                w -= lr * _ns64(g + mu * m) * np.sqrt(max(w.shape)) * rms
            else:
                m[...] = b1 * m + (1 - b1) * g
                v[...] = b2 * v + (1 - b2) * g * g
                w -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return ws


def _schedule_free64(w0, grads, lr=0.05, b1=0.9, b2=0.999, eps=1e-8, warmup=4):
    """Defazio et al. 2024, Algorithm 2 with Keras' weights c_t = 1/t and linear warmup, in float64."""
    ys = [w.astype(np.float64) for w in w0]
    zs, xs, vs = [y.copy() for y in ys], [y.copy() for y in ys], [np.zeros_like(y) for y in ys]
    for t, gs in enumerate(grads, 1):
        lr_t = lr * min(t / warmup, 1.0)
        for y, z, x, v, g in zip(ys, zs, xs, vs, gs):
            v[...] = b2 * v + (1 - b2) * g * g
            z -= lr_t * g / (np.sqrt(v / (1 - b2 ** t)) + eps)
            x[...] = (1 - 1 / t) * x + z / t
            y[...] = (1 - b1) * z + b1 * x
    return ys, zs, xs


def test_muon_matches_the_formulas_by_hand():
    w0, grads = _problem(seed=30, steps=12)
    vs = run(optimizers.Muon(0.02), _variables(w0), grads)
    for v, want in zip(vs, _muon64(w0, grads)):
        np.testing.assert_allclose(v.data, want, rtol=1e-4, atol=2e-5)


def test_schedule_free_matches_the_paper_and_keeps_x_implicit():
    w0, grads = _problem(seed=31, steps=20)
    opt = optimizers.ScheduleFreeAdamW(0.05, warmup_steps=4)
    vs = run(opt, _variables(w0), grads)
    ys, zs, xs = _schedule_free64(w0, grads)
    for i, v in enumerate(vs):
        np.testing.assert_allclose(v.data, ys[i], rtol=1e-5, atol=1e-6)
        z = opt._momentums[i]
        np.testing.assert_allclose(z, zs[i], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose((v.data - 0.1 * z) / 0.9, xs[i], rtol=1e-4, atol=1e-5)  # x = (y − (1−β₁) z)/β₁


def test_newton_schulz_orthogonalises():
    rng = np.random.default_rng(0)
    for shape in [(4, 6), (6, 4), (3, 3, 5)]:
        g = rng.normal(size=shape)
        o = newton_schulz(g, 5, 3.4445, -4.7750, 2.0315)
        assert o.shape == g.shape
        for gi, oi in zip(g.reshape((-1,) + shape[-2:]), o.reshape((-1,) + shape[-2:])):
            s = np.linalg.svd(oi, compute_uv=False)
            assert np.all((s > 0.6) & (s < 1.25)), s  # the quintic maps every singular value near 1
            u, _, vt = np.linalg.svd(gi, full_matrices=False)
            polar = u @ vt
            assert np.sum(oi * polar) / (np.linalg.norm(oi) * np.linalg.norm(polar)) > 0.97
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        newton_schulz(np.ones(3), 5, 1.0, 1.0, 1.0)


def test_muon_uses_adam_where_keras_does():
    # Keras' rule: only 2-D variables take the Muon step, minus embeddings and the exclude_layers regexes
    w0, grads = _problem(seed=3, steps=1)
    for kwargs, adam in [({}, {"layer/w1", "layer/w2", "embedding/embeddings"}),
                         ({"exclude_embeddings": False}, {"layer/w1", "layer/w2"}),
                         ({"exclude_layers": ["^head", "w0$"]}, {"layer/w0", "layer/w1", "layer/w2",
                                                                "embedding/embeddings", "head/w4"})]:
        opt = optimizers.Muon(**kwargs)
        run(opt, _variables(w0), grads)
        _, arrays = opt.get_state()
        assert {k.rpartition("/")[0] for k in arrays if k.endswith("/velocity")} == adam
        assert {k.rpartition("/")[0] for k in arrays if k.endswith("/momentum")} == set(PATHS)


def test_muon_weight_decays_and_exclusions():
    # zero gradients: the Muon variables decay by weight_decay, the Adam ones by adam_weight_decay, at the base rate
    w0 = [np.ones(s, np.float32) for s in SHAPES]
    opt = optimizers.Muon(0.1, weight_decay=0.5, adam_weight_decay=0.2, adam_lr_ratio=0.01)
    opt.exclude_from_weight_decay(var_names=["w4"])
    vs = _variables(w0)
    opt.apply([np.zeros(s, np.float32) for s in SHAPES], vs)
    assert [float(v.data.ravel()[0]) for v in vs] == pytest.approx([0.95, 0.98, 0.98, 0.98, 1.0])


def test_schedule_free_first_step_and_warmup():
    # z₁ = y₁; after step 1 (c = 1) y = z = y₁ − α_1 g / (|g| + ε): every weight moves by α_1
    w0 = [np.float32([1.0, 2.0, 3.0])]
    g = [np.float32([0.5, -2.0, 0.0])]
    for warmup, lr1 in [(0, 0.5), (10, 0.05)]:
        opt = optimizers.ScheduleFreeAdamW(0.5, warmup_steps=warmup)
        v = Variable(w0[0].copy(), name="w")
        opt.apply(g, [v])
        np.testing.assert_allclose(v.data, [1.0 - lr1, 2.0 + lr1, 3.0], rtol=1e-6)
        np.testing.assert_allclose(opt._momentums[0], v.data, rtol=1e-6)


# ------------------------------------------------------------------ MultiOptimizer and OptimizerMap
def test_optimizer_map_lookup_as_keras():
    adam, sgd, rms = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    m = OptimizerMap(default_optimizer=rms)
    m["encoder/layer_0/dense"] = adam
    m["encoder/.*"] = sgd
    m["decoder"] = adam
    assert m["decoder"] is adam and m["encoder/layer_0/dense"] is adam            # exact key first
    assert m["encoder/layer_0/attention/query"] is sgd                           # else re.fullmatch
    assert m["decoder/layer_0/dense"] is rms and m["encoder"] is rms             # else the default
    assert len(m) == 3 and list(m) == ["encoder/layer_0/dense", "encoder/.*", "decoder"]
    m["enc.*"] = optimizers.Lion()
    with pytest.raises(ValueError, match="Multiple optimizers"):
        m["encoder/x"]
    del m["enc.*"]
    with pytest.raises(ValueError, match="already exists"):
        m["decoder"] = sgd
    with pytest.raises(ValueError, match="key must be a string"):
        m[3] = sgd
    with pytest.raises(ValueError, match="cannot be LossScaleOptimizer"):
        m["x"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(ValueError, match="cannot be MultiOptimizer"):
        m["x"] = optimizers.MultiOptimizer(OptimizerMap(optimizers.SGD()))
    with pytest.raises(ValueError, match="requires_closure"):
        m["x"] = optimizers.LBFGS()
    with pytest.raises(TypeError, match="default_optimizer"):
        OptimizerMap("adam")
    with pytest.raises(TypeError, match="must be a dictionary"):
        OptimizerMap(sgd, [("a", adam)])


def test_multi_optimizer_updates_each_group_like_its_optimizer():
    w0, grads = _problem(seed=7)
    make = {"layer/.*": lambda: optimizers.Adam(0.01), "head/w4": lambda: optimizers.Lion(0.01, weight_decay=0.1)}
    multi = optimizers.MultiOptimizer(OptimizerMap(optimizers.SGD(0.1, momentum=0.9),
                                                   {k: f() for k, f in make.items()}), loss_scale_factor=4.0)
    vs = _variables(w0)
    run(multi, vs, [[4.0 * g for g in gs] for gs in grads])     # the inner optimizers unscale
    groups = [([0, 1, 2], make["layer/.*"]()), ([4], make["head/w4"]()),
              ([3], optimizers.SGD(0.1, momentum=0.9))]
    for idx, opt in groups:
        ref = run(opt, [_variables(w0)[i] for i in idx], [[gs[i] for i in idx] for gs in grads])
        for i, r in zip(idx, ref):
            np.testing.assert_array_equal(vs[i].data, r.data)
    assert multi.iterations == STEPS and [o.iterations for o in multi.optimizers] == [STEPS] * 3
    assert [type(o).__name__ for o in multi.optimizers] == ["Adam", "Lion", "SGD"]
    assert all(o.loss_scale_factor == 4.0 for o in multi.optimizers)
    multi.loss_scale_factor = None
    assert all(o.loss_scale_factor is None for o in multi.optimizers)
    assert len(multi.variables) == sum(len(o.variables) for o in multi.optimizers) == 3 * 2 + 1 + 1
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate
    with pytest.raises(AttributeError, match="sub-optimizers"):
        multi.learning_rate = 0.1


def test_multi_optimizer_with_a_callable_and_missing_gradients():
    adam, sgd = optimizers.Adam(0.1), optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(lambda v: adam if "layer" in v.path else sgd)
    assert multi.optimizers == [] and multi.name == "multi_optimizer"
    w0, grads = _problem(seed=8, steps=2)
    vs = _variables(w0)
    multi.apply(grads[0], vs)
    assert multi.optimizers == [adam, sgd]
    before = [v.data.copy() for v in vs]
    with pytest.warns(UserWarning, match="gradients do not exist"):
        multi.apply([None, None, None, grads[1][3], grads[1][4]], vs)   # Adam's variables have none: it waits
    assert all(np.array_equal(v.data, b) for v, b in zip(vs[:3], before))
    assert (adam.iterations, sgd.iterations, multi.iterations) == (1, 2, 2)
    with pytest.raises(ValueError, match="no gradients"):
        multi.apply([None] * 5, vs)
    with pytest.raises(ValueError, match="one-to-one"):
        multi.apply(grads[0][:2], vs[:2])
    with pytest.raises(ValueError, match="unknown variable"):
        multi.apply(grads[0], vs[:4] + [Variable(np.zeros((2, 5), np.float32), name="other")])
    with pytest.raises(TypeError, match="optimizer_map must be"):
        optimizers.MultiOptimizer({"layer": adam})
    with pytest.raises(ValueError, match="nerve Optimizer"):
        optimizers.MultiOptimizer(lambda v: "adam").build(vs)


def test_multi_optimizer_finalizes_ema_per_optimizer():
    ema, plain = optimizers.SGD(0.1, use_ema=True), optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(OptimizerMap(plain, {"layer/w0": ema}))
    w0, grads = _problem(seed=9, steps=3)
    vs = run(multi, _variables(w0), grads)
    averages = ema._ema_averages[0].copy()
    others = [v.data.copy() for v in vs[1:]]
    multi.finalize_variable_values(vs)
    np.testing.assert_array_equal(vs[0].data, averages)
    assert all(np.array_equal(v.data, o) for v, o in zip(vs[1:], others))


# ------------------------------------------------------------------ tiny trainings, names, configs, state
def _regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.float32([[2.0], [-1.0], [0.5]]) + 1.0 + 0.1 * rng.normal(size=(64, 1))).astype(np.float32)
    w = Variable(np.random.default_rng(1).normal(scale=0.5, size=(3, 1)).astype(np.float32), name="dense/kernel")
    b = Variable(np.float32([0.1]), name="dense/bias")
    x, y = Tensor(x), Tensor(y)
    return (lambda: ops.mean(ops.square(ops.matmul(x, w) + b - y))), [w, b]


TRAIN = {"muon": {"class_name": "muon", "config": {"learning_rate": 0.2}},
         "schedule_free": {"class_name": "ScheduleFreeAdamW", "config": {"learning_rate": 0.1}},
         "multi": lambda: optimizers.MultiOptimizer(OptimizerMap(optimizers.SGD(0.1),
                                                                 {".*kernel": optimizers.Muon(0.2)}))}


@pytest.mark.parametrize("name", sorted(TRAIN))
def test_each_optimizer_fits_linear_regression(name):
    loss, vs = _regression()
    make = TRAIN[name]
    opt = make() if callable(make) else optimizers.get(make)
    first = float(loss().data)
    for _ in range(100):
        opt.minimize(loss, vs)
    assert float(loss().data) < 0.05 * first, name
    assert opt.iterations == 100 and all(a.dtype == np.float32 for a in opt.variables)


def test_fit_a_model_with_multi_optimizer_and_muon():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(4, 1))).astype(np.float32)
    model = nerve.Sequential([L.Input((4,)), L.Dense(16, activation="tanh", name="hidden"), L.Dense(1, name="out")])
    model.compile(optimizer=optimizers.MultiOptimizer(OptimizerMap(
        optimizers.ScheduleFreeAdamW(0.02), {"hidden/.*": optimizers.Muon(0.02)})), loss="mse")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.3 * first


def test_names_and_defaults():
    muon = optimizers.get("muon")
    assert type(muon) is optimizers.Muon and muon.name == "muon" and muon.learning_rate == 0.001
    assert (muon.momentum, muon.ns_steps, muon.nesterov, muon.rms_rate, muon.epsilon) == (0.95, 5, True, 0.2, 1e-7)
    assert (muon.muon_a, muon.muon_b, muon.muon_c) == (3.4445, -4.7750, 2.0315)
    assert (muon.weight_decay, muon.adam_weight_decay, muon.exclude_layers, muon.exclude_embeddings) == \
        (0.004, 0.004, [], True)
    sf = optimizers.get("schedulefreeadamw")
    assert type(sf) is optimizers.ScheduleFreeAdamW and sf.name == "schedule_free_adam_w"
    assert (sf.learning_rate, sf.beta_1, sf.beta_2, sf.epsilon, sf.warmup_steps, sf.weight_decay) == \
        (0.0025, 0.9, 0.999, 1e-8, 0, None)
    assert optimizers.MultiOptimizer(OptimizerMap(optimizers.SGD())).name == "multi_optimizer"
    for name in ("Muon", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap"):
        assert name in optimizers.__all__


def test_argument_errors():
    with pytest.raises(ValueError, match="exclude_layers"):
        optimizers.Muon(exclude_layers="head")
    with pytest.raises(ValueError, match="ns_steps"):
        optimizers.Muon(ns_steps=-1)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Muon(beta_1=0.9)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.ScheduleFreeAdamW(beta_1=0.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        optimizers.ScheduleFreeAdamW(warmup_steps=-1)
    with pytest.raises(TypeError, match="optimizer_map"):
        optimizers.get("multioptimizer")


@optimizers.base.registry.register_keras_serializable("test_more")
def _route(variable):
    return _ROUTE[0] if variable.ndim == 2 else _ROUTE[1]


_ROUTE = [optimizers.Muon(0.01), optimizers.Adam(0.01)]

ALL = {
    "muon": lambda: optimizers.Muon(0.01, exclude_layers=["w4"], use_ema=True, momentum=0.9, rms_rate=None),
    "schedule_free": lambda: optimizers.ScheduleFreeAdamW(0.02, warmup_steps=3, weight_decay=0.01,
                                                          gradient_accumulation_steps=2),
    "multi": lambda: optimizers.MultiOptimizer(OptimizerMap(
        optimizers.Nadam(0.01), {"layer/w[01]": optimizers.ScheduleFreeAdamW(0.01),
                                 "head/.*": optimizers.Muon(optimizers.schedules.ExponentialDecay(0.01, 2, 0.5))}),
        loss_scale_factor=2.0),
}


@pytest.mark.parametrize("name", sorted(ALL) + ["multi_callable"])
def test_config_round_trip(name):
    opt = optimizers.MultiOptimizer(_route) if name == "multi_callable" else ALL[name]()
    cfg = json.loads(json.dumps(optimizers.serialize(opt)))
    back = optimizers.deserialize(cfg)
    assert type(back) is type(opt) and back.get_config() == opt.get_config()
    assert optimizers.get(cfg).get_config() == opt.get_config()
    if name == "multi":
        assert [type(o).__name__ for o in back.optimizers] == ["ScheduleFreeAdamW", "Muon", "Nadam"]
        assert back.loss_scale_factor == 2.0 and all(o.loss_scale_factor == 2.0 for o in back.optimizers)
    if name == "multi_callable":
        assert back._optimizer_map is _route


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("restore", ["pending", "with_variables"])
def test_state_round_trip_is_bit_identical(name, restore):
    w0, grads = _problem(seed=1, steps=8)
    opt, opt2, vs, fresh = resume_from_state(ALL[name](), _variables, w0, grads, restore)
    for a, b in zip(vs, fresh):
        assert np.array_equal(a.data, b.data)
    assert opt2.iterations == opt.iterations
    if name == "multi":
        assert [o.iterations for o in opt2.optimizers] == [o.iterations for o in opt.optimizers] == [8] * 3
        assert all(np.array_equal(a, b) for a, b in zip(opt.variables, opt2.variables))


def test_multi_optimizer_state_errors():
    w0, grads = _problem(seed=2, steps=1)
    opt = ALL["multi"]()
    run(opt, _variables(w0), grads)
    state, arrays = opt.get_state()
    key = next(k for k in arrays if k.startswith("head/w4/"))
    with pytest.raises(ValueError, match="no slot"):
        ALL["multi"]().set_state(state, {k: a for k, a in arrays.items() if k != key}, variables=_variables(w0))
    other = optimizers.MultiOptimizer(OptimizerMap(optimizers.Nadam(0.01), {"head/.*": optimizers.Adam(0.01)}))
    with pytest.raises(ValueError, match="no Adam state"):
        other.set_state(state, arrays, variables=_variables(w0))


@pytest.mark.parametrize("name", ["muon", "multi"])
def test_saved_model_keeps_the_optimizer_state(tmp_path, name):
    model = nerve.Sequential([L.Input((3, 2)), L.Dense(4, name="layer"), L.Flatten(), L.Dense(1, name="head")])
    model.compile(optimizer=ALL[name](), loss="mse")
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in model.trainable_weights] for _ in range(5)]
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


# ------------------------------------------------------------------ the device path (strict CuPy stand-in)
REAL = fakecupy.real_cupy()

DEVICE = {
    "muon": lambda: optimizers.Muon(0.01, weight_decay=0.1),
    "schedule_free": lambda: optimizers.ScheduleFreeAdamW(0.05, warmup_steps=2, weight_decay=0.01),
    "multi": lambda: optimizers.MultiOptimizer(OptimizerMap(optimizers.ScheduleFreeAdamW(0.01),
                                                            {"layer/.*": optimizers.Muon(0.02, use_ema=True)})),
}


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name", sorted(DEVICE))
def test_updates_on_the_device_match_the_cpu(cp, name):
    w0, grads = _problem(seed=5, steps=6)
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
    assert sorted(arrays) == sorted(ref_arrays)
    pairs = [(cp.asnumpy(v.data), r.data) for v, r in zip(vs, ref)] + [(arrays[k], ref_arrays[k]) for k in ref_arrays]
    for got, want in pairs:
        if REAL is None:  # the stand-in computes with NumPy: bit for bit
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert opt.iterations == ref_opt.iterations
