"""nerve.grad and create_graph=True: second-order gradients checked in float64 against central differences.

For each op f with a differentiable backward, h(x) = <c2, d<c1, f(x)>/dx> (random cotangents c1, c2) is built with
grad(create_graph=True) and handed to gradcheck, which compares h's own backward (the second derivative of f) with
finite differences of h."""
import numpy as np
import pytest

import nerve
from nerve import ops
from nerve.autograd.gradcheck import gradcheck

R = np.random.default_rng(0)


def second_order(f, inputs, tol=1e-6):
    """gradcheck of x -> <c2, grad(<c1, f(x)>, x, create_graph=True)> over every float input."""
    rng = np.random.default_rng(1)
    c1 = None
    c2 = [rng.standard_normal(np.shape(a)) for a in inputs]

    def h(*xs):
        nonlocal c1
        with nerve.enable_grad():  # gradcheck's difference quotients run h without grad; h itself needs one
            return inner(*xs)

    def inner(*xs):
        nonlocal c1
        out = f(*xs)
        if c1 is None:
            c1 = rng.standard_normal(out.shape)
        gs = nerve.grad(ops.sum(out * nerve.tensor(c1)), list(xs), create_graph=True, allow_unused=True)
        total = None
        for g, c in zip(gs, c2):
            if g is not None:
                term = ops.sum(g * nerve.tensor(c))
                total = term if total is None else total + term
        return total
    gradcheck(h, inputs, tol=tol)
    # and the differentiable gradients equal the ordinary backward's (each op's backward is gradchecked elsewhere)
    xs = [nerve.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in inputs]
    out = ops.sum(f(*xs) * nerve.tensor(c1))
    with_graph = nerve.grad(out, xs, create_graph=True, allow_unused=True)
    plain = nerve.grad(out, xs, allow_unused=True)
    for a, b in zip(with_graph, plain):
        assert (a is None) == (b is None)
        if a is not None:
            assert a._ctx is not None or not a.requires_grad
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def pos(*shape):
    return R.random(shape) + 0.5


def rnd(*shape):
    return R.standard_normal(shape)


