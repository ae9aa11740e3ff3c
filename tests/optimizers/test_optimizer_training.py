"""Tiny trainings: linear regression with nerve tensors and ops; every optimizer reduces the loss."""
import numpy as np
import pytest

from nerve import ops, optimizers
from nerve.autograd.tensor import Tensor
from nerve.variables import Variable

CONFIGS = {"sgd": {"learning_rate": 0.05}, "rmsprop": {"learning_rate": 0.01}, "adagrad": {"learning_rate": 0.3},
           # Adadelta's first steps are about sqrt(ε): the default ε = 1e-7 needs thousands of steps here
           "adadelta": {"learning_rate": 1.0, "epsilon": 1e-3}, "adam": {"learning_rate": 0.05},
           "adamw": {"learning_rate": 0.05}, "adamax": {"learning_rate": 0.05}, "nadam": {"learning_rate": 0.05}}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.float32([[2.0], [-1.0], [0.5]]) + 1.0 + 0.1 * rng.normal(size=(64, 1))).astype(np.float32)
    return Tensor(x), Tensor(y)


def _model():
    w = Variable(np.zeros((3, 1), np.float32), name="dense/kernel")
    b = Variable(np.zeros(1, np.float32), name="dense/bias")
    return w, b


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_each_optimizer_fits_linear_regression(name):
    x, y = _data()
    w, b = _model()
    opt = optimizers.get({"class_name": name, "config": CONFIGS[name]})

    def loss():
        return ops.mean(ops.square(ops.matmul(x, w) + b - y))
    first = float(loss().data)
    for _ in range(100):
        for v in (w, b):
            v.grad = None
        value = loss()
        value.backward()
        opt.apply_gradients([(w.grad, w), (b.grad, b)])
    last = float(loss().data)
    assert last < 0.2 * first, (name, first, last)
    assert w.data.dtype == np.float32 and opt.iterations == 100
    assert all(a.dtype == np.float32 for a in opt.variables)


def test_lbfgs_float32_linear_regression():
    x, y = _data()
    w, b = _model()
    opt = optimizers.LBFGS()

    def closure():
        return ops.mean(ops.square(ops.matmul(x, w) + b - y))
    first = opt.minimize(closure, [w, b])
    opt.step(closure)
    assert float(closure().data) < 0.02 * first
    np.testing.assert_allclose(w.data[:, 0], [2.0, -1.0, 0.5], atol=0.05)
