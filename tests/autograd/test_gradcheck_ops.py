"""float64 gradcheck (seed-002 §1.11: |g - g~| / (|g| + |g~|) < 1e-6) for every op of issue 2.

Inputs are random with a fixed seed, on small random shapes (broadcasting, scalars, axis variants), and
kept away from kinks (relu/abs at 0, max ties, clip edges) where the central difference is not defined.
"""
import numpy as np
import pytest

import nerve
from nerve import ops

R = np.random.default_rng(1234)


def rnd(*shape):
    return R.standard_normal(shape)


def pos(*shape):  # strictly positive, for log / sqrt / power bases
    return R.uniform(0.5, 2.0, shape)


def away(*shape, gap=0.1):  # |x| >= gap: no kink at 0 for relu, abs, sign, leaky_relu, elu
    x = R.uniform(gap, 2.0, shape)
    return x * R.choice([-1.0, 1.0], shape)


def distinct(*shape):  # a permutation: no ties for max/min/maximum
    return R.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + R.uniform(0, 0.01, shape)


CASES = []


def case(name, fn, *inputs, **kw):
    CASES.append(pytest.param(fn, inputs, kw, id=name))


# ---------------------------------------------------------------- binary arithmetic with broadcasting
BCAST = [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((5, 4), (3, 1, 4)), ((2, 3), ()), ((), (4,)), ((4, 1), (1, 3))]
for sa, sb in BCAST:
    tag = f"{sa}x{sb}"
    case(f"add{tag}", ops.add, rnd(*sa), rnd(*sb))
    case(f"subtract{tag}", ops.subtract, rnd(*sa), rnd(*sb))
    case(f"multiply{tag}", ops.multiply, rnd(*sa), rnd(*sb))
    case(f"divide{tag}", ops.divide, rnd(*sa), pos(*sb))
    case(f"power{tag}", ops.power, pos(*sa), rnd(*sb))
    a, b = R.standard_normal(sa), R.standard_normal(sb)
    b = b + 0.2 * np.sign(b - np.broadcast_to(a.mean(), b.shape))  # ties have probability 0 anyway
    case(f"maximum{tag}", ops.maximum, a, b)
    case(f"minimum{tag}", ops.minimum, a, b)
case("add_python_scalar", lambda x: ops.add(x, 2.5), rnd(3))
case("rsub_python_scalar", lambda x: 1.5 - x, rnd(2, 3))
case("rdiv_python_scalar", lambda x: 2.0 / x, pos(2, 3))
case("power_int_exponent", lambda x: ops.power(x, 3), rnd(2, 3))
case("power_square_exponent", lambda x: x ** 2, rnd(2, 3))
case("power_scalar_base", lambda x: ops.power(2.0, x), rnd(2, 3))
case("operators_chain", lambda x, y, w: (x * y - x / (y * y + 1)) @ w.T, rnd(2, 3), rnd(2, 3), rnd(4, 3))

# ---------------------------------------------------------------- unary math
case("negative", ops.negative, rnd(3, 4))
case("square", ops.square, rnd(3, 4))
case("sqrt", ops.sqrt, pos(3, 4))
case("exp", ops.exp, rnd(3, 4))
case("log", ops.log, pos(3, 4))
case("log1p", ops.log1p, pos(3, 4) - 0.4)
case("abs", ops.abs, away(3, 4))
case("sign", lambda x: ops.sign(x) * x, away(3, 4))  # sign' = 0: the product checks x * sign(x)
case("clip", lambda x: ops.clip(x, -0.5, 0.7), np.array([-1.3, -0.2, 0.1, 0.4, 1.2, -0.9, 0.65, 2.0]))
case("clip_2d", lambda x: ops.clip(x, -1.0, 1.0), away(3, 5) * 1.3)
case("where", lambda x, y: ops.where(x > 0, x, y), away(3, 4), rnd(4))
case("where_broadcast_cond", lambda x, y: ops.where(np.array([True, False, True]), x, y), rnd(2, 3), rnd(2, 1))
case("where_scalar_branch", lambda x: ops.where(x > 0, x, 0.0), away(3, 4))

# ---------------------------------------------------------------- reductions (axis variants)
AXES = [(None, False), (None, True), (0, False), (-1, True), ((0, 2), False), ((0, 2), True), (1, True), ((-1, -3), False)]
for axis, kd in AXES:
    tag = f"axis={axis},keepdims={kd}"
    case(f"sum[{tag}]", lambda x, a=axis, k=kd: ops.sum(x, axis=a, keepdims=k), rnd(2, 3, 4))
    case(f"mean[{tag}]", lambda x, a=axis, k=kd: ops.mean(x, axis=a, keepdims=k), rnd(2, 3, 4))
    case(f"max[{tag}]", lambda x, a=axis, k=kd: ops.max(x, axis=a, keepdims=k), distinct(2, 3, 4))
    case(f"min[{tag}]", lambda x, a=axis, k=kd: ops.min(x, axis=a, keepdims=k), distinct(2, 3, 4))
    case(f"var[{tag}]", lambda x, a=axis, k=kd: ops.var(x, axis=a, keepdims=k), rnd(2, 3, 4))
    case(f"std[{tag}]", lambda x, a=axis, k=kd: ops.std(x, axis=a, keepdims=k), rnd(2, 3, 4))
    case(f"logsumexp[{tag}]", lambda x, a=axis, k=kd: ops.logsumexp(x, axis=a, keepdims=k), rnd(2, 3, 4))