CASES = {
    "add (broadcast)": (lambda a, b: (a + b) * (a + b), [rnd(3, 4), rnd(4)]),
    "subtract": (lambda a, b: (a - b) * a, [rnd(3, 4), rnd(3, 1)]),
    "multiply": (lambda a, b: a * b * b, [rnd(3, 4), rnd(1, 4)]),
    "divide": (lambda a, b: a / b, [rnd(3, 4), pos(3, 4)]),
    "power": (lambda a: ops.power(a, 3.0), [pos(3, 4)]),
    "negative": (lambda a: -(a * a), [rnd(5)]),
    "exp": (lambda a: ops.exp(a), [rnd(3, 4)]),
    "log": (lambda a: ops.log(a), [pos(3, 4)]),
    "sqrt": (lambda a: ops.sqrt(a), [pos(3, 4)]),
    "square": (lambda a: ops.square(a) * a, [rnd(3, 4)]),
    "abs": (lambda a: ops.abs(a) * a, [rnd(3, 4)]),
    "tanh": (lambda a: ops.tanh(a), [rnd(3, 4)]),
    "sigmoid": (lambda a: ops.sigmoid(a), [rnd(3, 4)]),
    "relu": (lambda a: ops.relu(a) * a, [rnd(3, 4)]),
    "leaky_relu": (lambda a: nerve.activations.leaky_relu(a, 0.2) * a, [rnd(3, 4)]),
    "maximum": (lambda a, b: ops.maximum(a, b) * a, [rnd(3, 4), rnd(3, 4)]),
    "clip": (lambda a: ops.clip(a, -0.5, 0.5) * a, [rnd(3, 4)]),
    "where": (lambda a, b: ops.where(a > 0, a * b, b * b), [rnd(3, 4), rnd(3, 4)]),
    "sum": (lambda a: ops.sum(a * a, axis=1), [rnd(3, 4)]),
    "mean": (lambda a: ops.mean(a * a, axis=0, keepdims=True), [rnd(3, 4)]),
    "reshape/transpose": (lambda a: ops.transpose(ops.reshape(a * a, (4, 3))), [rnd(3, 4)]),
    "concatenate": (lambda a, b: ops.concatenate([a * a, a * b], axis=1), [rnd(3, 2), rnd(3, 2)]),
    "matmul": (lambda a, b: ops.tanh(ops.matmul(a, b)), [rnd(3, 4), rnd(4, 2)]),
    "matmul (batched)": (lambda a, b: ops.matmul(a, b) * ops.matmul(a, b), [rnd(2, 3, 4), rnd(4, 2)]),
    "cast": (lambda a: ops.cast(a * a, "float32") * 1.0, [rnd(3)]),
    "sin/cos/tan": (lambda a: ops.sin(a) * ops.cos(a) + ops.tan(a * 0.3), [rnd(3, 4)]),
    "arctan/sinh/cosh/erf": (lambda a: ops.arctan(a) + ops.sinh(a) * ops.cosh(a) + ops.erf(a), [rnd(3, 4)]),
    "expm1/log2/reciprocal/rsqrt": (lambda a: ops.expm1(a) + ops.log2(a) + ops.reciprocal(a) + ops.rsqrt(a),
                                    [pos(3, 4)]),
    "arcsin/arccos/arctanh": (lambda a: ops.arcsin(a) * ops.arccos(a) + ops.arctanh(a), [R.random((3, 4)) * 0.8]),
    "arcsinh/arccosh": (lambda a: ops.arcsinh(a) + ops.arccosh(a + 1.0), [pos(3, 4)]),
    "softplus/softsign": (lambda a: ops.softplus(a) * ops.softsign(a), [rnd(3, 4)]),
    "silu/hard_sigmoid": (lambda a: ops.silu(a) + ops.hard_sigmoid(a) * a, [rnd(3, 4)]),
    "gelu": (lambda a: ops.gelu(a) + ops.gelu(a, approximate=False), [rnd(3, 4)]),
    "elu/selu": (lambda a: ops.elu(a, 0.7) * a + ops.selu(a), [rnd(3, 4)]),
    "softmax": (lambda a: ops.softmax(a, axis=1) * a, [rnd(3, 4)]),
    "log_softmax": (lambda a: ops.log_softmax(a, axis=0) * a, [rnd(3, 4)]),
    "getitem": (lambda a: a[1:, ::2] * a[1:, ::2] + a[np.array([0, 0, 2])][:2, :2], [rnd(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order_gradcheck(name):
    f, inputs = CASES[name]
    second_order(f, inputs, tol=1e-4 if name == "cast" else 1e-6)


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid"])
def test_dense_layer_second_order(activation):
    """The fused Dense node: penalty on the input gradient, differentiated w.r.t. x, W and b."""
    def f(x, w, b):
        from nerve.autograd.ops.nn import DenseFn
        return DenseFn.apply(x, w, b, activation)
    second_order(f, [rnd(5, 3), rnd(3, 4), rnd(4)])


@pytest.mark.parametrize("strides,padding,dilation,activation,channels", [
    ((1, 1), "valid", (1, 1), "linear", 3), ((2, 2), "same", (1, 1), "relu", 3),
    ((1, 2), "same", (2, 1), "relu", 9), ((2, 1), "valid", (1, 1), "linear", 9)])
def test_conv2d_second_order(strides, padding, dilation, activation, channels):
    from nerve.autograd.ops.conv import Conv2DFn

    def f(x, w, b):
        return Conv2DFn.apply(x, w, b, strides=strides, padding=padding, dilation=dilation, activation=activation)
    second_order(f, [rnd(2, 7, 6, channels), rnd(3, 2, channels, 4) * 0.5, rnd(4)])


@pytest.mark.parametrize("axes,bshape", [((0,), (1, 4)), ((1,), (3, 1)), ((0, 1, 2), (1, 1, 1, 2))])
def test_normalization_second_order(axes, bshape):
    """NormalizeFn (batch norm over rows, layer norm over features, a 4-D batch norm), through its composite."""
    from nerve.autograd.ops.norm import NormalizeFn
    shape = (3, 4) if len(bshape) == 2 else (2, 3, 2, 2)
    gshape = tuple(n for n in bshape if n != 1) or (1,)

    def f(x, gamma, beta):
        return NormalizeFn.apply(x, gamma, beta, axes=axes, bshape=bshape, epsilon=1e-3)
    second_order(f, [rnd(*shape), rnd(*gshape) + 1.0, rnd(*gshape)])


def test_inference_batch_norm_and_avg_pool_second_order():
    from nerve.autograd.ops.norm import AffineNormFn
    mean, var = rnd(4), pos(4)
    second_order(lambda x, g, b: AffineNormFn.apply(x, g, b, mean, var, bshape=(1, 4), epsilon=1e-3) ** 2,
                 [rnd(3, 4), rnd(4), rnd(4)])
    for padding, strides in (("valid", None), ("same", (2, 1))):
        second_order(lambda x: ops.average_pool(x * x, 3, strides=strides, padding=padding),
                     [rnd(2, 5, 4, 2)])


@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, None, "valid"), (3, 2, "valid"),
                                                   (3, 2, "same"), (2, 1, "same")])
def test_max_pool_second_order(pool, strides, padding):
    """Every code path of max pooling (the 2x2 tournament, compiled and strided non-overlapping windows,
    overlapping and padded ones): the routing is read back from the input, ties excluded by random data."""
    second_order(lambda x: ops.max_pool(x * x * x, pool, strides=strides, padding=padding), [rnd(2, 6, 7, 3)])


def test_grad_stops_at_the_inputs_asked_for():
    """Nothing upstream of an interior input runs: an op without a differentiable rule there is no obstacle."""
    x = nerve.tensor(rnd(4, 4), requires_grad=True)
    h = ops.cumsum(x, axis=0)  # no differentiable rule, but upstream of h
    y = ops.sum(ops.tanh(h) * h)
    (gh,) = nerve.grad(y, [h], create_graph=True)
    (ghh,) = nerve.grad(ops.sum(gh), [h])
    t = np.tanh(h.numpy())
    np.testing.assert_allclose(ghh.numpy(), 2 * (1 - t ** 2) - 2 * h.numpy() * t * (1 - t ** 2), rtol=1e-10)


@pytest.mark.parametrize("strides,padding,output_padding,dilation", [
    ((1, 1), "valid", None, (1, 1)), ((2, 2), "same", None, (1, 1)), ((2, 1), "valid", (1, 0), (1, 1)),
    ((1, 1), "same", None, (2, 2))])
def test_conv2d_transpose_second_order(strides, padding, output_padding, dilation):
    from nerve.autograd.ops.conv import Conv2DTransposeFn

    def f(x, w, b):
        return ops.tanh(Conv2DTransposeFn.apply(x, w, b, strides=strides, padding=padding,
                                                output_padding=output_padding, dilation=dilation))
    second_order(f, [rnd(2, 4, 3, 3), rnd(3, 2, 5, 3) * 0.5, rnd(5)])


def test_grad_matches_backward_and_leaves_grad_alone():
    x = nerve.tensor(rnd(4, 3), requires_grad=True)
    w = nerve.tensor(rnd(3, 2), requires_grad=True)
    loss = ops.sum(ops.tanh(x @ w))
    gx, gw = nerve.grad(loss, [x, w], retain_graph=True)
    assert x.grad is None and w.grad is None and gx._ctx is None  # constants, nothing accumulated
    loss.backward()
    np.testing.assert_allclose(gx.numpy(), x.grad.numpy())
    np.testing.assert_allclose(gw.numpy(), w.grad.numpy())


def test_grad_of_an_interior_tensor_and_grad_outputs():
    x = nerve.tensor(rnd(3), requires_grad=True)
    h = x * 2.0
    y = ops.exp(h)
    v = rnd(3)
    (gh,) = nerve.grad(y, [h], grad_outputs=[v])
    np.testing.assert_allclose(gh.numpy(), v * np.exp(2 * x.numpy()))


def test_hessian_vector_product_of_a_quadratic():
    a = rnd(4, 4)
    A = a @ a.T
    x = nerve.tensor(rnd(4), requires_grad=True)
    f = 0.5 * ops.sum(x * ops.matmul(ops.reshape(x, (1, 4)), nerve.tensor(A))[0])
    (g,) = nerve.grad(f, [x], create_graph=True)
    v = rnd(4)
    (hv,) = nerve.grad(ops.sum(g * nerve.tensor(v)), [x])
    np.testing.assert_allclose(hv.numpy(), 0.5 * (A + A.T) @ v, rtol=1e-10)


def test_backward_create_graph_accumulates_differentiable_grads():
    x = nerve.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)  # x.grad = 3 x^2, with a graph
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    g = x.grad
    x.grad = None
    g.sum().backward()  # d(sum 3x^2)/dx = 6x
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_errors_name_the_op_and_the_argument():
    x = nerve.tensor(rnd(4, 3), requires_grad=True)
    y = ops.sum(ops.cumsum(x, axis=0))
    with pytest.raises(NotImplementedError, match="op '.*cumsum.*' has no differentiable backward yet; second-order "
                                                  "gradients go through these ops: .*dense"):
        nerve.grad(y, [x], create_graph=True)
    with pytest.raises(ValueError, match="grad: argument 'inputs' item 0 must be a Tensor that requires grad"):
        nerve.grad(y, [nerve.tensor(1.0)])
    z = nerve.tensor(rnd(2), requires_grad=True)
    with pytest.raises(ValueError, match="argument 'inputs' item 1 was not used"):
        nerve.grad(ops.sum(x), [x, z])
    assert nerve.grad(ops.sum(x), [x, z], allow_unused=True)[1] is None
    with pytest.raises(ValueError, match="'grad_outputs' may be omitted only for scalar outputs"):
        nerve.grad(x * 2.0, [x])


