"""nerve.remat / RematScope (gradient checkpointing), StatelessScope and SymbolicScope (Keras 3 semantics)."""
import numpy as np
import pytest

import nerve
from nerve import layers, ops
from nerve.autograd import Tensor
from nerve.scopes import in_stateless_scope, in_symbolic_scope


def _nodes(t):
    """Names of the Function nodes reachable from ``t`` (its recorded graph)."""
    seen, stack, names = set(), [t._ctx], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(type(fn).__name__)
        stack.extend(x._ctx for x in fn.inputs if isinstance(x, Tensor))
    return names


def _block(seed=0):
    nerve.set_random_seed(seed)
    d1, d2 = layers.Dense(8, activation="tanh"), layers.Dense(3)
    d1.build((None, 4))
    d2.build((None, 8))
    return d1, d2


def _grads(ws):
    return [w.grad.numpy().copy() for w in ws]


def test_remat_function_matches_plain_gradients_and_keeps_no_inner_graph():
    d1, d2 = _block()
    x_np = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")

    def f(x):
        return d2(ops.sin(d1(x)) * 2.0)

    x = Tensor(x_np, requires_grad=True)
    plain = f(x)
    assert len(_nodes(plain)) > 3
    ops.sum(plain ** 2).backward()
    ws = d1.weights + d2.weights
    g_plain, gx_plain = _grads(ws), x.grad.numpy().copy()
    for w in ws:
        w.grad = None
    x2 = Tensor(x_np, requires_grad=True)
    out = nerve.remat(f)(x2)
    np.testing.assert_allclose(out.numpy(), plain.numpy(), rtol=1e-6)
    assert _nodes(out) == ["_Remat"]  # one node: the block's activations are not kept
    ops.sum(out ** 2).backward()
    for a, b in zip(_grads(ws), g_plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x2.grad.numpy(), gx_plain, rtol=1e-5, atol=1e-6)


def test_remat_reaches_weights_when_input_needs_no_gradient_and_nested_outputs():
    d1, _ = _block()
    x = Tensor(np.ones((2, 4), "float32"))  # data: no gradient wanted

    @nerve.remat
    def f(x):
        y = d1(x)
        return {"a": y, "b": (y * 3.0,)}

    out = f(x)
    assert _nodes(out["a"]) == ["_Remat"]
    (ops.sum(out["a"]) + ops.sum(out["b"][0])).backward()
    np.testing.assert_allclose(d1.bias.grad.numpy(), 4 * (1 - d1(x).numpy() ** 2).sum(0), rtol=1e-5)


def test_remat_same_dropout_mask_and_no_graph_without_grad():
    drop = layers.Dropout(0.5, seed=3)
    x = Tensor(np.ones((4, 6), "float32"), requires_grad=True)
    out = nerve.remat(lambda t: drop(t, training=True) * 1.0)(x)
    ops.sum(out).backward()  # the recomputation must draw the same mask as the forward
    np.testing.assert_allclose(x.grad.numpy(), out.numpy() / 1.0, rtol=1e-6)
    with nerve.no_grad():
        assert nerve.remat(lambda t: t * 2.0)(x)._ctx is None
    with pytest.raises(TypeError, match="remat: argument 'f' expected a callable"):
        nerve.remat(3)


def test_remat_scope_modes_and_gradients():
    x_np = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    grads = {}
    for mode in (None, "full", "list_of_layers", "larger_than", "activations"):
        nerve.set_random_seed(0)
        with nerve.RematScope(mode=mode, layer_names=["d_two"], output_size_threshold=10):
            d1 = layers.Dense(8, activation="tanh", name="d_one")
            d2 = layers.Dense(2, activation="sigmoid", name="d_two")
        assert (d1._remat_mode is None) == (mode is None)
        out = d2(d1(Tensor(x_np)))
        names = _nodes(out)
        assert ("_Remat" in names) == (mode in ("full", "list_of_layers", "larger_than"))
        if mode == "list_of_layers":
            assert names[0] == "_Remat" and names.count("_Remat") == 1
        if mode == "larger_than":  # 3x8 = 24 > 10 rematerialized, 3x2 = 6 not
            assert names[0] != "_Remat" and names.count("_Remat") == 1
        ops.sum(out).backward()
        grads[mode] = _grads(d1.weights + d2.weights)
    for mode, g in grads.items():
        for a, b in zip(g, grads[None]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=str(mode))
    assert nerve.rematerialization.get_current_remat_mode() is None
    with pytest.raises(ValueError, match="RematScope: argument 'mode'"):
        nerve.RematScope(mode="everything")


def test_remat_scope_model_fit_and_batchnorm_updated_once():
    nerve.set_random_seed(0)
    with nerve.RematScope(mode="full"):
        model = nerve.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                                  layers.BatchNormalization(), layers.Dense(1)])
    bn = model.layers[1]
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model.compile(optimizer="sgd", loss="mse")
    before = bn.moving_mean.numpy().copy()
    model.train_on_batch(x, np.zeros((16, 1), "float32"))
    h = np.maximum(x @ model.layers[0].kernel.numpy() + model.layers[0].bias.numpy(), 0)  # weights moved a bit
    expected = before * 0.99 + 0.01 * h.mean(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected, rtol=0.05, atol=1e-3)  # one update, not two


def test_stateless_scope_reads_mapped_values_and_records_assignments():
    v = nerve.Variable(np.ones((2, 2), "float32"), name="v")
    w = nerve.Variable(np.zeros(3, "float32"), name="w")
    mapped = np.full((2, 2), 5.0, "float32")
    with nerve.StatelessScope(state_mapping=[(v, mapped)]) as scope:
        assert in_stateless_scope()
        np.testing.assert_allclose((v * 2).numpy(), 10.0)
        v.assign(v * 3)
        w.assign_add(np.ones(3, "float32"))
        np.testing.assert_allclose(v.numpy(), 15.0)  # reads see the recorded value
        np.testing.assert_allclose(scope.get_current_value(v).numpy(), 15.0)
        np.testing.assert_allclose(scope.get_current_value(w).numpy(), 1.0)
    assert not in_stateless_scope()
    np.testing.assert_allclose(v.numpy(), 1.0)
    np.testing.assert_allclose(w.numpy(), 0.0)
    np.testing.assert_allclose(mapped, 5.0)  # the caller's array is never written
    assert scope.get_current_value(nerve.Variable(np.zeros(1, "float32"))) is None


def test_stateless_scope_layer_call_losses_and_errors():
    d = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    d.build((None, 3))
    k2 = np.full((3, 2), 2.0, "float32")
    with nerve.StatelessScope(state_mapping={d.kernel: k2}, collect_losses=True) as scope:
        np.testing.assert_allclose(d(np.ones((1, 3), "float32")).numpy(), 6.0)
        d.add_loss(Tensor(np.float32(1.5)))
    np.testing.assert_allclose(d(np.ones((1, 3), "float32")).numpy(), 3.0)
    assert len(scope.losses) == 1 and d.losses == []
    with pytest.raises(ValueError, match="expected the variable's shape"):
        nerve.StatelessScope(state_mapping=[(d.kernel, np.zeros((2, 2)))])
    with pytest.raises(ValueError, match="expected Variable keys"):
        nerve.StatelessScope(state_mapping=[(np.zeros(2), np.zeros(2))])


def test_symbolic_scope_flag_nests():
    assert not in_symbolic_scope()
    with nerve.SymbolicScope():
        assert in_symbolic_scope()
        with nerve.SymbolicScope():
            assert in_symbolic_scope()
        assert in_symbolic_scope()
    assert not in_symbolic_scope()
