"""3-D convolution, transposed convolution and pooling kernels (nerve/autograd/ops/conv3d.py) and keras.ops
conv / conv_transpose / max_pool / average_pool on 5-D inputs: values and gradients vs PyTorch in float64,
values in float32, float64 gradchecks (random cotangents), errors, and the device path on CuPy's rules."""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nerve  # noqa: E402
from nerve import backend  # noqa: E402
from nerve.autograd.ops import nn_functional as F  # noqa: E402
from nerve.autograd.ops.conv import conv_out_len  # noqa: E402
from nerve.autograd.ops.conv3d import AvgPool3DFn, Conv3DFn, Conv3DTransposeFn, MaxPool3DFn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

rs = np.random.default_rng(0)


def ncdhw(a, grad=True):
    """(N, D, H, W, C) NumPy -> (N, C, D, H, W) torch leaf."""
    return torch.tensor(np.moveaxis(a, -1, 1).copy(), requires_grad=grad)


def ndhwc(t):
    return np.moveaxis(t.detach().numpy(), 1, -1)


def torch_kernel(w):
    """Keras conv kernel (kd, kh, kw, C, F) -> torch conv3d weight (F, C, kd, kh, kw); a transposed-conv kernel
    (kd, kh, kw, F, C) -> torch conv_transpose3d weight (C, F, kd, kh, kw): the same axis permutation."""
    return torch.tensor(w.transpose(4, 3, 0, 1, 2).copy(), requires_grad=True)


def keras_kernel(t):
    return t.detach().numpy().transpose(2, 3, 4, 1, 0)


def tf_pads(shape, k, s, d, padding):
    """torch F.pad argument for TF 'same'/'valid' padding of the 3 spatial axes (last axis first)."""
    pads = [conv_out_len(n, kk, ss, dd, padding)[1] for n, kk, ss, dd in zip(shape, k, s, d)]
    return [v for p in reversed(pads) for v in p]


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------------- convolution
CONV_CASES = [  # N, (D, H, W), C, F, k, strides, dilation, padding
    (2, (5, 6, 7), 3, 4, (3, 2, 3), (1, 1, 1), (1, 1, 1), "valid"),
    (2, (5, 6, 7), 2, 3, (3, 3, 2), (2, 1, 2), (1, 1, 1), "same"),
    (1, (7, 7, 6), 2, 2, (3, 3, 2), (1, 1, 1), (2, 1, 2), "same"),
    (2, (6, 5, 5), 1, 3, (2, 2, 2), (2, 2, 2), (1, 1, 1), "valid"),
    (1, (8, 4, 5), 3, 2, (3, 1, 2), (3, 1, 2), (1, 1, 1), "same"),
]


@pytest.mark.parametrize("N,S,C,Fo,k,s,d,pad", CONV_CASES)
def test_conv3d_matches_torch(N, S, C, Fo, k, s, d, pad):
    x, w, b = rs.normal(size=(N,) + S + (C,)), rs.normal(size=k + (C, Fo)), rs.normal(size=Fo)
    X, W, B = (nerve.tensor(a, requires_grad=True) for a in (x, w, b))
    y = Conv3DFn.apply(X, W, B, strides=s, padding=pad, dilation=d)
    g = rs.normal(size=y.shape)
    y.backward(g)
    tx, tw, tb = ncdhw(x), torch_kernel(w), torch.tensor(b, requires_grad=True)
    ty = TF.conv3d(TF.pad(tx, tf_pads(S, k, s, d, pad)), tw, tb, stride=s, dilation=d)
    ty.backward(ncdhw(g, False))
    close(y.numpy(), ndhwc(ty))
    close(X.grad.numpy(), ndhwc(tx.grad))
    close(W.grad.numpy(), keras_kernel(tw.grad))
    close(B.grad.numpy(), tb.grad.numpy())
    # float32 in, float32 out, to float32 precision
    y32 = Conv3DFn.apply(x.astype("float32"), w.astype("float32"), b.astype("float32"), strides=s, padding=pad,
                         dilation=d)
    assert y32.dtype == np.float32
    close(y32.numpy(), ndhwc(ty), tol=1e-4)


def test_conv3d_fused_relu_equals_relu_after():
    x, w, b = rs.normal(size=(2, 4, 5, 3, 2)), rs.normal(size=(2, 3, 2, 2, 3)), rs.normal(size=3)
    X1, X2 = nerve.tensor(x, requires_grad=True), nerve.tensor(x, requires_grad=True)
    y1 = Conv3DFn.apply(X1, w, b, padding="same", activation="relu")
    y2 = nerve.ops.relu(Conv3DFn.apply(X2, w, b, padding="same"))
    close(y1.numpy(), y2.numpy(), 1e-14)
    g = rs.normal(size=y1.shape)
    y1.backward(g), y2.backward(g)
    close(X1.grad.numpy(), X2.grad.numpy(), 1e-14)