# ----------------------------------------------------------------------------- jvp (keras.ops.jvp)
def _fd_jvp(f, xs, vs, eps=1e-6):
    plus = f(*[x + eps * v for x, v in zip(xs, vs)])
    minus = f(*[x - eps * v for x, v in zip(xs, vs)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def test_jvp_matches_central_differences():
    x, w, vx, vw = rnd(3, 4), rnd(4, 2), rnd(3, 4), rnd(4, 2)
    out, jv = ops.jvp(lambda a, b: ops.softmax(ops.tanh(ops.matmul(a, b)), axis=-1), (x, w), (vx, vw))

    def ref(a, b):
        z = np.tanh(a @ b)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(out.numpy(), ref(x, w), rtol=1e-12)
    np.testing.assert_allclose(jv.numpy(), _fd_jvp(ref, [x, w], [vx, vw]), rtol=1e-6, atol=1e-9)
    p, t = ops.jvp(ops.sin, (nerve.tensor(0.1),), (nerve.tensor(0.2),))  # Keras's docstring example
    np.testing.assert_allclose([float(p.numpy()), float(t.numpy())], [0.09983342, 0.19900084], rtol=1e-6)
    assert nerve.ops.linalg.jvp is ops.jvp


def test_jvp_structures_aux_and_unused_outputs():
    def f(d):
        return {"y": d["a"] * d["b"], "c": nerve.tensor(np.ones(2))}, "aux"
    a, b, va, vb = rnd(2), rnd(2), rnd(2), rnd(2)
    out, jv, aux = ops.jvp(f, ({"a": a, "b": b},), ({"a": va, "b": vb},), has_aux=True)
    assert aux == "aux" and set(out) == set(jv) == {"y", "c"}
    np.testing.assert_allclose(jv["y"].numpy(), va * b + a * vb)
    np.testing.assert_array_equal(jv["c"].numpy(), np.zeros(2))  # a constant output: zero tangent
    with pytest.raises(ValueError, match="jvp: tangent 0 has shape"):
        ops.jvp(ops.sin, (rnd(3),), (rnd(2),))
    with pytest.raises(TypeError, match="'primals' and 'tangents' expected tuples or lists"):
        ops.jvp(ops.sin, rnd(3), rnd(3))


def test_second_order_on_the_device_matches_the_host():
    """A gradient penalty through Dense, Conv2D, LeakyReLU and layer normalization, on the device (the real CuPy
    when a GPU is visible, else the strict stand-in) and on the host: same values and weight gradients."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fakecupy
    from nerve.autograd.ops.conv import Conv2DFn
    from nerve.autograd.ops.norm import NormalizeFn

    def penalty(x, k, w):
        h = Conv2DFn.apply(x, k, None, strides=(2, 2), padding="same", activation="relu")
        h = NormalizeFn.apply(ops.reshape(h, (x.shape[0], -1)), None, None, axes=(1,), bshape=(1, 1), epsilon=1e-3)
        c = ops.sum(ops.matmul(nerve.activations.leaky_relu(h, 0.2), w))
        (g,) = nerve.grad(c, [x], create_graph=True)
        return ops.mean(ops.square(ops.sqrt(ops.sum(ops.square(g), axis=(1, 2, 3)) + 1e-12) - 1.0))
    inputs = [rnd(3, 6, 6, 2).astype("float32"), rnd(3, 3, 2, 4).astype("float32"), rnd(36, 1).astype("float32")]
    with fakecupy.gpu_module() as cp:
        fakecupy.check_same_on_device(cp, penalty, inputs, rtol=1e-4 if fakecupy.real_cupy() else 1e-6,
                                      atol=1e-5 if fakecupy.real_cupy() else 1e-7)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("options", [dict(), dict(return_sequences=True, go_backwards=True),
                                     dict(return_sequences=True, masked=True, zero_masked=True),
                                     dict(masked=True, initial=True)])
def test_recurrent_second_order(kind, options):
    """The fused recurrences (fast and masked paths, both directions, initial states) through their unrolled
    composites; every output (sequence or last, final states) carries a cotangent."""
    from nerve.autograd.ops.recurrent import GRUFn, LSTMFn, SimpleRNNFn
    fn_cls, gates, n_states = {"simple_rnn": (SimpleRNNFn, 1, 1), "lstm": (LSTMFn, 4, 2), "gru": (GRUFn, 3, 1)}[kind]
    N, T, D, H = 2, 4, 3, 2
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], bool) if options.get("masked") else None
    kw = {k: options[k] for k in ("return_sequences", "go_backwards", "zero_masked") if k in options}
    b = rnd(2, gates * H) * 0.5 if kind == "gru" else rnd(gates * H) * 0.5
    inputs = [rnd(N, T, D), rnd(D, gates * H) * 0.7, rnd(H, gates * H) * 0.7, b]
    if options.get("initial"):
        inputs += [rnd(N, H) for _ in range(n_states)]

    def f(x, w, u, b, *init):
        init = list(init) or [None] * n_states
        outs = fn_cls.apply(x, w, u, b, *init, mask, **kw)
        return ops.concatenate([ops.reshape(t, (N, -1)) for t in outs], axis=1)  # every output in one tensor
    second_order(f, inputs)


@pytest.mark.parametrize("strides,padding,activation", [((1, 1, 1), "valid", "linear"), ((2, 1, 2), "same", "relu")])
def test_conv3d_and_3d_pooling_second_order(strides, padding, activation):
    from nerve.autograd.ops.conv3d import AvgPool3DFn, Conv3DFn, Conv3DTransposeFn, MaxPool3DFn

    def conv(x, w, b):
        return Conv3DFn.apply(x, w, b, strides=strides, padding=padding, activation=activation)
    second_order(conv, [rnd(2, 4, 3, 5, 2), rnd(2, 2, 3, 2, 3) * 0.5, rnd(3)])

    def deconv(x, w, b):
        return ops.tanh(Conv3DTransposeFn.apply(x, w, b, strides=strides, padding=padding))
    second_order(deconv, [rnd(2, 3, 2, 3, 2), rnd(2, 3, 2, 3, 2) * 0.5, rnd(3)])
    second_order(lambda x: MaxPool3DFn.apply(x * x * x, (2, 2, 2), strides, padding), [rnd(2, 4, 4, 5, 2)])
    second_order(lambda x: AvgPool3DFn.apply(x * x, (2, 2, 2), strides, padding), [rnd(2, 4, 4, 5, 2)])


def test_hessian_of_logistic_regression_matches_the_closed_form():
    """seed-002's Newton step uses the explicit Hessian of the logistic loss, H = X^T diag(p (1 - p)) X / n; the
    autodiff Hessian (one Hessian-vector product per basis vector) equals it."""
    X = rnd(20, 3)
    y = (R.random(20) > 0.5).astype(float)
    w = nerve.tensor(rnd(3) * 0.3, requires_grad=True)
    z = ops.matmul(nerve.tensor(X), ops.reshape(w, (3, 1)))[:, 0]
    loss = ops.mean(ops.softplus(z) - nerve.tensor(y) * z)  # -log-likelihood: log(1 + e^z) - y z
    (g,) = nerve.grad(loss, [w], create_graph=True)
    H = np.stack([nerve.grad(ops.sum(g * nerve.tensor(e)), [w], retain_graph=True)[0].numpy() for e in np.eye(3)])
    p = 1 / (1 + np.exp(-X @ w.numpy()))
    np.testing.assert_allclose(g.numpy(), X.T @ (p - y) / 20, rtol=1e-10)
    np.testing.assert_allclose(H, X.T @ (X * (p * (1 - p))[:, None]) / 20, rtol=1e-10)
