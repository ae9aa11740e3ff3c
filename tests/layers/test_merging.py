"""Merge layers against torch / NumPy, Keras shape rules and errors."""
import numpy as np
import pytest
import torch

import nerve
from nerve import layers as L


def _r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cls,ref", [
    (L.Add, lambda a, b, c: a + b + c), (L.Multiply, lambda a, b, c: a * b * c),
    (L.Average, lambda a, b, c: (a + b + c) / 3), (L.Maximum, lambda a, b, c: torch.maximum(torch.maximum(a, b), c)),
    (L.Minimum, lambda a, b, c: torch.minimum(torch.minimum(a, b), c))])
def test_elementwise_merges_match_torch(cls, ref):
    xs = [_r(4, 5, seed=i) for i in range(3)]
    ts = [nerve.tensor(x, requires_grad=True) for x in xs]
    tt = [torch.tensor(x, requires_grad=True) for x in xs]
    y, yt = cls()(ts), ref(*tt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6)
    v = _r(4, 5, seed=9)
    (y * v).sum().backward()
    (yt * torch.tensor(v)).sum().backward()
    for a, b in zip(ts, tt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_subtract_exactly_two():
    a, b = _r(3, 2), _r(3, 2, seed=1)
    np.testing.assert_allclose(L.Subtract()([a, b]).numpy(), a - b)
    with pytest.raises(ValueError, match="Subtract .*exactly 2 inputs"):
        L.Subtract()([a, b, a])


def test_merge_shape_rules_and_errors():
    a, b = L.Input((5, 3)), L.Input((1, 3))
    assert L.Add()([a, b]).shape == (None, 5, 3)
    # lower rank: axes are inserted after the batch axis (Keras), so (4, 3) acts as (4, 1, 3)
    y = L.Add()([_r(4, 2, 3), _r(4, 3, seed=1)]).numpy()
    np.testing.assert_allclose(y, _r(4, 2, 3) + _r(4, 3, seed=1)[:, None, :], rtol=1e-6)
    with pytest.raises(ValueError, match="Add 'bad_add': inputs have incompatible shapes"):
        L.Add(name="bad_add")([L.Input((5,)), L.Input((4,))])
    with pytest.raises(ValueError, match="list of inputs"):
        L.Add()(_r(2, 3))
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add()([_r(2, 3), _r(3, 3)])


def test_concatenate_shapes_and_errors():
    a, b = _r(2, 3, 4), _r(2, 5, 4, seed=1)
    np.testing.assert_array_equal(L.Concatenate(axis=1)([a, b]).numpy(), np.concatenate([a, b], 1))
    assert L.Concatenate()([L.Input((3,)), L.Input((4,))]).shape == (None, 7)
    assert L.Concatenate(axis=1)([L.Input((None, 4)), L.Input((2, 4))]).shape == (None, None, 4)
    with pytest.raises(ValueError, match=r"Concatenate 'cc': inputs must have matching shapes except for the "
                                         r"concatenation axis -1, got shapes \[\(None, 3, 4\), \(None, 5, 4\)\]"):
        L.Concatenate(name="cc")([L.Input((3, 4)), L.Input((5, 4))])
    with pytest.raises(ValueError, match="same rank"):
        L.Concatenate()([_r(2, 3), _r(2, 3, 1)])


def test_concatenate_mask():
    a, b = _r(2, 3, 4), _r(2, 3, 2, seed=1)
    ma = np.array([[1, 1, 0], [1, 0, 0]], bool)
    ta = nerve.tensor(a)
    ta._keras_mask = nerve.tensor(ma)
    y = L.Concatenate()([ta, nerve.tensor(b)])
    np.testing.assert_array_equal(np.asarray(y._keras_mask), np.ones((2, 3), bool))
    y2 = L.Concatenate(axis=1)([ta, nerve.tensor(_r(2, 3, 4, seed=2))])
    assert np.asarray(y2._keras_mask).shape == (2, 6)


@pytest.mark.parametrize("s1,s2,axes", [((4, 5), (4, 5), 1), ((4, 3, 5), (4, 6, 5), (2, 2)),
                                        ((4, 3, 5), (4, 3, 2), 1), ((4, 5), (4, 3, 5), (1, 2))])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_torch(s1, s2, axes, normalize):
    a, b = _r(*s1), _r(*s2, seed=1)
    layer = L.Dot(axes=axes, normalize=normalize)
    y = layer([a, b]).numpy()
    ax = (axes, axes) if isinstance(axes, int) else axes
    ta, tb = torch.tensor(a), torch.tensor(b)
    if normalize:
        ta, tb = torch.nn.functional.normalize(ta, dim=ax[0]), torch.nn.functional.normalize(tb, dim=ax[1])
    ta = torch.movedim(ta, ax[0], -1).reshape(s1[0], -1, s1[ax[0]])   # (b, free1, k)
    tb = torch.movedim(tb, ax[1], 1).reshape(s2[0], s2[ax[1]], -1)    # (b, k, free2)
    ref = torch.bmm(ta, tb).numpy()
    out_shape = layer.compute_output_shape([(None,) + s1[1:], (None,) + s2[1:]])
    assert y.shape[1:] == out_shape[1:]
    np.testing.assert_allclose(y.reshape(ref.shape), ref, rtol=1e-5, atol=1e-6)
    nerve.gradcheck(lambda u, w: L.Dot(axes=axes, normalize=normalize, dtype="float64")([u, w]),
                    [a.astype("float64"), b.astype("float64")])


def test_dot_errors():
    with pytest.raises(ValueError, match=r"Dot 'dd': incompatible input shapes: axis values 3 \(at axis 1\) != 4"):
        L.Dot(axes=1, name="dd")([L.Input((3,)), L.Input((4,))])
    with pytest.raises(ValueError, match="Dot .*exactly 2 inputs"):
        L.Dot(axes=1)([L.Input((3,))] * 3)
    with pytest.raises(TypeError, match="Dot .*'axes'"):
        L.Dot(axes="x")
    assert L.Dot(axes=1).get_config()["axes"] == 1


def test_functional_merge_forms():
    a, b = _r(3, 4), _r(3, 4, seed=1)
    np.testing.assert_allclose(L.add([a, b]).numpy(), a + b)
    np.testing.assert_allclose(L.subtract([a, b]).numpy(), a - b)
    np.testing.assert_allclose(L.multiply([a, b]).numpy(), a * b)
    np.testing.assert_allclose(L.average([a, b]).numpy(), (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(L.maximum([a, b]).numpy(), np.maximum(a, b))
    np.testing.assert_allclose(L.minimum([a, b]).numpy(), np.minimum(a, b))
    assert L.concatenate([L.Input((2,)), L.Input((3,))]).shape == (None, 5)
    np.testing.assert_allclose(L.dot([a, b], axes=1).numpy(), (a * b).sum(1, keepdims=True), rtol=1e-5)
