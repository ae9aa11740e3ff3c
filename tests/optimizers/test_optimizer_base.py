"""Base-class semantics: clipping, weight decay, None gradients, constraints, learning rate, EMA,
gradient accumulation, state round trips (bit-identical continuation), configs and ``get``."""
import json

import numpy as np
import pytest

from nerve import optimizers
from nerve.autograd.tensor import Tensor
from nerve.optimizers import schedules
from nerve.variables import Variable
from optimizer_checks import resume_from_state


def _vars(*arrays):
    return [Variable(np.asarray(a, np.float32), name=f"v{i}") for i, a in enumerate(arrays)]


def _g(*arrays):
    return [np.asarray(a, np.float32) for a in arrays]


def test_clipnorm_is_per_variable():
    vs = _vars([0, 0], [0, 0])
    optimizers.SGD(1.0, clipnorm=1.0).apply(_g([3, 4], [0.3, 0.4]), vs)
    np.testing.assert_allclose(vs[0].data, [-0.6, -0.8], rtol=1e-6)   # norm 5 -> 1
    np.testing.assert_allclose(vs[1].data, [-0.3, -0.4], rtol=1e-6)   # norm 0.5 kept


def test_global_clipnorm_scales_all_together():
    vs = _vars([0, 0], [0])
    optimizers.SGD(1.0, global_clipnorm=2.5).apply(_g([3, 4], [0]), vs)
    np.testing.assert_allclose(vs[0].data, [-1.5, -2.0], rtol=1e-6)
    vs = _vars([0])
    optimizers.SGD(1.0, global_clipnorm=1.0).apply(_g([np.inf]), vs)
    assert np.isnan(vs[0].data).all()  # a non-finite norm poisons the update, as in Keras


def test_clipvalue_and_exclusive_clipping():
    vs = _vars([0, 0, 0])
    optimizers.SGD(1.0, clipvalue=0.5).apply(_g([2, -3, 0.1]), vs)
    np.testing.assert_allclose(vs[0].data, [-0.5, 0.5, -0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


def test_decoupled_weight_decay_and_exclusions():
    w, b = Variable(np.float32([1.0, 2.0]), name="kernel"), Variable(np.float32([1.0]), name="bias")
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply(_g([1, 1], [1]), [w, b])
    np.testing.assert_allclose(w.data, np.float32([1, 2]) * (1 - 0.1 * 0.5) - 0.1, rtol=1e-6)
    np.testing.assert_allclose(b.data, [0.9], rtol=1e-6)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_list=[w])
    w2 = Variable(np.float32([1.0]), name="w")
    opt2 = optimizers.AdamW(0.1, weight_decay=0.5)
    opt2.exclude_from_weight_decay(var_list=[w2])
    opt2.apply(_g([0]), [w2])          # zero gradient, excluded: nothing moves
    assert w2.data[0] == 1.0
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


def test_none_gradients_are_skipped():
    vs = _vars([1.0], [1.0])
    opt = optimizers.Adam(0.1)
    with pytest.warns(UserWarning, match="do not exist"):
        opt.apply([None, np.float32([1.0])], vs)
    assert vs[0].data[0] == 1.0 and vs[1].data[0] < 1.0 and opt.iterations == 1
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply([None, None], vs)


def test_constraint_applied_after_update_and_tensor_grads():
    v = Variable(np.float32([0.5, -0.5]), name="c")
    v.constraint = lambda a: np.clip(a, 0.0, None)
    optimizers.SGD(1.0).apply([Tensor(np.float32([-1.0, -1.0]))], [v])
    np.testing.assert_allclose(v.data, [1.5, 0.5])
    optimizers.SGD(1.0).apply_gradients([(Tensor(np.float32([2.0, 2.0])), v)])
    np.testing.assert_allclose(v.data, [0.0, 0.0])


def test_unknown_variable_and_shape_errors():
    vs = _vars([1.0])
    opt = optimizers.SGD()
    opt.apply(_g([1.0]), vs)
    with pytest.raises(ValueError, match="unknown variable"):
        opt.apply(_g([1.0]), _vars([1.0]))
    with pytest.raises(ValueError, match="shape"):
        opt.apply(_g([1.0, 2.0]), vs)
    opt.apply(_g([1.0]))                     # built: variables may be omitted
    assert opt.iterations == 2


def test_learning_rate_property_and_setter():
    opt = optimizers.RMSprop()
    assert opt.learning_rate == 0.001
    opt.learning_rate = 0.01                 # as ReduceLROnPlateau does
    assert opt.learning_rate == 0.01 and opt.get_config()["learning_rate"] == 0.01
    opt.learning_rate = np.float32(0.5)
    assert isinstance(opt.learning_rate, float)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(learning_rate="fast")
    opt.learning_rate = lambda: 0.25          # a callable without arguments, as Keras allows
    assert opt.learning_rate == 0.25


def test_gradient_accumulation_averages():
    a, b = _vars([0.0]), _vars([0.0])
    acc = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    acc.apply(_g([1.0]), a)
    assert a[0].data[0] == 0.0 and acc.iterations == 0
    acc.apply(_g([3.0]), a)
    optimizers.SGD(1.0).apply(_g([2.0]), b)
    assert a[0].data[0] == b[0].data[0] == -2.0 and acc.iterations == 1


def test_ema_and_finalize():
    v = Variable(np.float32([0.0]), name="e")
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    opt.apply(_g([-1.0]), [v])                 # w = 1, average = w (first step)
    opt.apply(_g([-1.0]), [v])                 # w = 2, average = 0.5*1 + 0.5*2
    assert v.data[0] == 2.0
    opt.finalize_variable_values([v])
    assert v.data[0] == 1.5


def test_ema_overwrite_frequency():
    v = Variable(np.float32([0.0]), name="e")
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    opt.apply(_g([-1.0]), [v])
    opt.apply(_g([-1.0]), [v])                 # 2nd update: w is overwritten by the average
    assert v.data[0] == 1.5


def test_keras_style_custom_optimizer():
    from nerve import ops

    class SignSGD(optimizers.Optimizer):
        def build(self, variables):
            super().build(variables)
            self.ms = self.add_optimizer_variables(variables, "m")

        def update_step(self, gradient, variable, learning_rate):
            m = self.ms[self._get_variable_index(variable)]
            self.assign(m, ops.add(ops.multiply(m, 0.5), gradient))
            self.assign_sub(variable, ops.multiply(ops.sign(m), learning_rate))

    v = Variable(np.float32([1.0, 1.0]), name="s")
    opt = SignSGD(learning_rate=0.1)
    opt.apply(_g([2.0, -3.0]), [v])
    np.testing.assert_allclose(v.data, [0.9, 1.1], rtol=1e-6)
    assert opt.name == "sign_sgd" and "s/m" in opt.get_state()[1]


def test_adam_subclass_update_step_and_per_variable_calls():
    """Adam updates all variables in one loop; a subclass' own update_step is still called per variable, and
    Adam.update_step called directly gives the same update as apply."""
    calls = []

    class Logged(optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            calls.append(variable.name)
            super().update_step(gradient, variable, learning_rate)

    a, b = _vars([1.0, 2.0]), _vars([1.0, 2.0])
    Logged(0.1).apply(_g([0.5, -1.0]), a)
    assert calls == [a[0].name]
    optimizers.Adam(0.1).apply(_g([0.5, -1.0]), b)
    np.testing.assert_array_equal(a[0].data, b[0].data)
    c = _vars([1.0, 2.0])
    opt = optimizers.Adam(0.1)
    opt.build(c)
    opt.update_step(np.float32([0.5, -1.0]), c[0], 0.1)
    np.testing.assert_array_equal(c[0].data, b[0].data)


def test_loss_scale_factor():
    v = _vars([0.0])
    optimizers.SGD(1.0, loss_scale_factor=4.0).apply(_g([8.0]), v)
    assert v[0].data[0] == -2.0


ALL = {
    "sgd": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adam": lambda: optimizers.Adam(schedules.ExponentialDecay(0.01, 3, 0.9), amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.01, clipnorm=1.0),
    "adamax": lambda: optimizers.Adamax(0.01, global_clipnorm=1.0),
    "nadam": lambda: optimizers.Nadam(0.01, use_ema=True),
}


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("restore", ["pending", "with_variables"])
def test_state_round_trip_is_bit_identical(name, restore):
    rng = np.random.default_rng(1)
    w0 = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in w0] for _ in range(8)]
    opt, opt2, vs, fresh = resume_from_state(
        ALL[name](), lambda ws: [Variable(w.copy(), name=f"layer/w{i}") for i, w in enumerate(ws)], w0, grads, restore)
    arrays = opt.get_state()[1]
    for a, b in zip(vs, fresh):
        assert np.array_equal(a.data, b.data)
    assert opt2.iterations == opt.iterations and opt2.learning_rate == opt.learning_rate
    assert set(arrays) >= {f"layer/w0/{n}" for _, n, _ in opt._slots}


