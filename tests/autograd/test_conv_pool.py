"""Convolution and pooling kernels vs PyTorch (forward and backward) and float64 gradcheck."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import nerve  # noqa: E402
from nerve.autograd.ops.conv import Conv2DFn, Conv2DTransposeFn, conv_out_len  # noqa: E402
from nerve.autograd.ops.pool import AvgPool2DFn, MaxPool2DFn  # noqa: E402

pytestmark = pytest.mark.usefixtures("kernel_path", "chain_count")  # compiled or NumPy, 1 or 2 batch chains (conftest.py)
rs = np.random.default_rng(0)


def nchw(a):
    return torch.tensor(a.transpose(0, 3, 1, 2), requires_grad=True)


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize("N,H,W,C,F,kh,kw,s,d,pad", [
    (2, 7, 6, 3, 4, 3, 3, 1, 1, "valid"), (2, 7, 6, 3, 4, 3, 2, 2, 1, "same"), (2, 9, 9, 2, 3, 3, 3, 1, 2, "valid"),
    (1, 8, 7, 2, 2, 3, 3, 2, 1, "valid"), (2, 5, 5, 1, 2, 2, 2, 2, 1, "same"), (2, 6, 6, 2, 3, 3, 3, 1, 2, "same")])
def test_conv2d_matches_torch(N, H, W, C, F, kh, kw, s, d, pad):
    x, w, b = rs.normal(size=(N, H, W, C)), rs.normal(size=(kh, kw, C, F)), rs.normal(size=F)
    X, Wt, B = (nerve.tensor(a, requires_grad=True) for a in (x, w, b))
    y = Conv2DFn.apply(X, Wt, B, strides=(s, s), padding=pad, dilation=(d, d))
    g = rs.normal(size=y.shape)
    y.backward(g)
    tx, tw, tb = nchw(x), torch.tensor(w.transpose(3, 2, 0, 1), requires_grad=True), torch.tensor(b, requires_grad=True)
    _, ph = conv_out_len(H, kh, s, d, pad)
    _, pw = conv_out_len(W, kw, s, d, pad)
    ty = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (pw[0], pw[1], ph[0], ph[1])), tw, tb, stride=s, dilation=d)
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y.numpy(), nhwc(ty), atol=1e-9)
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-9)
    np.testing.assert_allclose(Wt.grad.numpy(), tw.grad.numpy().transpose(2, 3, 1, 0), atol=1e-9)
    np.testing.assert_allclose(B.grad.numpy(), tb.grad.numpy(), atol=1e-9)


@pytest.mark.parametrize("N,H,W,C,F,k,s,pad", [
    (2, 4, 4, 3, 2, 3, 1, "valid"), (2, 4, 5, 3, 2, 3, 2, "valid"), (2, 4, 4, 3, 2, 4, 2, "same"),
    (1, 3, 3, 2, 2, 3, 2, "same"), (2, 5, 5, 2, 3, 5, 2, "same")])
def test_conv2d_transpose_matches_torch(N, H, W, C, F, k, s, pad):
    x, w, b = rs.normal(size=(N, H, W, C)), rs.normal(size=(k, k, F, C)), rs.normal(size=F)
    X, Wt = nerve.tensor(x, requires_grad=True), nerve.tensor(w, requires_grad=True)
    y = Conv2DTransposeFn.apply(X, Wt, b, strides=(s, s), padding=pad)
    expect = (H * s, W * s) if pad == "same" else (H * s + max(k - s, 0), W * s + max(k - s, 0))
    assert y.shape[1:3] == expect
    g = rs.normal(size=y.shape)
    y.backward(g)
    tx, tw = nchw(x), torch.tensor(w.transpose(3, 2, 0, 1), requires_grad=True)
    oh, ow = y.shape[1], y.shape[2]
    full = torch.nn.functional.conv_transpose2d(tx, tw, torch.tensor(b), stride=s)  # then crop like TF 'same'
    ph, pw = (conv_out_len(oh, k, s, 1, "same")[1], conv_out_len(ow, k, s, 1, "same")[1]) if pad == "same" \
        else ((0, 0), (0, 0))
    full = torch.nn.functional.pad(full, (0, max(0, ow + pw[0] - full.shape[3]), 0, max(0, oh + ph[0] - full.shape[2])))
    ty = full[:, :, ph[0]:ph[0] + oh, pw[0]:pw[0] + ow]
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y.numpy(), nhwc(ty), atol=1e-9)
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-9)
    np.testing.assert_allclose(Wt.grad.numpy(), tw.grad.numpy().transpose(2, 3, 1, 0), atol=1e-9)


def test_conv_gradcheck_float64():
    x, w, b = rs.normal(size=(2, 5, 5, 2)), rs.normal(size=(3, 3, 2, 3)), rs.normal(size=3)
    nerve.gradcheck(lambda x, w, b: Conv2DFn.apply(x, w, b, strides=(2, 1), padding="same", dilation=(1, 1)), [x, w, b])
    nerve.gradcheck(lambda x, w: Conv2DTransposeFn.apply(x, w, None, strides=(2, 2), padding="same"),
                    [rs.normal(size=(1, 3, 3, 2)), rs.normal(size=(3, 3, 2, 2))])


def test_conv_shape_errors():
    with pytest.raises(ValueError, match="matching C"):
        Conv2DFn.apply(np.ones((1, 5, 5, 2)), np.ones((3, 3, 3, 4)))
    with pytest.raises(ValueError, match="smaller than"):
        Conv2DFn.apply(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)))


@pytest.mark.parametrize("H,W,k,s,pad", [(6, 6, 2, 2, "valid"), (7, 7, 2, 2, "valid"), (7, 6, 3, 2, "valid"),
                                         (7, 7, 3, 1, "valid"), (7, 7, 3, 2, "same"), (6, 5, 2, 2, "same")])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch_and_gradcheck(H, W, k, s, pad, kind):
    Fn = MaxPool2DFn if kind == "max" else AvgPool2DFn
    x = rs.normal(size=(2, H, W, 3))
    X = nerve.tensor(x, requires_grad=True)
    y = Fn.apply(X, (k, k), (s, s), pad)
    g = rs.normal(size=y.shape)
    y.backward(g)
    if pad == "valid":
        tx = nchw(x)
        f = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
        ty = f(tx, k, s)
        ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
        np.testing.assert_allclose(y.numpy(), nhwc(ty), atol=1e-12)
        np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)
    nerve.gradcheck(lambda a: Fn.apply(a, (k, k), (s, s), pad), [x])


def test_max_pool_ties_route_gradient_once():
    x = np.zeros((1, 2, 2, 1))
    X = nerve.tensor(x, requires_grad=True)
    MaxPool2DFn.apply(X, (2, 2)).sum().backward()
    assert X.grad.numpy().sum() == 1.0
