"""keras.ops.custom_gradient, vectorize and rearrange (autograd/ops/functional_extra.py): the user's gradient is
the one backward produces, values against NumPy (np.vectorize, reshape / transpose by hand) and golden values
computed once with Keras 3.15 (torch backend), float64 gradcheck with random cotangents, the same numbers on
the strict CuPy stand-in, clear errors."""
import os
import re
import sys

import numpy as np
import pytest

import nerve
from nerve import ops
from nerve.autograd.ops.functional_extra import custom_gradient, rearrange, vectorize

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)


def rnd(*shape):
    return R.standard_normal(shape)


def val(t):
    return ops.convert_to_numpy(t)


def leaf(a):
    return nerve.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- custom_gradient
@custom_gradient
def log1pexp(x):  # the Keras docs' example, in its backend-agnostic form
    e = ops.exp(x)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
    return ops.log(1 + e), grad


@custom_gradient
def log1pexp_torch(x):  # the docs' PyTorch form: grad(*args, upstream)
    e = ops.exp(x)

    def grad(*args, upstream):
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
    return ops.log(1 + e), grad


@custom_gradient
def log1pexp_jax(x):  # the docs' JAX / TensorFlow form: grad(upstream)
    e = ops.exp(x)

    def grad(upstream):
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
    return ops.log(1 + e), grad


@custom_gradient
def clip_gradient(x):  # identity forward, gradient clipped to [-1, 1]
    return x * 1.0, lambda upstream: ops.clip(upstream, -1.0, 1.0)


@custom_gradient
def mul_add(x, y):  # two inputs, two outputs; TF form: one upstream per output
    def grad(dz1, dz2):
        return dz1 * y + dz2, dz1 * x + dz2
    return (x * y, x + y), grad


@custom_gradient
def mul_add_jax(x, y):  # JAX form: one upstream shaped as the output
    def grad(g):
        return g[0] * y + g[1], g[0] * x + g[1]
    return (x * y, x + y), grad


@custom_gradient
def mul_add_torch(x, y):  # torch form: upstream is the tuple of both output gradients
    def grad(*args, upstream):
        a, b = args
        return upstream[0] * b + upstream[1], upstream[0] * a + upstream[1]
    return (x * y, x + y), grad


