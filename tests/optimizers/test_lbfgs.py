"""L-BFGS: optimum of an L2-regularised logistic regression against scipy, a tiny MLP against scipy's
L-BFGS-B from the same start and against SGD at equal iteration counts, closures, state and config."""
import json

import numpy as np
import pytest
from scipy import optimize

from nerve import ops, optimizers
from nerve.autograd.tensor import Tensor
from nerve.optimizers.linesearch import cubic_minimizer
from nerve.variables import Variable

LAM = 0.1


def _logistic_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4))
    y = (x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3 + 0.8 * rng.normal(size=80) > 0).astype(np.float64)
    return x, y[:, None]


def _logistic_loss_np(theta, x, y):
    w, b = theta[:4], theta[4]
    z = x @ w + b
    loss = np.mean(np.logaddexp(0, z) - y[:, 0] * z) + 0.5 * LAM * w @ w
    p = 1 / (1 + np.exp(-z))
    gw = x.T @ (p - y[:, 0]) / len(y) + LAM * w
    return loss, np.append(gw, np.mean(p - y[:, 0]))


def _logistic_closure(x, y, w, b):
    xt, yt = Tensor(x), Tensor(y)

    def closure():
        z = ops.matmul(xt, w) + b
        return ops.mean(ops.softplus(z) - yt * z) + 0.5 * LAM * ops.sum(w * w)
    return closure


def test_logistic_regression_reaches_scipy_optimum():
    x, y = _logistic_data()
    ref = optimize.minimize(_logistic_loss_np, np.zeros(5), args=(x, y), jac=True, method="L-BFGS-B",
                            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
    w = Variable(np.zeros((4, 1)), dtype="float64", name="w")
    b = Variable(np.zeros(1), dtype="float64", name="b")
    opt = optimizers.LBFGS()
    closure = _logistic_closure(x, y, w, b)
    opt.minimize(closure, [w, b])
    for _ in range(4):
        opt.step(closure)
    assert float(closure().data) == pytest.approx(ref.fun, abs=1e-10)
    np.testing.assert_allclose(np.append(w.data[:, 0], b.data), ref.x, atol=1e-5)
    assert opt.n_iter <= 40 and opt.iterations == 5


def _mlp_data():
    rng = np.random.default_rng(1)
    x = np.linspace(-2, 2, 40)[:, None]
    return x, np.sin(2 * x) + 0.05 * rng.normal(size=x.shape)


def _mlp_params(seed=2, hidden=8):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(1, hidden)) * 0.8, np.zeros(hidden), rng.normal(size=(hidden, 1)) * 0.5, np.zeros(1)]


def _mlp_closure(params, x, y):
    xt, yt = Tensor(x), Tensor(y)

    def closure():
        w1, b1, w2, b2 = params
        pred = ops.matmul(ops.tanh(ops.matmul(xt, w1) + b1), w2) + b2
        return ops.mean(ops.square(pred - yt))
    return closure


def _mlp_loss_np(theta, x, y, shapes):
    parts, k = [], 0
    for s in shapes:
        n = int(np.prod(s))
        parts.append(theta[k:k + n].reshape(s))
        k += n
    w1, b1, w2, b2 = parts
    h = np.tanh(x @ w1 + b1)
    r = h @ w2 + b2 - y
    loss = np.mean(r ** 2)
    dr = 2 * r / len(y)
    dh = dr @ w2.T * (1 - h ** 2)
    grads = [x.T @ dh, dh.sum(0), h.T @ dr, dr.sum(0)]
    return loss, np.concatenate([g.ravel() for g in grads])


