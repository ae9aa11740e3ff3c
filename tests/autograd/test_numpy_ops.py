"""The rest of keras.ops's NumPy namespace (autograd/ops/numpy_ops.py): values against NumPy, float64
gradcheck with random cotangents for every differentiable op, no gradient where Keras has none, eager
control flow, clear errors."""
import numpy as np
import pytest

import nerve
from nerve import ops

R = np.random.default_rng(7)


def rnd(*shape):
    return R.standard_normal(shape)


def unit(*shape):  # inside (-1, 1): arcsin, arccos, arctanh
    return R.uniform(-0.9, 0.9, shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def distinct(*shape):  # no ties: sort, top_k, quantile, segment_max pick one entry
    return (R.permutation(int(np.prod(shape))).reshape(shape) + R.uniform(0, 0.1, shape)) * 0.3


def val(t):
    return ops.convert_to_numpy(t) if not isinstance(t, (list, tuple)) else [val(v) for v in t]


# ---------------------------------------------------------------- values against NumPy
X = rnd(3, 4)
VALUES = [
    ("sin", lambda: ops.sin(X), np.sin(X)), ("cos", lambda: ops.cos(X), np.cos(X)),
    ("tan", lambda: ops.tan(X), np.tan(X)), ("arcsin", lambda: ops.arcsin(X / 3), np.arcsin(X / 3)),
    ("arctan2", lambda: ops.arctan2(X, X.T[:1].T), np.arctan2(X, X.T[:1].T)),
    ("mod", lambda: ops.mod(X, 0.7), np.mod(X, 0.7)), ("logaddexp", lambda: ops.logaddexp(X, 1.0), np.logaddexp(X, 1.0)),
    ("expm1", lambda: ops.expm1(X), np.expm1(X)), ("log2", lambda: ops.log2(np.abs(X)), np.log2(np.abs(X))),
    ("rsqrt", lambda: ops.rsqrt(np.abs(X)), 1 / np.sqrt(np.abs(X))),
    ("cumsum", lambda: ops.cumsum(X, axis=1), np.cumsum(X, 1)), ("cumsum_flat", lambda: ops.cumsum(X), np.cumsum(X)),
    ("cumprod", lambda: ops.cumprod(X, axis=0), np.cumprod(X, 0)),
    ("prod", lambda: ops.prod(X, axis=(0, 1)), np.prod(X)), ("prod_keep", lambda: ops.prod(X, 1, True), np.prod(X, 1, keepdims=True)),
    ("flip", lambda: ops.flip(X, 1), np.flip(X, 1)), ("roll", lambda: ops.roll(X, -1, 0), np.roll(X, -1, 0)),
    ("roll_flat", lambda: ops.roll(X, 5), np.roll(X, 5)),
    ("tile", lambda: ops.tile(X, (2, 1, 3)), np.tile(X, (2, 1, 3))), ("repeat", lambda: ops.repeat(X, 2, axis=1), np.repeat(X, 2, 1)),
    ("repeat_list", lambda: ops.repeat(X, [1, 0, 2], axis=0), np.repeat(X, [1, 0, 2], 0)),
    ("moveaxis", lambda: ops.moveaxis(rnd(2, 3, 4) * 0 + 1, 0, -1), np.ones((3, 4, 2))),
    ("broadcast_to", lambda: ops.broadcast_to(X[0], (2, 4)), np.broadcast_to(X[0], (2, 4))),
    ("sort", lambda: ops.sort(X, axis=0), np.sort(X, 0)),
    ("take_along_axis", lambda: ops.take_along_axis(X, np.argsort(X, 1)[:, :2], 1),
     np.take_along_axis(X, np.argsort(X, 1)[:, :2], 1)),
    ("diagonal", lambda: ops.diagonal(X, 1), np.diagonal(X, 1)), ("trace", lambda: ops.trace(X, -1), np.trace(X, -1)),
    ("tril", lambda: ops.tril(X, 1), np.tril(X, 1)), ("triu", lambda: ops.triu(X, -1), np.triu(X, -1)),
    ("outer", lambda: ops.outer(X[0], X[1]), np.outer(X[0], X[1])), ("vdot", lambda: ops.vdot(X, X), np.vdot(X, X)),
    ("cross", lambda: ops.cross(X[:, :3], X[:, 1:]), np.cross(X[:, :3], X[:, 1:])),
    ("hstack", lambda: ops.hstack([X, X]), np.hstack([X, X])), ("vstack", lambda: ops.vstack([X[0], X]), np.vstack([X[0], X])),
    ("append", lambda: ops.append(X, X[0]), np.append(X, X[0])),
    ("average", lambda: ops.average(X, axis=1, weights=[1.0, 2.0, 3.0, 4.0]), np.average(X, 1, [1.0, 2.0, 3.0, 4.0])),
    ("median", lambda: ops.median(X, axis=0), np.median(X, 0)),
    ("quantile", lambda: ops.quantile(X, [0.1, 0.9], axis=1, keepdims=True), np.quantile(X, [0.1, 0.9], 1, keepdims=True)),
    *[(f"quantile_{m}", (lambda m=m: ops.quantile(X, 0.3, method=m)), np.quantile(X, 0.3, method=m))
      for m in ("lower", "higher", "nearest", "midpoint")],
    ("nan_to_num", lambda: ops.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0])),
     np.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0]))),
    ("slice", lambda: ops.slice(X, [1, 1], [2, 2]), X[1:3, 1:3]),
    ("extract_sequences", lambda: ops.extract_sequences(np.arange(6.0), 3, 2), np.array([[0.0, 1, 2], [2, 3, 4]])),
    ("equal", lambda: ops.equal(X, X[0]), X == X[0]), ("greater", lambda: ops.greater(X, 0), X > 0),
    ("logical_xor", lambda: ops.logical_xor(X > 0, X > 1), np.logical_xor(X > 0, X > 1)),
    ("isclose", lambda: ops.isclose(X, X + 1e-9), np.ones_like(X, bool)),
    ("floor", lambda: ops.floor(X), np.floor(X)), ("round", lambda: ops.round(X, 1), np.round(X, 1)),
    ("all", lambda: ops.all(X > -10, axis=0), np.ones(4, bool)), ("any", lambda: ops.any(X > 10), False),
    ("argsort", lambda: ops.argsort(X), np.argsort(X, kind="stable")),
    ("count_nonzero", lambda: ops.count_nonzero(X > 0, axis=1), np.count_nonzero(X > 0, 1)),
    ("bincount", lambda: ops.bincount(np.array([0, 2, 2, 5])), np.bincount([0, 2, 2, 5])),
    ("digitize", lambda: ops.digitize(X, [-1.0, 0.0, 1.0]), np.digitize(X, [-1.0, 0.0, 1.0])),
    ("arange", lambda: ops.arange(1, 7, 2), np.arange(1, 7, 2)), ("eye", lambda: ops.eye(3, 4, 1), np.eye(3, 4, 1)),
    ("tri", lambda: ops.tri(3), np.tri(3)), ("full", lambda: ops.full((2,), 7), np.full(2, 7)),
    ("linspace", lambda: ops.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    ("logspace", lambda: ops.logspace(0, 2, 3), np.logspace(0, 2, 3)),
    ("in_top_k", lambda: ops.in_top_k(np.array([0, 2]), np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]]), 2),
     np.array([True, False])),
]


