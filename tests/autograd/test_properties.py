"""Property tests (hypothesis): broadcasting and its adjoint, reshape/transpose round trips, and the
gradients of randomly broadcast binary ops against PyTorch."""
import numpy as np
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import nerve
from nerve import ops
from nerve.autograd import unbroadcast

FAST = settings(max_examples=60, deadline=None)


@st.composite
def broadcast_pair(draw):
    """(x_shape, out_shape): x_shape broadcasts to out_shape (leading axes dropped, some axes set to 1)."""
    out = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    drop = draw(st.integers(0, len(out)))
    x = tuple(1 if draw(st.booleans()) else n for n in out[drop:])
    return x, out


@given(broadcast_pair(), st.integers(0, 2**31 - 1))
@FAST
def test_unbroadcast_is_the_adjoint_of_broadcasting(shapes, seed):
    xs, outs = shapes
    r = np.random.default_rng(seed)
    x, g = r.standard_normal(xs), r.standard_normal(outs)
    u = unbroadcast(g, xs)
    assert u.shape == xs
    # <broadcast(x), g> == <x, unbroadcast(g)>
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, outs) * g), np.sum(x * u), rtol=1e-10, atol=1e-10)
    # equals summing over the broadcast axes (torch's sum_to_size is the same map)
    np.testing.assert_allclose(u, torch.tensor(g).sum_to_size(xs).numpy() if xs else g.sum(), rtol=1e-12, atol=1e-12)


@given(broadcast_pair(), st.integers(0, 2**31 - 1))
@FAST
def test_gradient_through_broadcast_add_is_unbroadcast(shapes, seed):
    xs, outs = shapes
    r = np.random.default_rng(seed)
    x = nerve.tensor(r.standard_normal(xs), requires_grad=True)
    g = r.standard_normal(outs)
    y = x + np.zeros(outs)
    assert y.shape == outs
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), unbroadcast(g, xs), rtol=1e-12, atol=1e-12)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=5), st.randoms(use_true_random=False))
@FAST
def test_transpose_round_trip_and_identity_gradient(shape, rand):
    perm = list(range(len(shape)))
    rand.shuffle(perm)
    inv = list(np.argsort(perm))
    data = np.random.default_rng(len(shape)).standard_normal(shape)
    x = nerve.tensor(data, requires_grad=True)
    y = ops.transpose(x, perm)
    np.testing.assert_array_equal(y.numpy(), np.transpose(data, perm))
    z = ops.transpose(y, inv)
    np.testing.assert_array_equal(z.numpy(), data)
    g = np.arange(data.size, dtype=np.float64).reshape(shape)
    z.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g)  # the round trip is the identity, so is its Jacobian


@given(st.lists(st.integers(1, 4), min_size=0, max_size=5), st.randoms(use_true_random=False))
@FAST
def test_reshape_round_trip_and_identity_gradient(shape, rand):
    shape = tuple(shape)
    n = int(np.prod(shape))
    # a random factorisation of n as the intermediate shape, with one -1
    dims, rest = [], n
    for d in (2, 3, 2, 5):
        if rest % d == 0 and rand.random() < 0.5:
            dims.append(d)
            rest //= d
    mid = dims + [rest]
    if rand.random() < 0.5:
        mid[rand.randrange(len(mid))] = -1
    data = np.random.default_rng(n).standard_normal(shape)
    x = nerve.tensor(data, requires_grad=True)
    y = ops.reshape(x, mid)
    assert y.shape == np.reshape(data, mid).shape
    z = ops.reshape(y, shape)
    np.testing.assert_array_equal(z.numpy(), data)
    g = np.linspace(-1, 1, n).reshape(shape)
    z.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g)


BINARY = {
    "add": (ops.add, torch.add, False), "subtract": (ops.subtract, torch.sub, False),
    "multiply": (ops.multiply, torch.mul, False), "divide": (ops.divide, torch.div, True),
    "power": (ops.power, torch.pow, True), "maximum": (ops.maximum, torch.maximum, False),
    "minimum": (ops.minimum, torch.minimum, False),
}


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       st.sampled_from(sorted(BINARY)), st.integers(0, 2**31 - 1), st.booleans())
@FAST
def test_broadcast_binary_gradients_match_torch(shapes, name, seed, swap):
    nfn, tfn, positive = BINARY[name]
    (sa, sb), res = shapes.input_shapes, shapes.result_shape
    r = np.random.default_rng(seed)
    a = r.uniform(0.5, 2.0, sa) if positive else r.standard_normal(sa)
    b = r.uniform(0.5, 2.0, sb) if name == "divide" else r.standard_normal(sb)
    if swap and name != "divide" and name != "power":
        a, b = b, a
    na, nb = nerve.tensor(a, requires_grad=True), nerve.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = nfn(na, nb), tfn(ta, tb)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = r.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(na.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(nb.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert na.grad.shape == a.shape and nb.grad.shape == b.shape


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
@FAST
def test_reductions_over_any_axes_match_numpy_and_sum_gradient(shape, data):
    nd = len(shape)
    axes = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                               st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)))
    keep = data.draw(st.booleans())
    x = np.random.default_rng(nd).standard_normal(shape)
    t = nerve.tensor(x, requires_grad=True)
    s = ops.sum(t, axes, keepdims=keep)
    np.testing.assert_allclose(s.numpy(), np.sum(x, axis=axes, keepdims=keep), rtol=1e-12)
    ops.sum(s * 2.0).backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.full(shape, 2.0))
