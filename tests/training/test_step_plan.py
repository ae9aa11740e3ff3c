"""The planned training step (nerve/training/step_plan.py) computes exactly what the eager graph step computes:
same weights, same optimizer state, same gradients in .grad, same logs, bit for bit; models it cannot take
run eagerly."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.ops import jit
from nerve.training.step_plan import StepPlan

R = np.random.default_rng(4)
X = R.standard_normal((70, 4, 5)).astype("float32")   # 70 = 2 x 32 + a last batch of 6
Y = R.integers(0, 3, 70)


def _model(plan, acts=("relu", "tanh"), bias=True, freeze_first=False, metrics=None, optimizer="adam", reg=None):
    nerve.set_random_seed(7)
    m = nerve.Sequential([L.Input((4, 5)), L.Flatten(), L.Dense(6, activation=acts[0], use_bias=bias),
                          L.Dense(5, activation=acts[1], kernel_regularizer=reg), L.Dense(3)])
    if freeze_first:
        m.layers[1].trainable = False
    m.compile(optimizer=optimizer, loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=metrics, jit_compile="auto" if plan else False)
    return m


def _train(m, **kw):
    h = m.fit(X, Y, batch_size=32, epochs=3, verbose=0, shuffle=True, **kw)
    out = m.train_on_batch(X[:32], Y[:32], return_dict=True)
    grads = [None if w.grad is None else w.grad.numpy().copy() for w in m.weights]
    return h.history, out, [w.numpy().copy() for w in m.weights], [np.asarray(s).copy() for s in
                                                                    m.optimizer.variables], grads


CASES = {
    "relu_tanh_adam": {},
    "sigmoid_linear_sgd": dict(acts=("sigmoid", "linear"), optimizer="sgd"),
    "no_bias_rmsprop": dict(bias=False, optimizer="rmsprop"),
    "frozen_first_layer": dict(freeze_first=True),
    "with_metrics": dict(metrics=["accuracy"]),
}


@pytest.mark.parametrize("jit_on", [True, False], ids=["compiled_kernels", "numpy"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_planned_step_is_bit_identical_to_the_eager_step(case, jit_on):
    old = jit.set_enabled(jit_on)
    try:
        planned = _model(True, **CASES[case])  # each model made, then trained: the same seed, the same shuffles
        a = _train(planned)
        eager = _model(False, **CASES[case])
        b = _train(eager)
    finally:
        jit.set_enabled(old)
    assert isinstance(planned._step_plan, StepPlan) and eager.__dict__.get("_step_plan") is None
    assert a[0] == b[0] and a[1] == b[1]  # history and the last step's logs
    for got, want in zip(a[2] + a[3], b[2] + b[3]):  # weights, optimizer slots
        np.testing.assert_array_equal(got, want)
    for got, want in zip(a[4], b[4]):  # .grad left as the graph leaves it (None for the frozen layer)
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_array_equal(got, want)


def test_float64_models_take_the_plan_too():
    with nerve.backend.precision("float64"):
        x = X.astype("float64")
        planned = _model(True)
        hp = planned.fit(x, Y, batch_size=32, epochs=2, verbose=0).history
        eager = _model(False)
        he = eager.fit(x, Y, batch_size=32, epochs=2, verbose=0).history
    assert isinstance(planned._step_plan, StepPlan) and hp == he
    for a, b in zip(planned.weights, eager.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_models_the_plan_does_not_cover_run_eagerly():
    m = _model(True, reg="l2")  # a regularizer adds a loss term: no plan
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    assert m._step_plan is None
    m = _model(True)
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0, sample_weight=np.ones(70))  # weighted batches: eager
    hw = m.fit(X, Y, batch_size=32, epochs=1, verbose=0, sample_weight=np.ones(70), shuffle=False).history
    assert isinstance(m._step_plan, StepPlan)  # planned for unweighted batches
    e = _model(False)
    e.fit(X, Y, batch_size=32, epochs=1, verbose=0, sample_weight=np.ones(70))
    he = e.fit(X, Y, batch_size=32, epochs=1, verbose=0, sample_weight=np.ones(70), shuffle=False).history
    assert hw == he
    r = _model(True)
    r.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    r.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    assert r._step_plan is None


def test_out_of_range_labels_raise_the_usual_error_on_the_plan():
    m = _model(True)
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    assert isinstance(m._step_plan, StepPlan)
    with pytest.raises(ValueError, match=r"expected class labels in \[0, 3\).*got labels in \[0, 7\]"):
        m.train_on_batch(X[:4], np.array([0, 1, 7, 2]))


def test_recompiling_or_growing_the_model_drops_the_plan():
    m = _model(True)
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    plan = m._step_plan
    m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    assert isinstance(m._step_plan, StepPlan) and m._step_plan is not plan
    m.add(L.Dense(3))  # a new layer without a compile: the plan no longer applies, the step runs eagerly
    assert not m._step_plan.applies(X[:32], Y[:32], None)


def test_fit_takes_the_planned_step_after_the_first_batch(monkeypatch):
    calls = []
    run = StepPlan.run
    monkeypatch.setattr(StepPlan, "run", lambda self, x, y: calls.append(len(x)) or run(self, x, y))
    m = _model(True)
    m.fit(X, Y, batch_size=32, epochs=2, verbose=0)
    assert calls == [32, 6] + [32, 32, 6]  # the first batch runs eagerly and builds the loss, then every one


def test_the_plan_on_the_gpu_path_matches_the_eager_gpu_step(monkeypatch):
    """A model made under nerve.device("gpu"): device batches take the plan (on the strict CuPy stand-in here,
    or a real GPU), with the eager step's results."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fakecupy
    real = fakecupy.real_cupy() is not None
    calls = []
    run = StepPlan.run
    monkeypatch.setattr(StepPlan, "run", lambda self, x, y: calls.append(len(x)) or run(self, x, y))
    old = jit.set_enabled(False)
    try:
        out = []
        with fakecupy.gpu_module() as cp:
            for plan in (True, False):
                with nerve.device("gpu"):
                    m = _model(plan, metrics=["accuracy"])
                h = m.fit(cp.asarray(X), cp.asarray(Y), batch_size=32, epochs=2, verbose=0).history
                out.append((h, [w.numpy().copy() for w in m.weights]))
    finally:
        jit.set_enabled(old)
    assert calls == [32, 6, 32, 32, 6]
    if real:  # cuBLAS: float32 tolerance between two runs is not promised bit for bit
        np.testing.assert_allclose(out[0][0]["loss"], out[1][0]["loss"], rtol=1e-6)
    else:
        assert out[0][0] == out[1][0]
        for a, b in zip(out[0][1], out[1][1]):
            np.testing.assert_array_equal(a, b)


def test_a_batch_of_another_shape_takes_the_eager_step():
    """The plan takes only the per-sample shape an eager step has checked against the layers' input specs: (5, 4)
    has the 20 features of (4, 5), and goes through the eager step (which decides what to make of it)."""
    m = _model(True)
    m.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    assert m._step_plan.applies(X[:8], Y[:8], None)
    assert not m._step_plan.applies(X[:8].reshape(8, 5, 4), Y[:8], None)
    assert not m._step_plan.applies(X[:8].astype("float64"), Y[:8], None)