@pytest.mark.parametrize("name, fn, expected", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, fn, expected):
    np.testing.assert_allclose(val(fn()), expected, rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------- float64 gradcheck
GRADS = [
    ("sin", ops.sin, [rnd(3, 4)]), ("cos", ops.cos, [rnd(3, 4)]), ("tan", ops.tan, [unit(3, 4)]),
    ("arcsin", ops.arcsin, [unit(5)]), ("arccos", ops.arccos, [unit(5)]), ("arctan", ops.arctan, [rnd(5)]),
    ("sinh", ops.sinh, [rnd(5)]), ("cosh", ops.cosh, [rnd(5)]), ("arcsinh", ops.arcsinh, [rnd(5)]),
    ("arccosh", ops.arccosh, [pos(5) + 1]), ("arctanh", ops.arctanh, [unit(5)]), ("expm1", ops.expm1, [rnd(5)]),
    ("log2", ops.log2, [pos(5)]), ("log10", ops.log10, [pos(5)]), ("reciprocal", ops.reciprocal, [pos(5)]),
    ("rsqrt", ops.rsqrt, [pos(5)]), ("erf", ops.erf, [rnd(5)]),
    ("arctan2", ops.arctan2, [rnd(3, 4), pos(4)]), ("mod", ops.mod, [pos(3, 4) * 3, np.full((4,), 0.7)]),
    ("logaddexp", ops.logaddexp, [rnd(3, 1), rnd(4)]),
    ("cumsum", lambda x: ops.cumsum(x, axis=0), [rnd(4, 3)]), ("cumsum_flat", ops.cumsum, [rnd(2, 3)]),
    ("cumprod", lambda x: ops.cumprod(x, axis=1), [rnd(2, 4)]),
    ("cumprod_zero", lambda x: ops.cumprod(x), [np.array([1.5, 0.0, -2.0, 0.5])]),
    ("prod", lambda x: ops.prod(x, axis=1), [rnd(3, 4)]), ("prod_all", ops.prod, [rnd(2, 3)]),
    ("prod_zeros", lambda x: ops.prod(x, axis=0, keepdims=True), [np.array([[0.0, 1.0], [0.0, 2.0], [3.0, 0.0]])]),
    ("flip", lambda x: ops.flip(x, (0, 1)), [rnd(3, 4)]), ("roll", lambda x: ops.roll(x, 2, 1), [rnd(3, 4)]),
    ("tile", lambda x: ops.tile(x, (2, 3)), [rnd(2, 3)]), ("repeat", lambda x: ops.repeat(x, [2, 0, 1], axis=0), [rnd(3, 2)]),
    ("broadcast_to", lambda x: ops.broadcast_to(x, (3, 2, 4)), [rnd(2, 1)]),
    ("moveaxis", lambda x: ops.moveaxis(x, [0, 1], [-1, 0]), [rnd(2, 3, 4)]), ("ravel", ops.ravel, [rnd(2, 3)]),
    ("sort", lambda x: ops.sort(x, axis=0), [distinct(4, 3)]),
    ("top_k", lambda x: ops.top_k(x, 2)[0], [distinct(3, 5)]),
    ("take_along_axis", lambda x: ops.take_along_axis(x, np.array([[0, 0], [2, 1]]), axis=1), [rnd(2, 3)]),
    ("diagonal", lambda x: ops.diagonal(x, -1, 1, 2), [rnd(2, 4, 3)]), ("trace", ops.trace, [rnd(3, 3)]),
    ("tril", ops.tril, [rnd(3, 4)]), ("triu", lambda x: ops.triu(x, 1), [rnd(4, 3)]),
    ("outer", ops.outer, [rnd(3), rnd(4)]), ("vdot", ops.vdot, [rnd(2, 3), rnd(2, 3)]),
    ("inner", ops.inner, [rnd(2, 3), rnd(4, 3)]), ("cross", ops.cross, [rnd(2, 3), rnd(2, 3)]),
    ("hstack", lambda a, b: ops.hstack([a, b]), [rnd(2, 3), rnd(2, 1)]),
    ("vstack", lambda a, b: ops.vstack([a, b]), [rnd(3), rnd(2, 3)]), ("append", ops.append, [rnd(2), rnd(3)]),
    ("unstack", lambda x: ops.unstack(x, axis=1)[1], [rnd(2, 3)]),
    ("average", lambda x, w: ops.average(x, axis=0, weights=w), [rnd(3, 2), pos(3)]),
    ("median", lambda x: ops.median(x, axis=1), [distinct(3, 4)]),
    ("quantile", lambda x: ops.quantile(x, [0.2, 0.7]), [distinct(2, 5)]),
    ("nan_to_num", ops.nan_to_num, [rnd(4)]), ("copy", ops.copy, [rnd(3)]),
    ("slice", lambda x: ops.slice(x, [0, 1], [2, 2]), [rnd(3, 4)]),
    ("slice_update", lambda x, u: ops.slice_update(x, [1, 0], u), [rnd(3, 4), rnd(2, 3)]),
    ("scatter", lambda v: ops.scatter(np.array([[0, 1], [2, 0], [0, 1]]), v, (3, 2)), [rnd(3)]),
    ("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[1], [0]]), u), [rnd(3, 2), rnd(2, 2)]),
    ("segment_sum", lambda d: ops.segment_sum(d, np.array([0, 2, 0, 1]), 4), [rnd(4, 2)]),
    ("segment_max", lambda d: ops.segment_max(d, np.array([0, 1, 0, 1])), [distinct(4, 2)]),
    ("extract_sequences", lambda x: ops.extract_sequences(x, 3, 1), [rnd(2, 5)]),
    ("scan", lambda c, xs: ops.scan(lambda h, x: (ops.tanh(h * 0.5 + x), h * x), c, xs)[1], [rnd(2), rnd(4, 2)]),
    ("associative_scan", lambda x: ops.associative_scan(ops.multiply, x, axis=1), [rnd(2, 4)]),
    ("fori_loop", lambda x: ops.fori_loop(0, 3, lambda i, v: ops.sin(v) * (i + 1), x), [rnd(3)]),
    ("while_loop", lambda x: ops.while_loop(lambda v, k: k < 3, lambda v, k: (v * v + 0.1, k + 1), (x, 0))[0], [rnd(3) * 0.5]),
]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn, inputs):
    r = nerve.gradcheck(fn, inputs)
    assert r.ok, (name, r.rel_diff)


def test_ops_without_a_gradient_give_tensors_that_need_none():
    x = nerve.tensor(rnd(3).astype(np.float32), requires_grad=True)
    for out in (ops.equal(x, 0.0), ops.floor(x), ops.round(x), ops.argsort(x), ops.isfinite(x), ops.top_k(x, 2)[1]):
        assert isinstance(out, nerve.Tensor) and not out.requires_grad
    assert ops.ndim(x) == 1 and ops.size(x) == 3 and ops.is_tensor(x) and not ops.is_tensor(1.0)
    assert ops.dtype(x) == "float32" and ops.arange(3).dtype == np.int32 and ops.arange(3.0).dtype == np.float32


def test_control_flow():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.cond(nerve.tensor(False), lambda: 1, lambda: 2) == 2
    assert ops.switch(5, [lambda x: x + 1, lambda x: x * 10], 2) == 20  # an index out of range clamps
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert ops.while_loop(lambda v: v < 10, lambda v: v * 2, 1, maximum_iterations=3) == 8
    assert ops.while_loop(lambda a, b: a < 5, lambda a, b: [a + 1, b * 2], [0, 1]) == [5, 32]
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, np.arange(4.0), reverse=True)
    assert val(carry) == 6.0 and val(ys).tolist() == [6.0, 5.0, 3.0, 0.0]
    np.testing.assert_allclose(val(ops.associative_scan(ops.add, np.arange(5.0))), np.cumsum(np.arange(5.0)))
    np.testing.assert_allclose(val(ops.associative_scan(ops.add, np.arange(5.0), reverse=True)),
                               np.cumsum(np.arange(5.0)[::-1])[::-1])
    np.testing.assert_allclose(val(ops.vectorized_map(lambda r: ops.sum(r), np.ones((3, 2)))), [2.0, 2.0, 2.0])
    a, b = ops.map(lambda v: (v[0] * 2, v[1]), (np.arange(3.0), np.ones(3)))
    assert val(a).tolist() == [0.0, 2.0, 4.0]


