"""Learning-rate schedules against their formulas, config round trips, and use inside an optimizer."""
import json
import math

import numpy as np
import pytest

from nerve import optimizers
from nerve.optimizers import schedules
from nerve.variables import Variable

STEPS = [0, 1, 5, 99, 100, 101, 250, 1000]


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    st = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5, staircase=True)
    for k in STEPS:
        assert s(k) == pytest.approx(0.1 * 0.5 ** (k / 100), rel=1e-12)
        assert st(k) == pytest.approx(0.1 * 0.5 ** (k // 100), rel=1e-12)


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    st = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    for k in STEPS:
        assert s(k) == pytest.approx(0.1 / (1 + 0.5 * k / 10), rel=1e-12)
        assert st(k) == pytest.approx(0.1 / (1 + 0.5 * (k // 10)), rel=1e-12)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [s(k) for k in (0, 100, 101, 200, 201, 10 ** 6)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="one more element"):
        schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5])


def test_cosine_decay_without_and_with_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    for k in STEPS:
        frac = min(k, 100) / 100
        assert s(k) == pytest.approx(0.1 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * frac)) + 0.1), rel=1e-12)
    w = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.2, warmup_steps=10)
    assert w(0) == 0.0 and w(5) == pytest.approx(0.1) and w(10) == pytest.approx(0.2)
    assert w(60) == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert w(110) == pytest.approx(0.0, abs=1e-12) and w(10 ** 5) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, decay_steps=0)


def test_polynomial_and_restarts():
    p = schedules.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=2.0)
    for k in STEPS:
        assert p(k) == pytest.approx((0.1 - 0.01) * (1 - min(k, 100) / 100) ** 2 + 0.01, rel=1e-12)
    r = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert r(0) == pytest.approx(1.0) and r(10) == pytest.approx(0.5)       # second period starts at 10
    assert r(30) == pytest.approx(0.25)                                      # third at 10 + 20
    assert r(20) == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi * 0.5)))


@pytest.mark.parametrize("sched", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True), schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.PiecewiseConstantDecay([3, 7], [0.3, 0.2, 0.1]), schedules.PolynomialDecay(0.1, 50),
    schedules.CosineDecay(0.1, 50, alpha=0.2, warmup_target=0.3, warmup_steps=5),
    schedules.CosineDecayRestarts(0.1, 20)])
def test_schedule_config_round_trip(sched):
    cfg = json.loads(json.dumps(schedules.serialize(sched)))
    back = schedules.deserialize(cfg)
    assert type(back) is type(sched) and back.get_config() == sched.get_config()
    assert [back(k) for k in range(0, 60, 7)] == [sched(k) for k in range(0, 60, 7)]


def test_optimizer_evaluates_schedule_at_iterations():
    sched = schedules.PiecewiseConstantDecay([1], [1.0, 0.5])
    opt = optimizers.SGD(sched)
    v = Variable(np.zeros(2, np.float32), name="v")
    seen = []
    for _ in range(3):
        seen.append(opt.learning_rate)
        opt.apply([np.ones(2, np.float32)], [v])
    assert seen == [1.0, 1.0, 0.5]  # steps 0, 1, 2
    np.testing.assert_allclose(v.data, [-2.5, -2.5])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1