case("sum_method", lambda x: x.sum(), rnd(5))
case("logsumexp_large", lambda x: ops.logsumexp(x, axis=-1), rnd(3, 4) * 3 + 500.0)

# ---------------------------------------------------------------- linear algebra
MM = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
      ((3, 4), (2, 4, 5))]
for sa, sb in MM:
    case(f"matmul{sa}@{sb}", ops.matmul, rnd(*sa), rnd(*sb))
case("tensordot_axes2", lambda a, b: ops.tensordot(a, b, axes=2), rnd(2, 3, 4), rnd(3, 4, 5))
case("tensordot_axes1", lambda a, b: ops.tensordot(a, b, axes=1), rnd(2, 3), rnd(3, 4))
case("tensordot_axes0", lambda a, b: ops.tensordot(a, b, axes=0), rnd(2, 3), rnd(3))
case("tensordot_pairs", lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])), rnd(2, 3, 4), rnd(4, 2, 5))
for spec, shapes in [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
                     ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("ij,ij->i", [(2, 3), (2, 3)]),
                     ("i,j->ij", [(3,), (4,)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
                     ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]), ("ijk->ik", [(2, 3, 4)]),
                     ("ij,jk", [(2, 3), (3, 4)]), ("...ij,...jk->...ik", [(1, 2, 3), (4, 3, 2)]),
                     ("ij,ij->j", [(1, 3), (4, 3)]), ("ij,jk->", [(2, 1), (3, 4)])]:
    case(f"einsum[{spec}]", lambda *xs, s=spec: ops.einsum(s, *xs), *[rnd(*s) for s in shapes])

# ---------------------------------------------------------------- shape
case("transpose_default", ops.transpose, rnd(2, 3, 4))
case("transpose_perm", lambda x: ops.transpose(x, (1, 2, 0)), rnd(2, 3, 4))
case("transpose_negative", lambda x: ops.transpose(x, (-1, 0, 1)), rnd(2, 3, 4))
case("T", lambda x: x.T, rnd(2, 3))
case("reshape", lambda x: ops.reshape(x, (4, -1)), rnd(2, 3, 4))
case("reshape_method", lambda x: x.reshape(3, 8), rnd(2, 3, 4))
case("expand_dims", lambda x: ops.expand_dims(x, 1), rnd(2, 3))
case("expand_dims_neg", lambda x: ops.expand_dims(x, -1), rnd(2, 3))
case("squeeze_all", ops.squeeze, rnd(2, 1, 3, 1))
case("squeeze_axis", lambda x: ops.squeeze(x, -1), rnd(2, 1, 3, 1))
case("concatenate0", lambda a, b: ops.concatenate([a, b]), rnd(2, 3), rnd(4, 3))
case("concatenate_neg", lambda a, b, c: ops.concatenate([a, b, c], axis=-1), rnd(2, 3), rnd(2, 1), rnd(2, 2))
case("stack0", lambda a, b: ops.stack([a, b]), rnd(2, 3), rnd(2, 3))
case("stack_neg", lambda a, b, c: ops.stack([a, b, c], axis=-1), rnd(2, 3), rnd(2, 3), rnd(2, 3))
case("split_sections", lambda x: tuple(ops.split(x, 3, axis=1)), rnd(2, 6))
case("split_indices", lambda x: tuple(ops.split(x, [1, 3], axis=0)), rnd(5, 2))
case("split_partial_use", lambda x: ops.split(x, 2, axis=-1)[1] * 2.0, rnd(3, 4))
case("pad", lambda x: ops.pad(x, ((1, 2), (0, 3))), rnd(2, 3))
case("pad_int", lambda x: ops.pad(x, 1), rnd(2, 3))
case("pad_constant_values", lambda x: ops.pad(x, ((1, 1),), constant_values=3.0), rnd(4))
case("take_flat", lambda x: ops.take(x, np.array([0, 5, 5, 2])), rnd(2, 3))
case("take_axis0_repeats", lambda x: ops.take(x, np.array([2, 0, 2, 2]), axis=0), rnd(3, 4))
case("take_axis1", lambda x: ops.take(x, np.array([1, -1]), axis=1), rnd(2, 3, 4))
case("take_axis1_2d_idx", lambda x: ops.take(x, np.array([[0, 1], [1, 1], [3, 0]]), axis=1), rnd(2, 4, 3))
case("take_neg_axis", lambda x: ops.take(x, np.array([0, 0, 2]), axis=-1), rnd(2, 3))
case("getitem_int", lambda x: x[1], rnd(3, 4))
case("getitem_scalar", lambda x: x[1, 2] * x[0, 0], rnd(3, 4))
case("getitem_slice", lambda x: x[1:, ::2], rnd(3, 5))
case("getitem_neg_step", lambda x: x[::-1, 1:-1], rnd(3, 5))
case("getitem_ellipsis_none", lambda x: x[..., None, 0], rnd(2, 3, 4))
case("getitem_adv_repeats", lambda x: x[[0, 2, 0, 0]], rnd(3, 4))
case("getitem_adv_array_pair", lambda x: x[np.array([0, 1, 1]), np.array([2, 2, 0])], rnd(2, 3))
case("getitem_adv_mixed", lambda x: x[:, [1, 1, 0]], rnd(2, 3, 4))
case("getitem_bool_mask", lambda x: x[np.array([True, False, True])], rnd(3, 2))
case("getitem_neg_alias_repeats", lambda x: x[[-1, 2, 0, -3]], rnd(3, 4))  # -1 and 2 are the same row
case("getitem_mask_and_slice", lambda x: x[np.array([True, False, True]), 1:], rnd(3, 4))
case("getitem_2d_index_array", lambda x: x[np.array([[0, 1], [1, 1]])], rnd(3, 4))
case("getitem_none_list_step", lambda x: x[None, [1, 1], ::2], rnd(3, 4))
case("getitem_tensor_index", lambda x: x[nerve.tensor(np.array([1, 1, 0]))], rnd(3, 2))