def test_tiny_mlp_matches_scipy_and_beats_sgd():
    x, y = _mlp_data()
    init = _mlp_params()
    iters = 150
    shapes = [p.shape for p in init]
    ref = optimize.minimize(_mlp_loss_np, np.concatenate([p.ravel() for p in init]), args=(x, y, shapes),
                            jac=True, method="L-BFGS-B", options={"maxiter": iters, "maxcor": 10})
    params = [Variable(p.copy(), dtype="float64", name=f"p{i}") for i, p in enumerate(init)]
    opt = optimizers.LBFGS(max_iter=iters, max_eval=2 * iters)
    closure = _mlp_closure(params, x, y)
    start = opt.minimize(closure, params)
    ours = float(closure().data)
    assert ours < 0.02 * start
    assert ours <= 1.5 * ref.fun + 1e-4          # as good as scipy from the same start

    # SGD with as many updates as L-BFGS took iterations: plain SGD is > 10x worse, momentum > 2x
    for momentum, factor in [(0.0, 0.1), (0.9, 0.5)]:
        sgd_params = [Variable(p.copy(), dtype="float64", name=f"q{i}") for i, p in enumerate(init)]
        sgd, sgd_closure = optimizers.SGD(0.1, momentum=momentum), _mlp_closure(sgd_params, x, y)
        for _ in range(opt.n_iter):
            sgd.minimize(sgd_closure, sgd_params)
        assert ours < factor * float(sgd_closure().data)


def test_closure_may_call_backward_and_no_line_search():
    x, y = _logistic_data()
    w = Variable(np.zeros((4, 1)), dtype="float64", name="w")
    b = Variable(np.zeros(1), dtype="float64", name="b")
    inner = _logistic_closure(x, y, w, b)
    calls = []

    def closure():
        loss = inner()
        loss.backward()
        calls.append(1)
        return loss
    opt = optimizers.LBFGS(line_search=None, learning_rate=0.5, max_iter=30)
    first = opt.minimize(closure, [w, b])
    assert float(inner().data) < 0.8 * first and len(calls) == opt.func_evals


def test_requires_closure_and_rejected_arguments():
    opt = optimizers.get("lbfgs")
    assert opt.requires_closure and not optimizers.Adam.requires_closure
    v = Variable(np.zeros(2), name="v")
    with pytest.raises(TypeError, match="step\\(closure\\)"):
        opt.apply([np.ones(2)], [v])
    with pytest.raises(ValueError, match="not built"):
        optimizers.LBFGS().step(lambda: None)
    with pytest.raises(ValueError, match="line_search"):
        optimizers.LBFGS(line_search="armijo")
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.LBFGS(weight_decay=0.1)


def test_state_round_trip_and_config():
    x, y = _mlp_data()
    init = _mlp_params(seed=5)
    a = [Variable(p.copy(), dtype="float64", name=f"p{i}") for i, p in enumerate(init)]
    opt = optimizers.LBFGS(max_iter=5, history_size=4)
    ca = _mlp_closure(a, x, y)
    for _ in range(3):
        opt.minimize(ca, a)
    state, arrays = opt.get_state()
    state = json.loads(json.dumps(state))
    b = [Variable(v.data.copy(), dtype="float64", name=f"p{i}") for i, v in enumerate(a)]
    opt2 = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert opt2.get_config() == opt.get_config()
    opt2.set_state(state, arrays)
    cb = _mlp_closure(b, x, y)
    for _ in range(2):
        opt.step(ca)
        opt2.minimize(cb, b)
    for va, vb in zip(a, b):
        assert np.array_equal(va.data, vb.data)
    assert opt2.n_iter == opt.n_iter and opt2.iterations == opt.iterations


def test_cubic_minimizer_finds_the_cubic_minimum():
    f = lambda t: (t - 1.0) ** 3 - 3 * (t - 1.0) + 2  # noqa: E731  local minimum at t = 2
    df = lambda t: 3 * (t - 1.0) ** 2 - 3  # noqa: E731
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0), 0.0, 10.0) == pytest.approx(2.0)
    assert cubic_minimizer(3.0, f(3.0), df(3.0), 0.5, f(0.5), df(0.5), 0.0, 10.0) == pytest.approx(2.0)
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0), 0.0, 1.5) == 1.5
