"""The rest of keras.ops.image: colour spaces against colorsys, filters against torch / NumPy loops, resampling
and scale_and_translate against golden values computed with Keras 3.15 (torch backend) and scipy.ndimage,
float64 gradchecks w.r.t. the images, clear errors, and the same numbers on device arrays (tests/fakecupy.py)."""
import colorsys
import os
import sys

import numpy as np
import pytest
import torch
from scipy import ndimage

import nerve
from nerve import ops

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

I = ops.image
R = np.random.default_rng(7)


# ------------------------------------------------------------------ colour spaces
def test_hsv_matches_colorsys_and_round_trips():
    x = R.random((2, 4, 5, 3))
    x[0, 0, 0] = [0.3, 0.3, 0.3]  # gray: H = S = 0
    x[0, 0, 1] = [0.0, 0.0, 0.0]  # black: V = 0
    x[0, 0, 2] = [0.9, 0.9, 0.2]  # a tie on the maximum (R = G)
    hsv = I.rgb_to_hsv(x).numpy()
    ref = np.array([colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3)]).reshape(x.shape)
    np.testing.assert_allclose(hsv, ref, atol=1e-12)
    np.testing.assert_allclose(I.hsv_to_rgb(hsv).numpy(), x, atol=1e-12)
    h = R.random((3, 3, 3)) * [4, 1, 1] - [2, 0, 0]  # hue outside [0, 1) wraps
    back = np.array([colorsys.hsv_to_rgb(a % 1, b, c) for a, b, c in h.reshape(-1, 3)]).reshape(h.shape)
    np.testing.assert_allclose(I.hsv_to_rgb(h).numpy(), back, atol=1e-12)
    assert I.rgb_to_hsv(x.astype("float32")).dtype == np.float32


# ------------------------------------------------------------------ filters
def _torch_depthwise(x, kernel, pad):
    c = x.shape[-1]
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    w = torch.from_numpy(np.ascontiguousarray(kernel))[None, None].repeat(c, 1, 1, 1)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(t, pad), w, groups=c).permute(0, 2, 3, 1).numpy()


def _g(size, sigma):
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-t ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def test_gaussian_blur_matches_torch_and_keras():
    x = R.random((2, 7, 8, 3))
    for ks, sig in (((3, 3), (1.0, 1.0)), ((5, 3), (0.7, 1.5)), ((4, 2), (1.0, 2.0))):
        kernel = np.outer(_g(ks[1], sig[1]), _g(ks[0], sig[0]))  # rows: the second entries, as Keras
        kh, kw = kernel.shape
        pad = ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)
        np.testing.assert_allclose(I.gaussian_blur(x, ks, sig).numpy(), _torch_depthwise(x, kernel, pad), atol=1e-12)
    # golden: keras.ops.image.gaussian_blur(x, (3, 3), (1.0, 2.0), data_format="channels_last"), Keras 3.15 (torch)
    x = (np.arange(25, dtype="float32").reshape(1, 5, 5, 1) % 7) / 7
    want = [[0.1921521, 0.2377649, 0.1908066, 0.2005945, 0.1895668],
            [0.3259812, 0.4388542, 0.4182887, 0.3745511, 0.2557302],
            [0.3502662, 0.4839547, 0.4825918, 0.4388542, 0.2916622],
            [0.2870772, 0.3731882, 0.4285715, 0.4839547, 0.3351497],
            [0.185672, 0.1903117, 0.1884526, 0.2857143, 0.2513579]]
    y = I.gaussian_blur(x[0], (3, 3), (1.0, 2.0))
    assert y.shape == (5, 5, 1) and y.dtype == np.float32
    np.testing.assert_allclose(y.numpy()[..., 0], want, atol=2e-7)