TRANSPOSE_CASES = [  # (D, H, W), C, F, k, strides, padding, output_padding, dilation
    ((3, 4, 3), 2, 3, (3, 3, 3), (1, 1, 1), "valid", None, (1, 1, 1)),
    ((3, 4, 3), 2, 3, (3, 2, 3), (2, 2, 1), "valid", None, (1, 1, 1)),
    ((3, 3, 4), 2, 2, (3, 3, 3), (2, 1, 2), "valid", (1, 0, 1), (1, 1, 1)),
    ((3, 4, 3), 3, 2, (4, 3, 4), (2, 2, 2), "same", None, (1, 1, 1)),
    ((2, 3, 3), 2, 2, (3, 2, 3), (2, 1, 3), "same", None, (1, 1, 1)),
    ((3, 3, 3), 2, 2, (2, 3, 2), (1, 1, 1), "valid", None, (2, 1, 2)),
]


def _torch_transpose_reference(x, w, b, s, pad, op, d, out_shape):
    """torch's transposed conv (output_padding as torch's), then for Keras 'same' the crop of the TF padding of
    the equivalent forward conv from the output size, as tests/autograd/test_conv_pool.py does in 2-D."""
    tx, tw = ncdhw(x), torch_kernel(w)
    full = TF.conv_transpose3d(tx, tw, torch.tensor(b), stride=s, dilation=d, output_padding=op or 0)
    k = w.shape[:3]
    before = [conv_out_len(o, kk, ss, dd, "same")[1][0] if pad == "same" else 0
              for o, kk, ss, dd in zip(out_shape, k, s, d)]
    ty = full[:, :, before[0]:before[0] + out_shape[0], before[1]:before[1] + out_shape[1],
              before[2]:before[2] + out_shape[2]]
    return tx, tw, ty


@pytest.mark.parametrize("S,C,Fo,k,s,pad,op,d", TRANSPOSE_CASES)
def test_conv3d_transpose_matches_torch(S, C, Fo, k, s, pad, op, d):
    x, w, b = rs.normal(size=(2,) + S + (C,)), rs.normal(size=k + (Fo, C)), rs.normal(size=Fo)
    X, W, B = (nerve.tensor(a, requires_grad=True) for a in (x, w, b))
    y = Conv3DTransposeFn.apply(X, W, B, strides=s, padding=pad, output_padding=op, dilation=d)
    ke = [(kk - 1) * dd + 1 for kk, dd in zip(k, d)]
    if op is None:  # Keras deconv_output_length
        expect = [n * ss + (max(kk - ss, 0) if pad == "valid" else 0) for n, kk, ss in zip(S, ke, s)]
    else:
        expect = [(n - 1) * ss + kk + q for n, kk, ss, q in zip(S, ke, s, op)]
    assert y.shape == (2,) + tuple(expect) + (Fo,)
    g = rs.normal(size=y.shape)
    y.backward(g)
    tx, tw, ty = _torch_transpose_reference(x, w, b, s, pad, op, d, y.shape[1:4])
    ty.backward(ncdhw(g, False))
    close(y.numpy(), ndhwc(ty))
    close(X.grad.numpy(), ndhwc(tx.grad))
    close(W.grad.numpy(), keras_kernel(tw.grad))
    close(B.grad.numpy(), g.sum(axis=(0, 1, 2, 3)))


def test_conv3d_transpose_same_stride2_equals_torch_padding():
    """Keras 'same' with k = 4, s = 2 is torch's padding 1: output 2n on each axis."""
    x, w = rs.normal(size=(1, 2, 3, 2, 2)), rs.normal(size=(4, 4, 4, 3, 2))
    y = Conv3DTransposeFn.apply(x, w, None, strides=(2, 2, 2), padding="same")
    ref = TF.conv_transpose3d(ncdhw(x, False), torch_kernel(w), stride=2, padding=1)
    assert y.shape == (1, 4, 6, 4, 3)
    close(y.numpy(), ndhwc(ref))


