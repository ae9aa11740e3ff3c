"""keras.ops's Fourier transforms (autograd/ops/fft.py): values against numpy.fft, scipy.signal and torch.stft /
torch.istft in float32 and float64, golden values computed with Keras 3.15.1, round trips, float64 gradcheck
with random cotangents for every transform, clear errors, and the same values and gradients on the strict
CuPy stand-in (tests/fakecupy.py) as on the CPU."""
import os
import sys
import warnings

import numpy as np
import pytest
import scipy.signal
import torch

import nerve
from nerve.autograd.ops import fft as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)


def rnd(*shape):
    return R.standard_normal(shape)


def val(t):
    return nerve.ops.convert_to_numpy(t) if not isinstance(t, (list, tuple)) else [val(v) for v in t]


def cval(pair):
    re, im = val(pair)
    return re + 1j * im


TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


# ---------------------------------------------------------------- values against numpy.fft
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_complex_transforms_match_numpy(dtype):
    x, y = rnd(2, 3, 8).astype(dtype), rnd(2, 3, 8).astype(dtype)
    z = x.astype(np.float64) + 1j * y
    for f, ref in ((F.fft, np.fft.fft), (F.fft2, np.fft.fft2), (F.ifft2, np.fft.ifft2)):
        re, im = f((x, y))
        assert re.dtype == dtype and im.dtype == dtype and re.shape == x.shape
        np.testing.assert_allclose(cval((re, im)), ref(z), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [None, 5, 8, 11])