@pytest.mark.parametrize("fn", [log1pexp, log1pexp_torch, log1pexp_jax], ids=["portable", "torch", "jax"])
def test_custom_gradient_log1pexp_uses_the_stable_gradient(fn):
    x = leaf([0.0, 10.0, 100.0, 1000.0])
    with np.errstate(over="ignore"):  # exp(1000) = inf in the forward
        y = fn(x)
    y.sum().backward()
    # golden values from Keras 3.15 (torch backend) at 0, 10, 100: [0.5, 0.9999546, 1.0]; at 1000 the naive
    # gradient exp(x) / (1 + exp(x)) is inf / inf = nan, the custom one 1
    np.testing.assert_allclose(val(x.grad), [0.5, 0.9999546021312976, 1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(val(y)[:3], [0.6931471805599453, 10.000045398899218, 100.0], rtol=1e-12)
    assert y.requires_grad and not np.isnan(val(x.grad)).any()


def test_custom_gradient_is_what_backward_produces():
    x = leaf([1.0, 2.0, 3.0])
    (clip_gradient(x) * nerve.tensor(np.array([0.5, -3.0, 2.0]))).sum().backward()
    np.testing.assert_array_equal(val(x.grad), [0.5, -1.0, 1.0])  # Keras 3.15 (torch): [0.5, -1, 1]

    @custom_gradient
    def wrong(x):  # a deliberately "wrong" gradient: backward must use it, not the true one (2x)
        return x * x, lambda g: g * 3.0
    x = leaf([1.0, 2.0])
    wrong(x).sum().backward()
    np.testing.assert_array_equal(val(x.grad), [3.0, 3.0])


@pytest.mark.parametrize("fn", [mul_add, mul_add_jax, mul_add_torch], ids=["tf", "jax", "torch"])
def test_custom_gradient_several_inputs_and_outputs(fn):
    x, y = rnd(3), rnd(3)
    z1, z2 = fn(x, y)
    np.testing.assert_allclose(val(z1), x * y)
    np.testing.assert_allclose(val(z2), x + y)
    assert nerve.gradcheck(fn, [x, y]).ok  # the hand-written gradient is the true one
    xt, yt = leaf(x), leaf(y)
    fn(xt, yt)[1].sum().backward()  # only the second output used: the first's upstream is zeros
    np.testing.assert_array_equal(val(xt.grad), np.ones(3))


def test_custom_gradient_nested_inputs_numbers_broadcast_and_none():
    @custom_gradient
    def weighted(xs, scale):  # a list of tensors and a Python number
        a, b = xs
        return a * scale + b, lambda g: ([g * scale, ops.sum(g, axis=0)],)  # b's gradient summed down to b's shape
    a, b = leaf(rnd(2, 3)), leaf(rnd(3))
    weighted([a, b], 2.0).sum().backward()
    np.testing.assert_array_equal(val(a.grad), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(val(b.grad), np.full(3, 2.0))

    @custom_gradient
    def stop_second(x, y):  # None: no gradient; a scalar gradient is broadcast to the input
        return x + y, lambda g: (None, 0.5)
    x, y = leaf(rnd(2)), leaf(rnd(2))
    stop_second(x, y).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(val(y.grad), [0.5, 0.5])

    @custom_gradient
    def with_variables(x):  # tf.custom_gradient's form: (input grads, variable grads)
        return x * 2.0, lambda g, variables=None: ((g * 2.0,), [])
    x = leaf(rnd(3))
    with_variables(x).sum().backward()
    np.testing.assert_array_equal(val(x.grad), np.full(3, 2.0))


def test_custom_gradient_float32_and_no_graph_without_grad():
    x = nerve.tensor(np.array([0.0, 1.0], np.float32), requires_grad=True)
    y = log1pexp(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    with nerve.no_grad():
        assert not log1pexp(x).requires_grad
    assert not log1pexp(np.array([1.0])).requires_grad


def test_custom_gradient_errors():
    with pytest.raises(TypeError, match=r"custom_gradient: argument 'f' expected a callable, got int"):
        custom_gradient(3)
    with pytest.raises(TypeError, match=r"custom_gradient: function '_no_pair' expected to return a pair "
                                        r"\(output, grad_fn\) with a callable grad_fn, got Tensor"):
        custom_gradient(_no_pair)(leaf([1.0]))
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"custom_gradient: grad_fn of '_two' returned 2 gradient\(s\), expected 1"):
        custom_gradient(_two)(x).sum().backward()
    with pytest.raises(ValueError, match=r"grad_fn of '_bad_shape' returned a gradient of shape \(3,\) for input 0 "
                                         r"of shape \(2,\)"):
        custom_gradient(_bad_shape)(leaf([1.0, 2.0])).sum().backward()


def _no_pair(x):
    return x * 2


def _two(x):
    return x * 1.0, lambda g: (g, g)


def _bad_shape(x):
    return x * 1.0, lambda g: ops.ones((3,))


# ---------------------------------------------------------------- vectorize
def test_vectorize_scalar_function_broadcasts_as_numpy():
    f = lambda a, b: ops.sin(a) * b + 1.0  # noqa: E731
    a, b = rnd(3, 1), rnd(4)
    expected = np.vectorize(lambda u, v: np.sin(u) * v + 1.0)(a, b)
    np.testing.assert_allclose(val(vectorize(f)(a, b)), expected, rtol=1e-12)
    out = vectorize(lambda a, b: a + b)(np.array([1, 2, 3, 4]), 2)  # the Keras docs' example: [3, 4, 5, 6]
    assert val(out).tolist() == [3, 4, 5, 6]
    np.testing.assert_allclose(val(vectorize(f)(0.5, 2.0)), np.sin(0.5) * 2 + 1)  # scalars: a 0-d result


def test_vectorize_signature_matches_numpy():
    m, v = np.arange(24.0).reshape(2, 3, 4), np.arange(4.0)
    mv = vectorize(lambda m, v: ops.matmul(m, v), signature="(m,n),(n)->(m)")
    # golden from Keras 3.15 (torch backend): [[14, 38, 62], [86, 110, 134]]
    np.testing.assert_array_equal(val(mv(m, v)), [[14.0, 38.0, 62.0], [86.0, 110.0, 134.0]])
    x = rnd(2, 3, 5)
    stats = vectorize(lambda r: (ops.mean(r), ops.max(r)), signature="(n)->(),()")
    mean, mx = stats(x)
    np_mean, np_max = np.vectorize(lambda r: (r.mean(), r.max()), signature="(n)->(),()")(x)
    np.testing.assert_allclose(val(mean), np_mean, rtol=1e-12)
    np.testing.assert_allclose(val(mx), np_max)
    outer = vectorize(lambda a, b: ops.outer(a, b), signature="(i),(j)->(i,j)")
    np.testing.assert_allclose(val(outer(rnd(4, 2), rnd(3))).shape, (4, 2, 3))


def test_vectorize_excluded_and_keywords():
    def poly(x, coeffs, scale=1.0):
        return (coeffs[0] + coeffs[1] * x) * scale
    vp = vectorize(poly, excluded={1, "scale"})
    x = rnd(5)
    np.testing.assert_allclose(val(vp(x, [1.0, 2.0], scale=3.0)), (1 + 2 * x) * 3, rtol=1e-12)
    vk = vectorize(lambda x, y: x - y)  # keywords not excluded are vectorized, as NumPy
    np.testing.assert_allclose(val(vk(x, y=x[:, None])), np.vectorize(lambda a, b: a - b)(x, x[:, None]))


GRADS = [
    ("vectorize", vectorize(lambda a, b: ops.sin(a) * b), [rnd(3, 1), rnd(2)]),
    ("vectorize_signature", vectorize(lambda m, v: ops.tanh(ops.matmul(m, v)), signature="(m,n),(n)->(m)"),
     [rnd(2, 3, 4), rnd(4)]),
    ("custom_gradient", mul_add, [rnd(3), rnd(3)]),
    ("custom_gradient_log1pexp", log1pexp, [rnd(2, 3)]),
    ("rearrange_space_to_depth", lambda x: rearrange(x, "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=2),
     [rnd(2, 4, 2, 3)]),
    ("rearrange_ellipsis", lambda x: rearrange(x, "b ... c -> (c b) ..."), [rnd(2, 3, 2, 4)]),
]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn, inputs):
    r = nerve.gradcheck(fn, inputs)
    assert r.ok, (name, r.rel_diff)


def test_vectorize_errors():
    with pytest.raises(TypeError, match=r"vectorize: argument 'pyfunc' expected a callable, got int"):
        vectorize(3)
    with pytest.raises(ValueError, match=r"vectorize: argument 'signature' expected a gufunc signature .* got "
                                         r"'\(m,n\)>\(m\)'"):
        vectorize(ops.sum, signature="(m,n)>(m)")
    mv = vectorize(lambda m, v: ops.matmul(m, v), signature="(m,n),(n)->(m)")
    with pytest.raises(TypeError, match=r"vectorize: signature '\(m,n\),\(n\)->\(m\)' expects 2 vectorized "
                                        r"argument\(s\), got 1"):
        mv(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"vectorize: core dimension 'n' has size 4 in argument 1 but 3 elsewhere"):
        mv(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"vectorize: argument 1 of shape \(\) has fewer dimensions than its core"):
        mv(np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match=r"vectorize: output 0 of '<lambda>' has shape \(2,\), expected 0 core "
                                         r"dimension\(s\) \(\) \(give a signature"):
        vectorize(lambda a: ops.stack([a, a]))(np.ones(3))
    with pytest.raises(ValueError, match=r"vectorize: cannot call '<lambda>' on inputs of size 0"):
        vectorize(lambda a: a)(np.ones((0, 2)))
    with pytest.raises(ValueError, match=r"vectorize: the loop dimensions \[\(2,\), \(3,\)\] of the arguments do "
                                         r"not broadcast"):
        vectorize(lambda a, b: a + b)(np.ones(2), np.ones(3))


# ---------------------------------------------------------------- rearrange
IMG = np.arange(2 * 4 * 6 * 3.0).reshape(2, 4, 6, 3)
REARRANGE = [  # pattern, lengths, the same by hand with NumPy
    ("b h w c -> b c h w", {}, IMG.transpose(0, 3, 1, 2)),
    ("b h w c -> (b h) w c", {}, IMG.reshape(8, 6, 3)),
    ("b h w c -> h (b w) c", {}, IMG.transpose(1, 0, 2, 3).reshape(4, 12, 3)),
    ("b h w c -> b (c h w)", {}, IMG.transpose(0, 3, 1, 2).reshape(2, 72)),
    ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 3},
     IMG.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(12, 2, 2, 3)),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2},
     IMG.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 3, 12)),
    ("b ... c -> b c ...", {}, IMG.transpose(0, 3, 1, 2)),
    ("... h w c -> ... (h w c)", {}, IMG.reshape(2, 72)),
    ("b ... -> (...) b", {}, IMG.reshape(2, 72).T),
    ("b h w c -> b () h w c 1", {}, IMG[:, None, :, :, :, None]),
    ("b h w c -> b h w c", {"b": 2}, IMG),
]


