"""Tensor and autograd semantics: fan-out, accumulation, graph freeing, no_grad, detach, retain_grad,
error messages, debug mode, the seeded RNG and the dtype policy."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nerve
from nerve import backend, ops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def leaf(values, dtype=np.float64):
    return nerve.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- accumulation and graph lifetime
def test_fan_out_sums_gradients():
    x = leaf([1.0, -2.0, 3.0])
    y = x * x + ops.exp(x) - 2.0 * x  # x used 4 times (3 distinct ops)
    ops.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + np.exp(x.numpy()) - 2.0, rtol=1e-12)


def test_fan_out_of_intermediate_three_times():
    x = leaf([0.5, 1.5])
    h = ops.tanh(x)
    y = h * h * h  # h used 3 times: d/dx tanh^3 = 3 tanh^2 (1 - tanh^2)
    ops.sum(y).backward()
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 3 * t ** 2 * (1 - t ** 2), rtol=1e-12)


def test_diamond_graph():
    x = leaf([2.0])
    a, b = x * 3.0, x + 1.0
    (a * b).sum().backward()  # d/dx 3x (x + 1) = 6x + 3
    np.testing.assert_allclose(x.grad.numpy(), [15.0])


def test_grads_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 2 * x.numpy())
    x.zero_grad()
    assert x.grad is None


def test_accumulated_grad_keeps_leaf_dtype():
    x = leaf([1.0, 2.0], np.float32)
    for _ in range(2):  # a float64 constant makes a float64 gradient; .grad stays float32
        (x * np.array([1.0, 2.0])).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_leaf_grads_do_not_alias_each_other_or_the_callers_array():
    p, q = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = np.array([1.0, 1.0])
    (p + q).backward(g)
    assert not np.shares_memory(p.grad.data, q.grad.data)
    assert not np.shares_memory(p.grad.data, g)
    p.grad.data *= 10  # e.g. an optimizer clipping in place must not touch q.grad
    np.testing.assert_array_equal(q.grad.numpy(), [1.0, 1.0])
    r = leaf([[1.0, 2.0]])
    s = leaf([1.0, 2.0])
    (ops.reshape(r, (2,)) + s).sum().backward()
    assert not np.shares_memory(r.grad.data, s.grad.data)


def test_graph_is_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = ops.sum(ops.exp(x))
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = ops.sum(x * x)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_backward_through_freed_subgraph_raises():
    x = leaf([1.0])
    h = x * 2.0
    (h * 3.0).sum().backward()
    with pytest.raises(RuntimeError, match="already freed"):
        (h * 4.0).sum().backward()


def test_backward_on_leaf_and_with_explicit_grad():
    x = leaf(3.0)
    x.backward()
    assert float(x.grad) == 1.0
    y = leaf([1.0, 2.0])
    (y * 2.0).backward(nerve.tensor(np.array([1.0, -1.0])))
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, -2.0])


def test_deep_chain_has_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(3000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


def test_reflected_operators_with_numpy_on_the_left():
    x = leaf([1.0, 2.0, 3.0])
    ys = [np.ones(3) * x, np.ones(3) + x, np.ones(3) - x, np.ones(3) / x, np.ones((2, 3)) @ x, 2.0 ** x]
    assert all(isinstance(y, nerve.Tensor) and y.requires_grad for y in ys)
    ops.sum(ops.stack([ops.sum(y) for y in ys])).backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 1 + 1 - 1 - 1 / xv ** 2 + 2 + np.log(2) * 2 ** xv, rtol=1e-12)


# ---------------------------------------------------------------- no_grad, detach, retain_grad
def test_no_grad_builds_no_graph():
    x = leaf([1.0, 2.0])
    with nerve.no_grad():
        y = ops.relu(x * 2.0 + 1.0)
    assert y._ctx is None and y.requires_grad is False
    assert backend.config.grad_enabled
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = leaf([1.0])

    @nerve.no_grad()
    def f():
        a = x * 2.0
        with nerve.enable_grad():
            b = x * 3.0
        return a, b

    a, b = f()
    assert a._ctx is None and b._ctx is not None


def test_constants_build_no_graph():
    y = nerve.tensor([1.0, 2.0]) * 3.0
    assert y._ctx is None and not y.requires_grad


def test_detach_stops_gradient_and_shares_data():
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert d._ctx is None and not d.requires_grad
    y = ops.sum(x * d)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), d.numpy())
    assert np.shares_memory(x.detach().data, x.data)
    assert ops.stop_gradient(x)._ctx is None


def test_retain_grad_on_intermediate():
    x = leaf([1.0, 2.0])
    h = (x * 3.0).retain_grad()
    k = ops.sum(h * h)
    k.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 6 * h.numpy())
    h2 = x * 1.0
    ops.sum(h2).backward()
    assert h2.grad is None  # not retained by default


def test_requires_grad_needs_float():
    with pytest.raises(TypeError, match="float"):
        nerve.tensor(np.array([1, 2]), requires_grad=True)


def test_setitem_on_graph_tensor_is_refused():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="in-place"):
        y[0] = 5.0


# ---------------------------------------------------------------- errors name op, argument, expected, actual
def test_backward_non_scalar_without_grad():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"backward: argument 'grad'.*scalar.*\(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: argument 'grad' expected shape \(2,\), got \(3,\)"):
        y.backward(np.ones(3))


@pytest.mark.parametrize("fn, pattern", [
    (lambda: ops.matmul(np.ones((2, 3)), np.ones((4, 5))), r"matmul: argument 'x2'.*3.*\(2, 3\).*\(4, 5\)"),
    (lambda: ops.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 2))), r"matmul: .*\(2, 2, 3\).*\(3, 3, 2\)"),
    (lambda: ops.add(leaf(np.ones((2, 3))), np.ones(4)), r"add: arguments 'x1' and 'x2'.*\(2, 3\).*\(4,\).*broadcast"),
    (lambda: leaf(np.ones((2, 3))) * np.ones((3, 2)), r"multiply: arguments 'x1' and 'x2'.*\(2, 3\).*\(3, 2\)"),
    (lambda: ops.reshape(leaf(np.ones((2, 3))), (4, 2)), r"reshape: argument 'newshape' \(4, 2\).*\(2, 3\)"),
    (lambda: ops.concatenate([np.ones((2, 3)), np.ones((3, 2))]),
     r"concatenate: argument 'xs' item 1 expected shape \(2, 3\).*axis 0, got shape \(3, 2\)"),
    (lambda: ops.stack([np.ones(2), np.ones(3)]), r"stack: .*\(3,\).*\(2,\)"),
    (lambda: ops.sum(np.ones((2, 3)), axis=2), r"sum: argument 'axis'.*rank 2, got 2"),
    (lambda: ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5))), r"einsum: index 'j' has size 3.*size 4"),
    (lambda: ops.tensordot(np.ones((2, 3)), np.ones((4, 5)), 1), r"tensordot: .*\(2, 3\).*\(4, 5\)"),
    (lambda: ops.power(np.array([2]), -1), r"power: arguments 'x1'.*int"),
    (lambda: ops.take(np.ones(5), np.array([5])), r"take: argument 'indices'.*\[-5, 5\)"),
    (lambda: leaf(np.ones(3))[5], r"getitem: index 5 .*\(3,\)"),
    (lambda: ops.where(np.ones(2) > 0, np.ones(3), np.ones(4)), r"where: .*\(2,\), \(3,\), \(4,\)"),
    # axes out of range are refused, not wrapped around
    (lambda: ops.concatenate([np.ones((2, 3))] * 2, axis=2), r"concatenate: argument 'axis'.*\[-2, 2\).*got 2"),
    (lambda: ops.split(np.ones((2, 4)), 2, axis=2), r"split: argument 'axis'.*got 2"),
    (lambda: ops.transpose(np.ones((2, 3)), (0, 5)), r"transpose: argument 'axes'.*permutation.*\(0, 5\)"),
    (lambda: ops.expand_dims(np.ones((2, 3)), 5), r"expand_dims: argument 'axis'.*\[-3, 3\).*got 5"),
    (lambda: ops.stack([np.ones(2)] * 2, axis=3), r"stack: argument 'axis'.*\[-2, 2\) for inputs of rank 1, got 3"),
    (lambda: ops.take(np.ones((2, 3)), np.array([0]), axis=2), r"take: argument 'axis'.*got 2"),
    (lambda: ops.softmax(np.ones((2, 3)), axis=2), r"softmax: argument 'axis'.*\(2, 3\), got 2"),
    (lambda: ops.log_softmax(np.ones((2, 3)), axis=-3), r"log_softmax: argument 'axis'.*got -3"),
    (lambda: ops.pad(np.ones((2, 3)), ((1, 1),) * 3), r"pad: argument 'pad_width'.*\(2, 3\)"),
    (lambda: ops.squeeze(np.ones((2, 3)), 0), r"squeeze: argument 'axis' 0 has length 2"),
])
def test_shape_errors_name_op_argument_expected_actual(fn, pattern):
    with pytest.raises((ValueError, IndexError, TypeError), match=pattern):
        fn()


# ---------------------------------------------------------------- debug mode
def test_debug_mode_names_op_and_user_line():
    x = nerve.tensor([-1.0])
    with nerve.debug_mode():
        line = sys._getframe().f_lineno + 2
        with pytest.raises(FloatingPointError) as err:
            nerve.ops.log(x)
    msg = str(err.value)
    assert "'log'" in msg and f"{os.path.abspath(__file__)}:{line}" in msg
    assert "shape (1,)" in msg and "[-1, -1]" in msg  # input shapes and value ranges
    assert not backend.config.debug
    assert np.isnan(ops.log(x).numpy()).all()  # outside debug mode: NaN, no error


def test_debug_mode_passes_finite_values():
    with nerve.debug_mode():
        y = ops.log(nerve.tensor([1.0, 2.0]))
    np.testing.assert_allclose(y.numpy(), np.log([1.0, 2.0]), rtol=1e-6)


def test_env_nerve_debug_enables_debug_mode():
    code = ("import nerve\nassert nerve.config.debug\ntry:\n    nerve.ops.log(nerve.tensor([-1.0]))\n"
            "except FloatingPointError as e:\n    print('RAISED', e)\n")
    env = dict(os.environ, NERVE_DEBUG="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "RAISED" in out.stdout and "'log'" in out.stdout and "<string>:4" in out.stdout


# ---------------------------------------------------------------- RNG and dtypes
def test_set_random_seed_reproducible_draws():
    nerve.set_random_seed(123)
    a = backend.rng().standard_normal(5)
    nerve.set_random_seed(123)
    b = backend.rng().standard_normal(5)
    np.testing.assert_array_equal(a, b)
    nerve.set_random_seed(124)
    assert not np.array_equal(a, backend.rng().standard_normal(5))
    state = backend.get_rng_state()
    c = backend.rng().uniform(size=3)
    backend.set_rng_state(state)
    np.testing.assert_array_equal(c, backend.rng().uniform(size=3))
    with pytest.raises(ValueError, match="set_random_seed: argument 'seed'"):
        nerve.set_random_seed(-1)


def test_dtype_policy():
    assert nerve.tensor(1.5).dtype == np.float32
    assert nerve.tensor([1.0, 2.0]).dtype == np.float32
    assert nerve.tensor(np.array([1.0, 2.0])).dtype == np.float64  # float64 on request
    assert nerve.tensor(np.float64(2.0)).dtype == np.float64
    assert nerve.tensor([1, 2]).dtype.kind == "i"
    assert nerve.tensor([1.0], dtype="float64").dtype == np.float64
    x64 = leaf([1.0, 2.0])
    y = ops.softmax(x64 * 2.0 + 1.0)
    assert y.dtype == np.float64
    ops.sum(y * np.arange(2.0)).backward()
    assert x64.grad.dtype == np.float64
    x32 = leaf([1.0, 2.0], np.float32)
    z = ops.gelu(ops.sigmoid(x32) * 3.0 / 2.0 - 1.0) ** 2
    assert z.dtype == np.float32
    with backend.precision("float64"):
        assert nerve.tensor([1.0]).dtype == np.float64


def test_cast_gradient_returns_to_source_dtype():
    x = leaf([1.0, 2.0], np.float32)
    y = ops.cast(x, "float64")
    assert y.dtype == np.float64
    ops.sum(y * 2.0).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_full_reduction_output_works_with_float_ops():
    x = leaf(np.arange(1.0, 5.0))
    y = ops.sqrt(ops.sum(x))  # regression: a full reduction gave a NumPy scalar that dropped the graph
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 0.5 / np.sqrt(10.0)))