def test_conv_gradcheck_float64():
    nerve.gradcheck(lambda x, w, b: Conv3DFn.apply(x, w, b, strides=(2, 1, 1), padding="same", dilation=(1, 1, 1)),
                    [rs.normal(size=(2, 4, 3, 3, 2)), rs.normal(size=(2, 3, 2, 2, 3)), rs.normal(size=3)])
    nerve.gradcheck(lambda x, w, b: Conv3DFn.apply(x, w, b, padding="valid", dilation=(2, 1, 1), activation="relu"),
                    [rs.normal(size=(1, 5, 3, 3, 2)), rs.normal(size=(2, 2, 2, 2, 2)), rs.normal(size=2)])
    nerve.gradcheck(lambda x, w, b: Conv3DTransposeFn.apply(x, w, b, strides=(2, 1, 2), padding="same"),
                    [rs.normal(size=(1, 2, 3, 2, 2)), rs.normal(size=(3, 2, 3, 2, 2)), rs.normal(size=2)])
    nerve.gradcheck(lambda x, w: Conv3DTransposeFn.apply(x, w, None, strides=(2, 2, 1), output_padding=(1, 0, 0)),
                    [rs.normal(size=(1, 2, 2, 3, 1)), rs.normal(size=(2, 2, 2, 2, 1))])