# ---------------------------------------------------------------- activations
case("sigmoid", ops.sigmoid, rnd(3, 4) * 3)
case("tanh", ops.tanh, rnd(3, 4))
case("relu", ops.relu, away(3, 4))
case("leaky_relu", ops.leaky_relu, away(3, 4))
case("leaky_relu_slope", lambda x: ops.leaky_relu(x, negative_slope=0.01), away(3, 4))
case("elu", ops.elu, away(3, 4))
case("elu_alpha", lambda x: ops.elu(x, alpha=0.5), away(3, 4))
case("selu", ops.selu, away(3, 4))
case("softplus", ops.softplus, rnd(3, 4) * 3)
case("softsign", ops.softsign, away(3, 4))
case("hard_sigmoid", ops.hard_sigmoid, np.array([-4.0, -2.0, 0.0, 1.0, 2.9, 3.5, -2.8, 0.3]))
case("silu", ops.silu, rnd(3, 4) * 2)
case("gelu_tanh", lambda x: ops.gelu(x, approximate=True), rnd(3, 4) * 2)
case("gelu_erf", lambda x: ops.gelu(x, approximate=False), rnd(3, 4) * 2)
case("softmax", ops.softmax, rnd(3, 4))
case("softmax_axis0", lambda x: ops.softmax(x, axis=0), rnd(3, 4))
case("softmax_3d_axis1", lambda x: ops.softmax(x, axis=1), rnd(2, 3, 4))
case("log_softmax", ops.log_softmax, rnd(3, 4))
case("log_softmax_axis0", lambda x: ops.log_softmax(x, axis=0), rnd(3, 4) * 5)


@pytest.mark.parametrize("fn, inputs, kw", CASES)
def test_gradcheck(fn, inputs, kw):
    res = nerve.gradcheck(fn, list(inputs), **kw)
    assert res.rel_diff < 1e-6, res


def test_all_listed_ops_covered():
    listed = ("add subtract multiply divide negative power square sqrt exp log log1p abs sign maximum minimum "
              "clip where sum mean max min var std logsumexp matmul tensordot einsum transpose reshape expand_dims "
              "squeeze concatenate stack split pad take sigmoid tanh relu leaky_relu elu selu softplus softsign "
              "softmax log_softmax hard_sigmoid silu gelu getitem").split()
    ids = [c.id for c in CASES]
    missing = [op for op in listed if not any(i.startswith(op) for i in ids)]
    assert not missing, missing


def test_gradcheck_detects_a_wrong_gradient():
    class BadSquare(nerve.Function):
        name = "bad_square"

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return g * 3 * self.x  # wrong: should be 2 x

    with pytest.raises(AssertionError, match="relative difference"):
        nerve.gradcheck(lambda x: BadSquare.apply(x), [rnd(3)])
    res = nerve.gradcheck(lambda x: BadSquare.apply(x), [rnd(3)], raise_exception=False)
    assert not res.ok and res.rel_diff > 0.1 and res.worst[0] == 0


def test_one_hot_values():
    y = ops.one_hot(np.array([2, 0, 1, 2]), 3)
    np.testing.assert_array_equal(y.numpy(), np.eye(3)[[2, 0, 1, 2]])
    assert y.dtype == np.float32 and not y.requires_grad
    y2 = ops.one_hot(nerve.tensor(np.array([[1], [0]])), 2, axis=0)
    assert y2.shape == (2, 2, 1)
    np.testing.assert_array_equal(y2.numpy()[:, :, 0], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="one_hot"):
        ops.one_hot(np.array([3]), 3)