def test_set_state_errors():
    opt = optimizers.Adam()
    vs = _vars([1.0, 2.0])
    opt.apply(_g([1.0, 1.0]), vs)
    state, arrays = opt.get_state()
    other = optimizers.Adam()
    with pytest.raises(ValueError, match="shape"):
        other.set_state(state, arrays, variables=_vars([1.0]))
    with pytest.raises(ValueError, match="no slot"):
        optimizers.Adam().set_state(state, {}, variables=_vars([1.0, 2.0]))


@pytest.mark.parametrize("name", sorted(ALL))
def test_config_round_trip(name):
    opt = ALL[name]()
    cfg = json.loads(json.dumps(optimizers.serialize(opt)))
    back = optimizers.deserialize(cfg)
    assert type(back) is type(opt) and back.get_config() == opt.get_config()
    assert optimizers.get(cfg).get_config() == opt.get_config()


def test_get_identifiers():
    for s, cls in [("sgd", optimizers.SGD), ("Adam", optimizers.Adam), ("rmsprop", optimizers.RMSprop),
                   ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta), ("adamw", optimizers.AdamW),
                   ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam), ("lbfgs", optimizers.LBFGS)]:
        assert type(optimizers.get(s)) is cls
    opt = optimizers.Nadam()
    assert optimizers.get(opt) is opt and optimizers.get(None) is None
    assert optimizers.get({"class_name": "sgd", "config": {"learning_rate": 0.5}}).learning_rate == 0.5
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        optimizers.get("adm")
    with pytest.raises(ValueError, match="could not interpret"):
        optimizers.get(3)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(betas=(0.9, 0.99))
    assert optimizers.SGD().name == "SGD" and optimizers.Adam().name == "adam"
    assert optimizers.SGD().get_config()["learning_rate"] == 0.01 and optimizers.AdamW().weight_decay == 0.004