def test_sobel_edges_match_torch():
    x = R.random((2, 5, 6, 3))
    y = I.sobel_edges(x).numpy()
    assert y.shape == (2, 5, 6, 3, 2)
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float)
    np.testing.assert_allclose(y[..., 0], _torch_depthwise(x, ky, (1, 1, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(y[..., 1], _torch_depthwise(x, ky.T, (1, 1, 1, 1)), atol=1e-12)


def _np_ssim(a, b, size, sigma, max_val=1.0, k1=0.01, k2=0.03):
    """SSIM with scipy.ndimage.correlate ('valid' part of a Gaussian window), per channel, averaged."""
    w = np.outer(_g(size, sigma), _g(size, sigma))
    h = size // 2
    out = []
    for n in range(a.shape[0]):
        vals = []
        for c in range(a.shape[-1]):
            f = (lambda t: ndimage.correlate(t, w, mode="constant")[h:t.shape[0] - h, h:t.shape[1] - h])
            p, q = a[n, ..., c], b[n, ..., c]
            m1, m2 = f(p), f(q)
            s1, s2, s12 = f(p * p) - m1 ** 2, f(q * q) - m2 ** 2, f(p * q) - m1 * m2
            c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
            vals.append(np.mean((2 * m1 * m2 + c1) * (2 * s12 + c2) / ((m1 ** 2 + m2 ** 2 + c1) * (s1 + s2 + c2))))
        out.append(np.mean(vals))
    return np.array(out)


def test_ssim_values():
    a = R.random((2, 9, 10, 3))
    b = np.clip(a + 0.2 * R.standard_normal(a.shape), 0, 1)
    np.testing.assert_allclose(I.ssim(a, b, filter_size=5, filter_sigma=1.2).numpy(), _np_ssim(a, b, 5, 1.2),
                               atol=1e-12)
    np.testing.assert_allclose(I.ssim(a, a, filter_size=7).numpy(), [1.0, 1.0], atol=1e-12)
    one = I.ssim(a[0] * 255, b[0] * 255, max_val=255.0, filter_size=3)
    assert one.shape == () and float(one) == pytest.approx(_np_ssim(a[:1] * 255, b[:1] * 255, 3, 1.5, 255.0)[0])
    # golden: keras.ops.image.ssim(a, b, filter_size=5, filter_sigma=1.2), Keras 3.15 (torch backend)
    a = (np.arange(256, dtype="float32").reshape(2, 8, 8, 2) % 11) / 11
    b = (np.arange(256, dtype="float32").reshape(2, 8, 8, 2) % 13) / 13
    np.testing.assert_allclose(I.ssim(a, b, filter_size=5, filter_sigma=1.2).numpy(), [-0.1228047, -0.1036207],
                               atol=1e-6)


# ------------------------------------------------------------------ patches
def _np_patches(x, k, s, d, padding):
    """Every patch by slicing (flattened in (rows, cols, ..., channels) order), after TF-style 'same' padding."""
    sp = x.shape[1:-1]
    if padding == "same":
        out = [-(-n // ss) for n, ss in zip(sp, s)]
        tot = [max((o - 1) * ss + (kk - 1) * dd + 1 - n, 0) for o, ss, kk, dd, n in zip(out, s, k, d, sp)]
        x = np.pad(x, [(0, 0)] + [(t // 2, t - t // 2) for t in tot] + [(0, 0)])
    else:
        out = [(n - (kk - 1) * dd - 1) // ss + 1 for n, kk, dd, ss in zip(sp, k, d, s)]
    y = np.zeros((x.shape[0], *out, int(np.prod(k)) * x.shape[-1]))
    for o in np.ndindex(*out):
        sl = tuple(slice(oi * ss, oi * ss + (kk - 1) * dd + 1, dd) for oi, ss, kk, dd in zip(o, s, k, d))
        y[(slice(None),) + o] = x[(slice(None),) + sl].reshape(x.shape[0], -1)
    return y


@pytest.mark.parametrize("kw", [dict(size=(3, 3)), dict(size=2), dict(size=(2, 3), strides=(1, 2)),
                                dict(size=3, strides=1, padding="same"), dict(size=(2, 2), padding="same"),
                                dict(size=(2, 3), strides=(2, 1), dilation_rate=(2, 1), padding="same")])
def test_extract_patches_match_slicing(kw):
    x = R.random((2, 7, 9, 3))
    k = (kw["size"],) * 2 if isinstance(kw["size"], int) else kw["size"]
    s = kw.get("strides", k)
    s = (s,) * 2 if isinstance(s, int) else s
    d = kw.get("dilation_rate", 1)
    d = (d,) * 2 if isinstance(d, int) else d
    want = _np_patches(x, k, s, d, kw.get("padding", "valid"))
    np.testing.assert_array_equal(I.extract_patches(x, **kw).numpy(), want)
    assert I.extract_patches(x[0], **kw).shape == I.extract_patches(x, **kw).shape[1:]


def test_extract_patches_3d_match_slicing():
    v = R.random((2, 5, 6, 7, 2))
    for kw, (k, s) in ((dict(size=(2, 2, 2)), ((2, 2, 2), (2, 2, 2))), (dict(size=(2, 3, 2), strides=1),
                                                                         ((2, 3, 2), (1, 1, 1)))):
        want = _np_patches(v, k, s, (1, 1, 1), "valid")
        np.testing.assert_array_equal(I.extract_patches_3d(v, **kw).numpy(), want)
        np.testing.assert_array_equal(I.extract_patches(v, k, s).numpy(), want)  # a 3-tuple size: 3-D patches
    assert I.extract_patches_3d(v[0], 3, strides=2, padding="same").shape == (3, 3, 4, 54)


# ------------------------------------------------------------------ resampling
# golden: keras.ops.image.map_coordinates(arange(12).reshape(3, 4), CO, order, mode, fill_value=-1.0),
# Keras 3.15 (torch backend)
CO = np.array([[-1.2, 0.4, 2.5, 3.7, 1.0], [-0.5, 3.6, 1.25, -2.2, 4.4]], "float32")
MAP_GOLDEN = {
    (0, "constant"): [-1.0, -1.0, 9.0, -1.0, -1.0], (0, "nearest"): [0.0, 3.0, 9.0, 8.0, 7.0],
    (0, "wrap"): [8.0, 0.0, 9.0, 6.0, 4.0], (0, "mirror"): [4.0, 2.0, 9.0, 2.0, 6.0],
    (0, "reflect"): [0.0, 3.0, 9.0, 5.0, 7.0],
    (1, "constant"): [-1.0, 1.2400005, 4.125, -1.0, -1.0], (1, "nearest"): [0.0, 4.6000004, 9.25, 8.0, 7.0],
    (1, "wrap"): [8.6999998, 2.8000002, 5.25, 4.6000004, 4.4000001],
    (1, "mirror"): [5.3000002, 4.0, 7.25, 3.4000001, 5.5999999],
    (1, "reflect"): [0.8000002, 4.6000004, 9.25, 6.3999996, 6.5999999],
}


@pytest.mark.parametrize("order, mode", sorted(MAP_GOLDEN))
def test_map_coordinates_golden(order, mode):
    img = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(I.map_coordinates(img, CO, order, mode, -1.0).numpy(), MAP_GOLDEN[order, mode],
                               atol=1e-5)


def test_map_coordinates_inside_matches_scipy_and_rounds_integers():
    x = R.random((5, 6, 4))
    co = R.uniform(0, 1, (3, 4, 7)) * np.array([4, 5, 3])[:, None, None]
    for order in (0, 1):
        ref = ndimage.map_coordinates(x, co, order=order)  # inside the array SciPy and Keras agree
        np.testing.assert_allclose(I.map_coordinates(x, co, order).numpy(), ref, atol=1e-12)
    y = I.map_coordinates(np.arange(12).reshape(3, 4), [[0.5, 1.0], [0.5, 2.5]], 1)
    assert y.dtype == np.int64 and y.numpy().tolist() == [2, 6]  # 2.5 -> 2, 6.5 -> 6 (round half to even)


def test_affine_transform_geometry_and_golden():
    x = R.random((2, 5, 6, 3))
    shift = [1, 0, 2, 0, 1, -1, 0, 0]  # output (x, y) reads input (x + 2, y - 1)
    y = I.affine_transform(x, shift, fill_value=-1).numpy()
    ref = np.full_like(x, -1)
    ref[:, 1:, :4] = x[:, :4, 2:]
    np.testing.assert_allclose(y, ref, atol=1e-12)
    rot = [0, -1, 4, 1, 0, 0, 0, 0]  # output (x, y) reads input (4 - y, x): rot90 of a 5x5 image
    sq = R.random((1, 5, 5, 2))
    np.testing.assert_allclose(I.affine_transform(sq, rot, "nearest").numpy()[0], np.rot90(sq[0], 1), atol=1e-12)
    np.testing.assert_allclose(I.affine_transform(x, [1, 0, 0, 0, 1, 0, 0, 0], fill_mode="wrap").numpy(), x)
    # golden: keras.ops.image.affine_transform(arange(20).reshape(4, 5, 1), T, "bilinear", "constant", 0.5),
    # Keras 3.15 (torch backend)
    xi = np.arange(20, dtype="float32").reshape(4, 5, 1)
    want = [[0.62, 1.34, 2.5999999, 5.0, 4.3999991], [3.0999999, 5.5, 7.9000001, 10.2999992, 10.1000023],
            [8.4000006, 10.8000002, 13.2000017, 15.6000004, 18.0], [13.7000017, 16.1000004, 12.0499973, 7.4599934,
                                                                    2.3299983]]
    T = np.array([0.9, -0.2, 0.8, 0.3, 1.1, -0.6, 0, 0], "float32")
    np.testing.assert_allclose(I.affine_transform(xi, T, fill_value=0.5).numpy()[..., 0], want, atol=1e-5)
    np.testing.assert_allclose(I.affine_transform(np.stack([xi, xi]), T[None], fill_value=0.5).numpy()[1, ..., 0],
                               want, atol=1e-5)  # one transform for the whole batch


def test_perspective_transform_identity_and_golden():
    xi = np.arange(20, dtype="float32").reshape(4, 5, 1)
    sp = np.array([[0, 0], [0, 3], [4, 0], [4, 3]], "float32")
    np.testing.assert_allclose(I.perspective_transform(xi, sp, sp).numpy(), xi, atol=1e-5)
    shifted = I.perspective_transform(xi, sp, sp + [1, 0], "nearest").numpy()  # content moves one column right
    np.testing.assert_allclose(shifted[:, 1:], xi[:, :-1], atol=1e-5)
    assert np.all(shifted[:, 0] == 0)
    # golden: keras.ops.image.perspective_transform(xi, sp, ep), Keras 3.15 (torch backend)
    ep = np.array([[0.5, 0.2], [0.1, 3.2], [3.6, -0.3], [4.2, 2.9]], "float32")
    want = [[0.0, 0.5724066, 2.2883208, 4.4831958, 3.8150117], [2.1021049, 6.0693703, 7.9972534, 9.7748442, 9.4984131],
            [6.6493273, 11.1653538, 12.7410574, 14.2039356, 15.5656891],
            [12.1513691, 15.4388142, 16.7453976, 17.7661152, 17.704052]]
    np.testing.assert_allclose(I.perspective_transform(xi, sp, ep).numpy()[..., 0], want, atol=2e-5)


def test_elastic_transform():
    x = R.random((2, 8, 9, 3))
    np.testing.assert_allclose(I.elastic_transform(x, alpha=0.0, seed=1).numpy(), x, atol=1e-12)
    a = I.elastic_transform(x, alpha=3.0, sigma=1.0, seed=4).numpy()
    np.testing.assert_array_equal(a, I.elastic_transform(x, alpha=3.0, sigma=1.0, seed=4).numpy())
    assert a.shape == x.shape and not np.allclose(a, x)
    assert a.min() >= x.min() - 1e-12 and a.max() <= x.max() + 1e-12  # bilinear + reflect: a convex mixture
    gen = nerve.random.SeedGenerator(3)
    b, c = (I.elastic_transform(x, 3.0, 1.0, seed=gen).numpy() for _ in range(2))
    assert not np.allclose(b, c)  # a SeedGenerator advances
    small = I.elastic_transform(x, alpha=0.05, sigma=1.0, seed=2).numpy()
    assert np.abs(small - x).max() < 0.1  # small displacements, small changes


def test_scale_and_translate_doc_and_golden():
    im = np.arange(9, dtype="float32").reshape(3, 3)
    sc = np.array([2.0, 2.0], "float32")
    want = [[0.0, 0.5, 1.0, 1.5, 2.0], [1.5, 2.0, 2.5, 3.0, 3.5], [3.0, 3.5, 4.0, 4.5, 5.0],
            [4.5, 5.0, 5.5, 6.0, 6.5], [6.0, 6.5, 7.0, 7.5, 8.0]]  # the Keras docstring's example
    np.testing.assert_allclose(I.scale_and_translate(im, (5, 5), sc, -(sc / 2 - 0.5), (0, 1), "linear").numpy(), want)
    # golden: keras.ops.image.scale_and_translate(arange(12).reshape(3, 4), ...), Keras 3.15 (torch backend)
    im = np.arange(12, dtype="float32").reshape(3, 4)
    y = I.scale_and_translate(im, (2, 6), [0.7, 1.6], [0.2, -0.5], (0, 1), "cubic")
    np.testing.assert_allclose(y.numpy(), [[0.3875268, 1.023825, 1.6889014, 2.3139014, 3.0327368, 3.4021366],
                                           [5.6465206, 6.2828188, 6.9478951, 7.5728951, 8.2917299, 8.66113]],
                               atol=1e-5)
    y = I.scale_and_translate(im, (2, 3), [0.6, 0.8], [0.0, 0.3], (0, 1), "lanczos3")
    np.testing.assert_allclose(y.numpy(), [[1.7080485, 2.5946, 4.194922], [7.2438216, 8.130373, 9.7306948]], atol=1e-5)
    x = R.random((2, 4, 5, 3))
    np.testing.assert_allclose(I.scale_and_translate(x, x.shape, [1, 1], [0, 0], (1, 2), "lanczos5").numpy(), x,
                               atol=1e-6)  # float32 sample positions, as Keras
    u = (R.random((5, 6, 1)) * 255).astype("uint8")
    v = I.scale_and_translate(u, (7, 4, 1), [1.4, 0.7], [0, 0], (0, 1), "bicubic")
    assert v.dtype == np.uint8 and v.numpy().min() >= u.min() and v.numpy().max() <= u.max()


# ------------------------------------------------------------------ gradients
T2 = np.array([[1.1, 0.2, -0.7, -0.15, 0.9, 0.6, 0, 0], [0.8, -0.3, 1.3, 0.25, 1.05, -0.4, 0, 0]])
SP = np.array([[0, 0], [0, 5], [6, 0], [6, 5]], float)
GRADS = [
    ("rgb_to_hsv", lambda a: I.rgb_to_hsv(a)),
    ("hsv_to_rgb", lambda a: I.hsv_to_rgb(a)),
    ("gaussian_blur", lambda a: I.gaussian_blur(a, (3, 5), (0.8, 1.3))),
    ("sobel_edges", lambda a: I.sobel_edges(a)),
    ("extract_patches", lambda a: I.extract_patches(a, (2, 3), strides=1, dilation_rate=(1, 2), padding="same")),
    ("extract_patches_reshape", lambda a: I.extract_patches(a, 2)),
    ("map_coordinates", lambda a: I.map_coordinates(a[0, :, :, 0], CO * 2, 1, "constant", 0.3)),
    ("map_coordinates_3d", lambda a: I.map_coordinates(a[0], np.r_[CO * 2, [[0.3, 1.2, 2.0, 1.7, 0.1]]], 1, "wrap")),
    ("affine_bilinear", lambda a: I.affine_transform(a, T2, fill_value=0.5)),
    ("affine_nearest", lambda a: I.affine_transform(a, T2, "nearest", "reflect")),
    ("perspective", lambda a: I.perspective_transform(a, SP, SP + [[0.5, 0.2], [0.1, -0.3], [-0.6, 0.4], [0.2, 0.1]])),
    ("elastic", lambda a: I.elastic_transform(a, 2.0, 1.0, seed=1)),
    ("scale_and_translate", lambda a: I.scale_and_translate(a, (2, 4, 11, 3), [0.6, 1.5], [0.3, -1.0], (1, 2),
                                                            "cubic")),
]


@pytest.mark.parametrize("name, fn", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn):
    assert nerve.gradcheck(fn, [R.random((2, 6, 7, 3))]).ok


def test_gradcheck_ssim_both_images_and_3d_patches():
    a = R.random((2, 6, 7, 3))
    assert nerve.gradcheck(lambda p, q: I.ssim(p, q, filter_size=3), [a, np.clip(a + 0.1, 0, 1)]).ok
    assert nerve.gradcheck(lambda v: I.extract_patches_3d(v, (2, 2, 2), strides=1), [R.random((2, 3, 4, 5, 2))]).ok


# ------------------------------------------------------------------ errors
def test_errors_name_the_function_and_argument():
    img = np.ones((4, 5, 3))
    with pytest.raises(ValueError, match=r"rgb_to_hsv: argument 'images' expected a float dtype, got int64"):
        I.rgb_to_hsv(np.ones((2, 2, 3), "int64"))
    with pytest.raises(ValueError, match=r"hsv_to_rgb: argument 'images' expected 3 channels"):
        I.hsv_to_rgb(np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match=r"gaussian_blur: argument 'sigma' expected one or two positive numbers"):
        I.gaussian_blur(img, sigma=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"gaussian_blur: argument 'data_format' expected 'channels_last'"):
        I.gaussian_blur(img, data_format="channels_first")
    with pytest.raises(ValueError, match=r"sobel_edges: argument 'images' expected rank 4 .*got shape \(4, 5, 3\)"):
        I.sobel_edges(img)
    with pytest.raises(TypeError, match=r"extract_patches: argument 'size' expected an int or a tuple"):
        I.extract_patches(img, "3")
    with pytest.raises(ValueError, match=r"extract_patches: patches of size \(5, 5\) .* do not fit"):
        I.extract_patches(img, 5)
    with pytest.raises(ValueError, match=r"extract_patches: argument 'padding' expected 'valid' or 'same'"):
        I.extract_patches(img, 2, padding="full")
    with pytest.raises(ValueError, match=r"map_coordinates: argument 'coordinates' expected a leading dimension "
                                         r"equal to the rank of 'inputs' \(2\), got 3"):
        I.map_coordinates(np.ones((3, 4)), np.zeros((3, 5)), 1)
    with pytest.raises(ValueError, match=r"map_coordinates: argument 'order' expected 0 \(nearest\) or 1"):
        I.map_coordinates(np.ones((3, 4)), np.zeros((2, 5)), 3)
    with pytest.raises(ValueError, match=r"affine_transform: argument 'fill_mode' expected one of"):
        I.affine_transform(img, np.ones(8), fill_mode="edge")
    with pytest.raises(ValueError, match=r"affine_transform: argument 'transform' expected shape \(8,\) or "
                                         r"\(batch, 8\), got \(6,\)"):
        I.affine_transform(img, np.ones(6))
    with pytest.raises(ValueError, match=r"affine_transform: 3 transforms for a batch of 2 images"):
        I.affine_transform(np.ones((2, 4, 5, 3)), np.ones((3, 8)))
    with pytest.raises(ValueError, match=r"perspective_transform: argument 'end_points' expected shape \(4, 2\)"):
        I.perspective_transform(img, np.zeros((4, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"elastic_transform: argument 'interpolation' expected one of"):
        I.elastic_transform(img, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"scale_and_translate: argument 'method' expected one of"):
        I.scale_and_translate(img, (4, 5, 3), [1, 1], [0, 0], (0, 1), "area")
    with pytest.raises(ValueError, match=r"ssim: arguments 'image1' and 'image2' expected the same shape"):
        I.ssim(img, np.ones((4, 6, 3)))
    with pytest.raises(ValueError, match=r"ssim: argument 'filter_size' \(11\) is larger than the images \(4x5\)"):
        I.ssim(img, img)


# ------------------------------------------------------------------ device arrays
@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


DEVICE = GRADS + [
    ("ssim", lambda a: I.ssim(a, a * 0.9 + 0.05, filter_size=3)),
    ("device_coordinates", lambda a: I.map_coordinates(a[0, :, :, 0], nerve.tensor(a.data[0, :2, :5, 0] * 4), 1)),
    ("nearest_wrap", lambda a: I.map_coordinates(a[0, :, :, 1], CO * 3, 0, "wrap")),
]


@pytest.mark.parametrize("name, fn", DEVICE, ids=[g[0] for g in DEVICE])
def test_ops_on_device_arrays_equal_the_cpu(cp, name, fn):
    """Values and input gradients on device arrays equal the CPU's (plans and kernels moved over, no implicit
    conversion)."""
    x = R.random((2, 6, 7, 3))
    res = []
    for to in (np.asarray, cp.asarray):
        t = nerve.tensor(to(x), requires_grad=True)
        y = fn(t)
        (y * y).sum().backward()
        assert type(y.data) is type(to(x))
        res.append([ops.convert_to_numpy(y), ops.convert_to_numpy(t.grad)])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