@pytest.mark.parametrize("pattern, lengths, expected", REARRANGE, ids=[r[0] for r in REARRANGE])
def test_rearrange_matches_numpy(pattern, lengths, expected):
    np.testing.assert_array_equal(val(rearrange(IMG, pattern, **lengths)), expected)


def test_rearrange_keras_golden_values_and_unit_axes():
    # computed with Keras 3.15 (torch backend) on IMG: out[1, 1, 2, :] and r2[5, 1, 1, :]
    out = rearrange(IMG, "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=2)
    assert val(out)[1, 1, 2].tolist() == [120.0, 123.0, 138.0, 141.0, 121.0, 124.0, 139.0, 142.0, 122.0, 125.0,
                                          140.0, 143.0]
    r2 = rearrange(IMG, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=3)
    assert r2.shape == (12, 2, 2, 3) and val(r2)[5, 1, 1].tolist() == [69.0, 70.0, 71.0]
    np.testing.assert_array_equal(val(rearrange(np.ones((3, 1, 2)), "a 1 b -> b a")), np.ones((2, 3)))
    x = nerve.tensor(np.arange(6), dtype="int32")
    assert val(rearrange(x, "(a b) -> b a", a=2)).tolist() == [[0, 3], [1, 4], [2, 5]]


def test_rearrange_errors_name_the_pattern_and_the_problem():
    cases = [
        ("b h w c", {}, r"expected one '->'"),
        ("b h w -> b h w", {}, r"the input side names 3 axes but the tensor has shape \(2, 4, 6, 3\)"),
        ("b h w c -> b h c", {}, r"axes \['w'\] appear on one side only"),
        ("b (h h1) w c -> b h h1 w c", {}, r"cannot infer the sizes of \['h', 'h1'\] in \(h h1\)"),
        ("b (h h1) w c -> b h h1 w c", {"h1": 3}, r"axis of length 4 is not divisible by 3 to split into \(h h1\)"),
        ("b h w c -> b h w c", {"h": 5}, r"\(h\) has length 5 but the tensor's axis has length 4"),
        ("b h w c -> b h w c", {"z": 2}, r"axis length z=2 names no axis of the pattern"),
        ("b h w c -> b h w c", {"h": 0}, r"axis length h=0 expected a positive int"),
        ("b h h c -> b h c", {}, r"axis 'h' appears twice on one side"),
        ("b ((h) w) c -> b h w c", {}, r"nested parentheses"),
        ("b (h w c -> b h w c", {}, r"unbalanced '\('"),
        ("b (...) -> b ...", {}, r"'...' inside parentheses on the input side"),
        ("b h w c -> b h w c 2", {}, r"anonymous axis '2': only 1 is supported"),
        ("b h w c -> b h w c + 1", {}, r"unexpected '\+'"),
        ("b h w c -> () b h w", {}, r"axes \['c'\] appear on one side only"),
        ("() h w c -> h w c", {}, r"\(\) has length 1 but the tensor's axis has length 2"),
    ]
    for pattern, lengths, problem in cases:
        with pytest.raises(ValueError, match=rf"rearrange: pattern '{re.escape(pattern)}': {problem}"):
            rearrange(IMG, pattern, **lengths)


# ---------------------------------------------------------------- the device (strict CuPy stand-in)
@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_on_the_device_as_on_the_cpu(cp, name, fn, inputs):
    """Values and input gradients on device arrays equal the CPU's (no implicit host conversion)."""
    fakecupy.check_same_on_device(cp, fn, inputs)