def test_conv_shape_errors():
    with pytest.raises(ValueError, match=r"conv3d: expected x \(N, D, H, W, C\) .*matching C.*\(1, 4, 4, 4, 2\)"):
        Conv3DFn.apply(np.ones((1, 4, 4, 4, 2)), np.ones((3, 3, 3, 3, 4)))
    with pytest.raises(ValueError, match=r"conv3d: input spatial size \(2, 4, 4\) is smaller"):
        Conv3DFn.apply(np.ones((1, 2, 4, 4, 1)), np.ones((3, 3, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"conv3d: argument 'activation' expected 'linear' or 'relu', got 'tanh'"):
        Conv3DFn.apply(np.ones((1, 3, 3, 3, 1)), np.ones((1, 1, 1, 1, 1)), activation="tanh")
    with pytest.raises(ValueError, match=r"conv3d_transpose: expected .*kernel \(kd, kh, kw, F, C\)"):
        Conv3DTransposeFn.apply(np.ones((1, 3, 3, 3, 2)), np.ones((3, 3, 3, 2, 4)))
    with pytest.raises(ValueError, match=r"max_pool3d: expected input \(N, D, H, W, C\), got shape \(1, 4, 4, 2\)"):
        MaxPool3DFn.apply(np.ones((1, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"avg_pool3d: input spatial size \(4, 1, 4\) is smaller than the pool_size"):
        AvgPool3DFn.apply(np.ones((1, 4, 1, 4, 2)))


# ----------------------------------------------------------------------------------------- pooling
def _distinct(shape, seed=0):
    """Tie-free inputs (max pooling is not differentiable at ties)."""
    r = np.random.default_rng(seed)
    return r.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape) - 0.5


def _torch_pool(kind, tx, k, s, pad, spatial):
    """torch max/avg pooling with Keras padding: the TF pads added explicitly (-inf for max), and for 'same'
    averages divided by the number of real elements (count_include_pad=False in effect)."""
    p = tf_pads(spatial, k, s, (1, 1, 1), pad)
    if kind == "max":
        return TF.max_pool3d(TF.pad(tx, p, value=-np.inf), k, s)
    total = TF.avg_pool3d(TF.pad(tx, p), k, s) * np.prod(k)
    count = TF.avg_pool3d(TF.pad(torch.ones((1, 1) + tuple(spatial), dtype=tx.dtype), p), k, s) * np.prod(k)
    return total / count


POOL_CASES = [((6, 6, 6), (2, 2, 2), None, "valid"), ((7, 6, 5), (2, 3, 2), (2, 2, 1), "valid"),
              ((5, 7, 5), (3, 3, 3), (2, 2, 2), "same"), ((4, 6, 5), (2, 3, 2), (1, 2, 2), "same"),
              ((5, 5, 4), (3, 1, 2), (1, 1, 1), "valid")]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("S,k,s,pad", POOL_CASES)
def test_pool3d_matches_torch(kind, S, k, s, pad):
    Fn = MaxPool3DFn if kind == "max" else AvgPool3DFn
    x = _distinct((2,) + S + (3,))
    X = nerve.tensor(x, requires_grad=True)
    y = Fn.apply(X, k, s, pad)
    g = rs.normal(size=y.shape)
    y.backward(g)
    tx = ncdhw(x)
    ty = _torch_pool(kind, tx, k, s or k, pad, S)
    ty.backward(ncdhw(g, False))
    close(y.numpy(), ndhwc(ty), 1e-12)
    close(X.grad.numpy(), ndhwc(tx.grad), 1e-12)
    y32 = Fn.apply(x.astype("float32"), k, s, pad)
    assert y32.dtype == np.float32
    close(y32.numpy(), ndhwc(ty), 1e-6)


def test_pool3d_same_with_torch_padding_argument():
    """Where TF's 'same' padding is symmetric, torch's own padding gives it (count_include_pad=False)."""
    x = _distinct((2, 5, 7, 5, 2), 1)
    tx = ncdhw(x, False)
    close(AvgPool3DFn.apply(x, (3, 3, 3), (2, 2, 2), "same").numpy(),
          ndhwc(TF.avg_pool3d(tx, 3, 2, padding=1, count_include_pad=False)), 1e-12)
    close(MaxPool3DFn.apply(x, (3, 3, 3), (1, 1, 1), "same").numpy(), ndhwc(TF.max_pool3d(tx, 3, 1, padding=1)), 0)


@pytest.mark.parametrize("S,k,s,pad", POOL_CASES[1:4])
def test_pool3d_gradcheck_float64(S, k, s, pad):
    x = rs.normal(size=(1,) + S + (2,))
    nerve.gradcheck(lambda a: MaxPool3DFn.apply(a, k, s, pad), [x])
    nerve.gradcheck(lambda a: AvgPool3DFn.apply(a, k, s, pad), [x])


def test_max_pool3d_ties_route_gradient_once():
    X = nerve.tensor(np.zeros((1, 2, 2, 2, 1)), requires_grad=True)
    MaxPool3DFn.apply(X, (2, 2, 2)).sum().backward()
    assert X.grad.numpy().sum() == 1.0 and X.grad.numpy()[0, 0, 0, 0, 0] == 1.0  # the first maximum


# ----------------------------------------------------------------------------------------- keras.ops on 5-D inputs
def test_ops_conv_5d_matches_torch():
    x, w = rs.normal(size=(2, 5, 6, 4, 3)), rs.normal(size=(3, 2, 3, 3, 4))
    X = nerve.tensor(x, requires_grad=True)
    y = F.conv(X, w, strides=(2, 1, 1), padding="same")
    assert y.shape == (2, 3, 6, 4, 4)
    close(y.numpy(), ndhwc(TF.conv3d(TF.pad(ncdhw(x, False), tf_pads((5, 6, 4), (3, 2, 3), (2, 1, 1), (1, 1, 1),
                                                                          "same")), torch_kernel(w), stride=(2, 1, 1))))
    y = nerve.ops.conv(x, w, dilation_rate=(1, 2, 1))  # through the public namespace
    close(y.numpy(), ndhwc(TF.conv3d(ncdhw(x, False), torch_kernel(w), dilation=(1, 2, 1))))


def test_ops_grouped_conv_5d_matches_torch_groups():
    x, w = rs.normal(size=(1, 4, 4, 3, 4)), rs.normal(size=(2, 2, 2, 2, 6))  # C = 4, kernel in 2: 2 groups
    y = F.conv(x, w, padding="valid")
    close(y.numpy(), ndhwc(TF.conv3d(ncdhw(x, False), torch_kernel(w), groups=2)))


def test_ops_conv_transpose_and_pools_5d():
    x, w = rs.normal(size=(2, 2, 3, 2, 2)), rs.normal(size=(4, 4, 4, 3, 2))
    y = F.conv_transpose(x, w, 2, padding="same")
    close(y.numpy(), ndhwc(TF.conv_transpose3d(ncdhw(x, False), torch_kernel(w), stride=2, padding=1)))
    y = nerve.ops.conv_transpose(x, w[:3, :3, :3], (2, 2, 2), output_padding=1)
    assert y.shape == (2, 6, 8, 6, 3)
    xs = _distinct((2, 5, 6, 7, 2), 2)
    close(F.max_pool(xs, 2).numpy(), ndhwc(TF.max_pool3d(ncdhw(xs, False), 2)), 0)
    close(nerve.ops.average_pool(xs, (3, 2, 3), strides=(1, 2, 2)).numpy(),
          ndhwc(TF.avg_pool3d(ncdhw(xs, False), (3, 2, 3), (1, 2, 2))), 1e-12)
    assert F.average_pool(xs, 3, 2, padding="same").shape == (2, 3, 3, 4, 2)  # as keras.ops


@pytest.mark.parametrize("name", ["conv", "conv_grouped", "conv_transpose", "max_pool", "average_pool"])
def test_ops_5d_gradcheck(name):
    fn, args = {
        "conv": (lambda x, w: F.conv(x, w, strides=(1, 2, 1), padding="same"),
                 [rs.normal(size=(1, 3, 4, 3, 2)), rs.normal(size=(2, 2, 2, 2, 2))]),
        "conv_grouped": (lambda x, w: F.conv(x, w), [rs.normal(size=(1, 3, 3, 3, 2)), rs.normal(size=(2, 2, 2, 1, 2))]),
        "conv_transpose": (lambda x, w: F.conv_transpose(x, w, (2, 1, 1), padding="same"),
                           [rs.normal(size=(1, 2, 2, 3, 2)), rs.normal(size=(3, 2, 2, 2, 2))]),
        "max_pool": (lambda x: F.max_pool(x, 2, 1, padding="same"), [rs.normal(size=(1, 3, 3, 4, 2))]),
        "average_pool": (lambda x: F.average_pool(x, (2, 3, 2), 2, padding="same"), [rs.normal(size=(1, 3, 4, 3, 2))]),
    }[name]
    nerve.gradcheck(fn, args)


X5, W5 = np.ones((1, 4, 4, 4, 2)), np.ones((3, 3, 3, 2, 4))


@pytest.mark.parametrize("call,match", [
    (lambda: F.conv(np.ones((1, 2, 3, 3, 3, 2)), W5),
     r"conv: argument 'inputs' expected rank 3 .*, 4 .* or 5 \(batch, depth, rows, cols, channels\), "
     r"got shape \(1, 2, 3, 3, 3, 2\)"),
    (lambda: F.conv(X5, np.ones((3, 3, 2, 4))), r"conv: argument 'kernel' expected rank 5 .*got shape \(3, 3, 2, 4\)"),
    (lambda: F.conv(X5, W5, strides=(1, 2)), r"conv: argument 'strides' expected an int >= 1 or a tuple of 3"),
    (lambda: F.conv(X5, W5, padding="causal"), r"conv: argument 'padding' expected 'valid' or 'same'"),
    (lambda: F.conv(X5, W5, data_format="channels_first"), r"conv: argument 'data_format' expected 'channels_last'"),
    (lambda: F.conv(np.ones((1, 2, 4, 4, 2)), W5), r"conv: input spatial size \(2, 4, 4\) is smaller"),
    (lambda: F.conv_transpose(X5, np.ones((3, 3, 3, 4, 3)), 2),
     r"conv_transpose: argument 'kernel' expected in_channels .* 2"),
    (lambda: F.conv_transpose(X5, np.ones((3, 3, 3, 4, 2)), 2, output_padding=(1, 2, 0)),
     r"conv_transpose: argument 'output_padding' expected values smaller than strides \(2, 2, 2\), got \(1, 2, 0\)"),
    (lambda: F.max_pool(X5, (2, 2)), r"max_pool: argument 'pool_size' expected an int >= 1 or a tuple of 3"),
    (lambda: F.average_pool(X5, 5), r"average_pool: input spatial size \(4, 4, 4\) is smaller than the pool_size"),
])
def test_ops_5d_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------------- the device path
def test_kernels_on_the_device_as_on_the_cpu():
    """Every op on CuPy arrays (the strict stand-in without a GPU: bit-identical) equals the NumPy result."""
    r = np.random.default_rng(5)
    cases = [
        (lambda x, w, b: Conv3DFn.apply(x, w, b, strides=(2, 1, 1), padding="same", activation="relu"),
         [r.normal(size=(2, 5, 4, 4, 2)), r.normal(size=(3, 2, 3, 2, 3)), r.normal(size=3)]),
        (lambda x, w, b: Conv3DTransposeFn.apply(x, w, b, strides=(2, 2, 1), padding="same"),
         [r.normal(size=(2, 2, 3, 2, 2)), r.normal(size=(3, 3, 2, 3, 2)), r.normal(size=3)]),
        (lambda x: MaxPool3DFn.apply(x, (3, 3, 2), (2, 2, 2), "same"), [r.normal(size=(2, 5, 5, 4, 2))]),
        (lambda x: AvgPool3DFn.apply(x, (2, 3, 2), (1, 2, 2), "same"), [r.normal(size=(2, 4, 5, 4, 2))]),
    ]
    tol = 1e-5 if fakecupy.real_cupy() is not None else 0
    with fakecupy.gpu_module() as cp:
        for fn, args in cases:
            args = [a.astype("float32") for a in args]
            g = None
            outs = []
            for to in (np.asarray, cp.asarray):
                ts = [nerve.tensor(to(a), requires_grad=True) for a in args]
                y = fn(*ts)
                g = r.normal(size=y.shape).astype("float32") if g is None else g
                y.backward(to(g))
                outs.append([backend.to_numpy(a) for a in [y.data] + [t.grad.data for t in ts]])
            for want, got in zip(*outs):
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