def test_real_transforms_match_numpy(dtype, n):
    x, y = rnd(3, 8).astype(dtype), rnd(3, 5).astype(dtype)
    re, im = F.rfft(x, n)
    assert re.dtype == dtype and re.shape == (3, (n or 8) // 2 + 1)
    np.testing.assert_allclose(cval((re, im)), np.fft.rfft(x.astype(np.float64), n), **TOL[dtype])
    out = F.irfft((x[:, :5], y), n)  # the imaginary parts of the DC (and even-n Nyquist) bins drop, as in NumPy
    assert out.dtype == dtype and out.shape == (3, n or 8)
    np.testing.assert_allclose(val(out), np.fft.irfft(x[:, :5].astype(np.float64) + 1j * y, n), **TOL[dtype])


# ---------------------------------------------------------------- stft / istft against torch and scipy
def torch_window(name, length):
    if name is None:
        return None
    return {"hann": torch.hann_window, "hamming": torch.hamming_window}[name](length, periodic=True,
                                                                               dtype=torch.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args, window, center", [
    ((16, 4, 16), "hann", True), ((16, 4, 16), "hamming", False), ((10, 3, 16), "hann", True),
    ((7, 2, 10), "hamming", True), ((8, 8, 8), "hann", False),
])
def test_stft_matches_torch(dtype, args, window, center):
    sl, ss, fl = args
    x = rnd(3, 50).astype(dtype)
    re, im = F.stft(x, sl, ss, fl, window=window, center=center)
    ref = torch.stft(torch.tensor(x, dtype=torch.float64), fl, ss, sl, window=torch_window(window, sl),
                     center=center, pad_mode="reflect", return_complex=True).transpose(-2, -1).numpy()
    assert re.dtype == dtype and re.shape == ref.shape
    np.testing.assert_allclose(cval((re, im)), ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window, length", [("hann", None), ("hamming", None), ("hann", 45), ("hann", 60)])
def test_istft_matches_torch(dtype, window, length):
    """Keras hands this case (sequence_length == fft_length, center) to torch.istft on its torch backend."""
    spec = (rnd(2, 13, 9) + 1j * rnd(2, 13, 9))
    out = F.istft((spec.real.astype(dtype), spec.imag.astype(dtype)), 16, 4, 16, length=length, window=window)
    with warnings.catch_warnings():  # torch warns when it pads to length
        warnings.simplefilter("ignore")
        ref = torch.istft(torch.tensor(spec).transpose(-2, -1), 16, 4, 16, window=torch_window(window, 16),
                          center=True, length=length).numpy()
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(val(out), ref, **TOL[dtype])


def scipy_stft(x, sl, ss, fl, window, center):
    """Keras's NumPy backend: scipy.signal.stft (spectrum scaling undone) on the padded window."""
    if center:
        x = np.pad(x, [(0, 0), (fl // 2, fl // 2)], mode="reflect")
    left = (fl - sl) // 2
    win = np.pad(scipy.signal.get_window(window, sl), (left, fl - sl - left)) if window else np.ones(fl)
    z = scipy.signal.stft(x, window=win, nperseg=fl, noverlap=fl - ss, nfft=fl, boundary=None, padded=False)[-1]
    return np.swapaxes(z * win.sum(), -2, -1), win


@pytest.mark.parametrize("args, window, center", [
    ((8, 2, 8), "hann", False), ((6, 3, 8), "hamming", True), ((7, 4, 10), None, True), ((5, 2, 5), None, False),
    ((6, 2, 9), "hann", False),
])
def test_stft_and_istft_match_scipy(args, window, center):
    """Every window (None too) and sequence_length < fft_length, center or not: scipy.signal.stft / istft as
    Keras's NumPy and JAX backends call them (istft divides by the exact window envelope)."""
    sl, ss, fl = args
    x = rnd(2, 40)
    spec, win = scipy_stft(x, sl, ss, fl, window, center)
    np.testing.assert_allclose(cval(F.stft(x, sl, ss, fl, window=window, center=center)), spec, atol=1e-12)
    with warnings.catch_warnings():  # scipy warns of the NOLA condition where w(0) = 0 and center is False
        warnings.simplefilter("ignore")
        ref = scipy.signal.istft(spec / win.sum(), window=win, nperseg=fl, noverlap=fl - ss, nfft=fl,
                                 boundary=False, time_axis=-2, freq_axis=-1)[-1]
    ref = ref if window else ref * fl / ss  # Keras: x / sequence_stride after scipy's x * win.sum() for None
    if center:
        ref = ref[..., fl // 2:-(fl // 2)]
    out = F.istft((spec.real, spec.imag), sl, ss, fl, window=window, center=center)
    np.testing.assert_allclose(val(out), ref, atol=1e-12)


def test_golden_values_from_keras():
    """Computed with Keras 3.15.1 (KERAS_BACKEND=torch): keras.ops.stft's docstring example, a hamming stft with
    sequence_length < fft_length, an istft of it with another window, and irfft with an odd fft_length."""
    re, im = F.stft(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 3, 2, 3)
    np.testing.assert_allclose(val(re), [[0.75, -0.375], [3.75, -1.875], [5.25, -2.625]], atol=1e-12)
    np.testing.assert_allclose(val(im), [[0.0, 0.6495190528383291], [0.0, 0.6495190528383299],
                                         [0.0, -0.6495190528383278]], atol=1e-12)
    s = np.sin(np.arange(12) * 0.7) + 0.1 * np.arange(12)
    re, im = F.stft(s, 6, 2, 8, window="hamming")
    np.testing.assert_allclose(val(re)[:2], [[1.974130820271, -0.744610656432, -0.734978832593, 0.744610656432,
                                              -0.504173155085],
                                             [2.941552303008, -2.181891465527, 0.9576034034400, -0.1890079944500,
                                              -0.1149601899350]], atol=1e-11)
    np.testing.assert_allclose(val(im)[:2], [[0.0, -0.065801058488, -0.093056749332, -0.065801058488, 0.0],
                                             [0.0, 0.413876347167, -0.382161008126, -0.04181630593, 0.0]], atol=1e-11)
    np.testing.assert_allclose(val(F.istft((re, im), 8, 2, 8)),
                               [0.0, 0.667525796139, 1.03529276419, 1.028422830458, 0.641889651136, 0.13192632361,
                                -0.237176174575, -0.249723500922, 0.147360469592, 0.810578364973, 1.447101629548,
                                1.856435590856], atol=1e-11)
    np.testing.assert_allclose(val(F.irfft((np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, -1.0])), 5)),
                               [2.2, -0.6689153033510511, -0.6919299096850717, 0.5391435051850297,
                                -0.37829829214890687], atol=1e-12)
    re, im = F.fft((np.array([1.0, 2.0]), np.array([0.0, 1.0])))  # keras.ops.fft's docstring example
    assert val(re).tolist() == [3.0, -1.0] and val(im).tolist() == [1.0, -1.0]


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trips(dtype):
    x, y = rnd(2, 6, 5).astype(dtype), rnd(2, 6, 5).astype(dtype)
    back = F.ifft2(F.fft2((x, y)))
    np.testing.assert_allclose(val(back[0]), x, **TOL[dtype])
    np.testing.assert_allclose(val(back[1]), y, **TOL[dtype])
    np.testing.assert_allclose(val(F.irfft(F.rfft(x, 5), 5)), x, **TOL[dtype])
    np.testing.assert_allclose(val(F.irfft(F.rfft(x[..., :4]))), x[..., :4], **TOL[dtype])
    s = rnd(2, 3, 64).astype(dtype)
    for args, window in (((16, 4, 16), "hann"), ((12, 3, 16), "hamming"), ((10, 5, 10), "hamming"),
                         ((8, 2, 8), np.hanning(10)[1:-1])):
        spec = F.stft(s, *args, window=window)
        np.testing.assert_allclose(val(F.istft(spec, *args, length=64, window=window)), s, **TOL[dtype])
    out = F.istft(F.stft(s, 8, 2, 8, window=None), 8, 2, 8, window=None)  # Keras: scaled by fft_length / stride
    np.testing.assert_allclose(val(out), 4 * s, **TOL[dtype])


# ---------------------------------------------------------------- float64 gradcheck
def _cplx(f, **kw):
    return lambda re, im: f((re, im), **kw)


GRADS = [
    ("fft", _cplx(F.fft), [rnd(3, 6), rnd(3, 6)]),
    ("fft2", _cplx(F.fft2), [rnd(2, 3, 4), rnd(2, 3, 4)]),
    ("ifft2", _cplx(F.ifft2), [rnd(4, 5), rnd(4, 5)]),
    ("rfft", F.rfft, [rnd(3, 8)]), ("rfft_odd", F.rfft, [rnd(2, 7)]),
    ("rfft_crop", lambda x: F.rfft(x, 5), [rnd(2, 8)]), ("rfft_pad", lambda x: F.rfft(x, 10), [rnd(2, 7)]),
    ("irfft", _cplx(F.irfft), [rnd(3, 5), rnd(3, 5)]),
    ("irfft_odd", _cplx(F.irfft, fft_length=7), [rnd(2, 4), rnd(2, 4)]),
    ("irfft_crop", _cplx(F.irfft, fft_length=4), [rnd(2, 5), rnd(2, 5)]),
    ("irfft_pad", _cplx(F.irfft, fft_length=12), [rnd(2, 4), rnd(2, 4)]),
    ("stft", lambda x: F.stft(x, 8, 2, 8), [rnd(2, 20)]),
    ("stft_hamming_short", lambda x: F.stft(x, 5, 3, 8, window="hamming", center=False), [rnd(19)]),
    ("stft_none", lambda x: F.stft(x, 6, 2, 7, window=None), [rnd(2, 1, 15)]),
    ("stft_array", lambda x: F.stft(x, 4, 2, 6, window=np.array([0.2, 1.0, 0.7, 0.4])), [rnd(16)]),
    ("istft", _cplx(F.istft, sequence_length=8, sequence_stride=2, fft_length=8), [rnd(2, 7, 5), rnd(2, 7, 5)]),
    ("istft_length", _cplx(F.istft, sequence_length=6, sequence_stride=3, fft_length=8, length=20, window="hamming"),
     [rnd(6, 5), rnd(6, 5)]),
    ("istft_none", _cplx(F.istft, sequence_length=5, sequence_stride=2, fft_length=6, window=None, center=False),
     [rnd(5, 4), rnd(5, 4)]),
    ("stft_istft", lambda x: F.istft(F.stft(x, 8, 4, 8, center=False), 8, 4, 8, center=False), [rnd(2, 24)]),
]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn, inputs):
    r = nerve.gradcheck(fn, inputs)
    assert r.ok, (name, r.rel_diff)


def test_stft_gradient_matches_torch():
    x = rnd(2, 30)
    cot = rnd(2, 8, 9) + 1j * rnd(2, 8, 9)
    t = nerve.tensor(x, requires_grad=True)
    re, im = F.stft(t, 12, 4, 16)
    ((re * cot.real).sum() + (im * cot.imag).sum()).backward()
    tx = torch.tensor(x, requires_grad=True)
    z = torch.stft(tx, 16, 4, 12, window=torch.hann_window(12, dtype=torch.float64), return_complex=True)
    z = z.transpose(-2, -1)
    ((z.real * torch.tensor(cot.real)).sum() + (z.imag * torch.tensor(cot.imag)).sum()).backward()
    np.testing.assert_allclose(val(t.grad), tx.grad.numpy(), atol=1e-12)


# ---------------------------------------------------------------- errors
def test_bad_arguments_name_the_function():
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"fft: argument 'x' expected a \(real, imag\) tuple of two tensors, got "
                                         r"ndarray"):
        F.fft(x)
    with pytest.raises(ValueError, match=r"ifft2: argument 'x' expected real and imaginary parts of one shape, got "
                                         r"\(2, 4\) and \(4,\)"):
        F.ifft2((x, np.ones(4)))
    with pytest.raises(ValueError, match=r"fft2: argument 'x' expected float real and imaginary parts, got int64 "
                                         r"and float64"):
        F.fft2((np.ones((2, 4), np.int64), x))
    with pytest.raises(ValueError, match=r"fft2: argument 'x' expected rank >= 2, got shape \(4,\)"):
        F.fft2((np.ones(4), np.ones(4)))
    with pytest.raises(ValueError, match=r"rfft: argument 'fft_length' expected an integer >= 1, got 0"):
        F.rfft(x, 0)
    with pytest.raises(ValueError, match=r"irfft: argument 'fft_length' is None and x has 1 bin"):
        F.irfft((np.ones((2, 1)), np.ones((2, 1))))
    with pytest.raises(TypeError, match=r"stft: argument 'x' expected float32 or float64, got int64"):
        F.stft(np.arange(20), 4, 2, 4)
    with pytest.raises(ValueError, match=r"stft: argument 'fft_length' expected >= sequence_length \(8\), got 4"):
        F.stft(np.ones(20), 8, 2, 4)
    with pytest.raises(ValueError, match=r"stft: argument 'sequence_stride' expected an integer >= 1, got 0"):
        F.stft(np.ones(20), 8, 0, 8)
    with pytest.raises(ValueError, match=r"stft: argument 'window' expected 'hann', 'hamming', None or an array, "
                                         r"got 'blackman'"):
        F.stft(np.ones(20), 8, 2, 8, window="blackman")
    with pytest.raises(ValueError, match=r"istft: argument 'window' expected shape \(8,\) \(sequence_length\), got "
                                         r"\(6,\)"):
        F.istft((x, x), 8, 2, 8, window=np.ones(6))
    with pytest.raises(ValueError, match=r"stft: argument 'x' has 5 samples \(5 after padding\), fewer than "
                                         r"fft_length \(8\)"):
        F.stft(np.ones(5), 8, 2, 8, center=False)
    with pytest.raises(ValueError, match=r"istft: argument 'x' expected rank >= 2, got shape \(5,\)"):
        F.istft((np.ones(5), np.ones(5)), 8, 2, 8)


# ---------------------------------------------------------------- the device path (strict CuPy stand-in)
@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_on_the_device_as_on_the_cpu(cp, name, fn, inputs):
    """Values and input gradients on device arrays equal the CPU's (windows, envelopes and gather indices moved
    to the device, no implicit conversion)."""
    fakecupy.check_same_on_device(cp, fn, inputs)