def test_a_keras_custom_metric_runs():
    """A Keras-3 style custom metric body: equal + cast + mean over argmax."""
    y_true, y_pred = np.array([0, 2, 1]), np.array([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    acc = ops.mean(ops.cast(ops.equal(y_true, ops.argmax(y_pred, axis=-1)), "float32"))
    assert abs(float(val(acc)) - 2 / 3) < 1e-6


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match=r"top_k: argument 'k' expected 1..3, got 4"):
        ops.top_k(np.ones(3), 4)
    with pytest.raises(ValueError, match=r"quantile: argument 'q' expected values in \[0, 1\]"):
        ops.quantile(np.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"cross: arguments 'x1' and 'x2' expected 3-vectors"):
        ops.cross(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"bincount: argument 'x' expected non-negative integers"):
        ops.bincount(np.array([-1, 2]))
    with pytest.raises(ValueError, match=r"slice_update: updates of shape \(3, 3\) at \[1, 0\] do not fit"):
        ops.slice_update(np.ones((3, 3)), [1, 0], np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"cond: argument 'pred' expected a scalar"):
        ops.cond(np.ones(2), lambda: 1, lambda: 2)
    with pytest.raises(ValueError, match=r"scan: arguments 'xs' and 'length' are both None"):
        ops.scan(lambda c, x: (c, c), 0.0)
