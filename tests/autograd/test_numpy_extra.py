"""The rest of keras.ops's NumPy namespace (autograd/ops/numpy_extra.py): values against NumPy / SciPy / torch
in float32 and float64, float64 gradcheck with random cotangents for every differentiable op, no gradient
where Keras has none, the same numbers on the device (tests/fakecupy.py's strict stand-in, or a real GPU),
clear errors."""
import os
import sys
import warnings

import numpy as np
import pytest
import scipy.special
import scipy.spatial.distance
import torch

import nerve
from nerve import ops
from nerve.autograd.ops import numpy_extra as ex

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)


def rnd(*shape):
    return R.standard_normal(shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def unit(*shape):
    return R.uniform(-0.9, 0.9, shape)


def distinct(*shape):  # no ties: min, max, order statistics pick one entry
    return (R.permutation(int(np.prod(shape))).reshape(shape) + R.uniform(0, 0.1, shape)) * 0.3


def with_nans(x, frac=0.3):
    x = np.array(x, dtype=float)
    x[R.uniform(size=x.shape) < frac] = np.nan
    return x


def val(t):
    return ops.convert_to_numpy(t) if not isinstance(t, (list, tuple)) else [val(v) for v in t]


def segment_ref(ufunc, fill, data, ids, n):
    out = np.full((n,) + data.shape[1:], fill, data.dtype)
    keep = ids >= 0
    ufunc.at(out, ids[keep], data[keep])
    return out


A, B = rnd(3, 4), rnd(3, 4)
NANS = with_nans(distinct(4, 5))
NANS[2] = np.nan  # one slice of NaNs only
IDS = np.array([0, 2, 0, -1, 2, 0])

# ---------------------------------------------------------------- values (float inputs cast to float32 / float64)
VALUES = [  # (name, ours, reference, inputs)
    ("cbrt", ex.cbrt, np.cbrt, [A]), ("exp2", ex.exp2, np.exp2, [A]), ("sinc", ex.sinc, np.sinc, [A]),
    ("erfc", ex.erfc, scipy.special.erfc, [A * 2]), ("erfinv", ex.erfinv, scipy.special.erfinv, [unit(3, 4)]),
    ("i0", ex.i0, scipy.special.i0, [A * 3]), ("deg2rad", ex.deg2rad, np.deg2rad, [A * 90]),
    ("rad2deg", ex.rad2deg, np.rad2deg, [A]), ("fabs", ex.fabs, np.fabs, [A]),
    ("hypot", ex.hypot, np.hypot, [A, B[0]]), ("fmax", ex.fmax, np.fmax, [with_nans(A), with_nans(B)]),
    ("fmin", ex.fmin, np.fmin, [with_nans(A), B]), ("fmod", ex.fmod, np.fmod, [A * 3, B + 2]),
    ("logaddexp2", ex.logaddexp2, np.logaddexp2, [A, B]),
    ("ldexp", lambda x: ex.ldexp(x, np.array([-2, 0, 3, 7])), lambda x: np.ldexp(x, np.array([-2, 0, 3, 7])), [A]),
    ("divide_no_nan", ex.divide_no_nan, lambda a, b: np.where(b == 0, 0, a / np.where(b == 0, 1, b)),
     [A, np.where(B > 0.5, 0.0, B)]),
    ("select", lambda a, b: ex.select([a < 0, a > 1], [a, b], -1.0),
     lambda a, b: np.select([a < 0, a > 1], [a, b], -1.0), [A, B]),
    ("heaviside", ex.heaviside, np.heaviside, [np.array([-1.5, 0.0, 2.0]), np.array([0.5])]),
    ("nextafter", ex.nextafter, np.nextafter, [A, B]), ("trunc", ex.trunc, np.trunc, [A * 3]),
    ("angle", ex.angle, np.angle, [A]), ("signbit", ex.signbit, np.signbit, [np.array([-0.0, 0.0, -1.0, 2.0])]),
    ("isneginf", ex.isneginf, np.isneginf, [np.array([-np.inf, np.inf, np.nan, -1.0])]),
    ("isposinf", ex.isposinf, np.isposinf, [np.array([-np.inf, np.inf, np.nan, 1.0])]),
    ("isreal", ex.isreal, np.isreal, [A]), ("isin", ex.isin, np.isin, [np.round(A), np.array([0.0, 1.0])]),
    ("isin_invert", lambda a: ex.isin(a, [0.0], invert=True), lambda a: np.isin(a, [0.0], invert=True), [np.round(A)]),
    ("allclose", lambda a: ex.allclose(a, a + 1e-9), lambda a: np.allclose(a, a + 1e-9), [A]),
    ("get_item", lambda a: ex.get_item(a, (slice(None), [0, 2])), lambda a: a[:, [0, 2]], [A]),
    ("fliplr", ex.fliplr, np.fliplr, [A]), ("flipud", ex.flipud, np.flipud, [A]),
    *[(f"rot90_{k}", (lambda a, k=k: ex.rot90(a, k, (1, 2))), (lambda a, k=k: np.rot90(a, k, (1, 2))), [rnd(2, 3, 4)])
      for k in (-1, 0, 1, 2, 3, 5)],
    ("diff", ex.diff, np.diff, [A]),
    ("diff_2", lambda a: ex.diff(a, 2, axis=0), lambda a: np.diff(a, 2, 0), [rnd(4, 3)]),
    ("array_split", lambda a: ex.array_split(a, 3, axis=1), lambda a: np.array_split(a, 3, axis=1), [rnd(2, 7)]),
    ("array_split_idx", lambda a: ex.array_split(a, [1, 3]), lambda a: np.array_split(a, [1, 3]), [rnd(5)]),
    ("hsplit", lambda a: ex.hsplit(a, 2), lambda a: np.hsplit(a, 2), [A]),
    ("hsplit_1d", lambda a: ex.hsplit(a, [1]), lambda a: np.hsplit(a, [1]), [rnd(4)]),
    ("vsplit", lambda a: ex.vsplit(a, 3), lambda a: np.vsplit(a, 3), [A]),
    ("dsplit", lambda a: ex.dsplit(a, [1]), lambda a: np.dsplit(a, [1]), [rnd(2, 2, 3)]),
    ("dstack", lambda a, b, c: ex.dstack([a, b, c]), lambda a, b, c: np.dstack([a, b, c]),
     [rnd(2, 3), rnd(2, 3, 2), rnd(2, 3)]),
    ("dstack_1d", lambda a: ex.dstack([a, a]), lambda a: np.dstack([a, a]), [rnd(3)]),
    *[(f"diag_{k}", (lambda a, k=k: ex.diag(a, k)), (lambda a, k=k: np.diag(a, k)), [x])
      for k in (-2, 0, 1) for x in (rnd(3), A)],
    ("diagflat", lambda a: ex.diagflat(a, -1), lambda a: np.diagflat(a, -1), [rnd(2, 2)]),
    ("kron", ex.kron, np.kron, [rnd(2, 3), rnd(3, 2)]), ("kron_ranks", ex.kron, np.kron, [rnd(2), rnd(2, 3)]),
    ("vander", ex.vander, np.vander, [rnd(4)]),
    ("vander_inc", lambda a: ex.vander(a, 3, True), lambda a: np.vander(a, 3, True), [rnd(4)]),
    ("trapezoid", ex.trapezoid, np.trapezoid, [A]),
    ("trapezoid_x", lambda y, x: ex.trapezoid(y, x, axis=0), lambda y, x: np.trapezoid(y, x, axis=0),
     [A, np.cumsum(pos(3))]),
    ("trapezoid_dx", lambda y: ex.trapezoid(y, dx=0.3), lambda y: np.trapezoid(y, dx=0.3), [A]),
    ("ptp", lambda a: ex.ptp(a, axis=1, keepdims=True), lambda a: np.ptp(a, 1, keepdims=True), [A]),
    ("percentile", lambda a: ex.percentile(a, [10, 50, 95], axis=0), lambda a: np.percentile(a, [10, 50, 95], 0), [A]),
    *[(f"nanquantile_{m}", (lambda a, m=m: ex.nanquantile(a, [0.2, 0.75], axis=1, method=m)),
       (lambda a, m=m: np.nanquantile(a, [0.2, 0.75], 1, method=m)), [NANS])
      for m in ("linear", "lower", "higher", "nearest", "midpoint")],
    ("nanquantile_all", lambda a: ex.nanquantile(a, 0.3), lambda a: np.nanquantile(a, 0.3), [NANS]),
    ("nanpercentile", lambda a: ex.nanpercentile(a, 40, axis=(0, 1), keepdims=True),
     lambda a: np.nanpercentile(a, 40, (0, 1), keepdims=True), [with_nans(rnd(3, 4, 2))]),
    ("nanmedian", lambda a: ex.nanmedian(a, axis=0), lambda a: np.nanmedian(a, 0), [NANS]),
    ("nansum", lambda a: ex.nansum(a, axis=1), lambda a: np.nansum(a, 1), [NANS]),
    ("nanmean", lambda a: ex.nanmean(a, axis=0, keepdims=True), lambda a: np.nanmean(a, 0, keepdims=True), [NANS]),
    ("nanvar", lambda a: ex.nanvar(a, axis=1), lambda a: np.nanvar(a, 1), [NANS]),
    ("nanstd", ex.nanstd, np.nanstd, [NANS]),
    ("nanmax", lambda a: ex.nanmax(a, axis=1), lambda a: np.nanmax(a, 1), [NANS]),
    ("nanmin", lambda a: ex.nanmin(a, axis=(0, 1)), lambda a: np.nanmin(a, (0, 1)), [NANS]),
    ("nanprod", lambda a: ex.nanprod(a, axis=0), lambda a: np.nanprod(a, 0), [NANS]),
    ("nancumsum", lambda a: ex.nancumsum(a, axis=1), lambda a: np.nancumsum(a, 1), [NANS]),
    ("nancumprod", ex.nancumprod, np.nancumprod, [NANS]),
    ("nanargmax", lambda a: ex.nanargmax(a, axis=1), lambda a: [0, 4, -1, 1], [np.array(
        [[5.0, np.nan, 1, 2, 3], [np.nan, 1, 2, 3, 4], [np.nan] * 5, [1, 7, np.nan, 7, 0]])]),
    ("nanargmin", lambda a: ex.nanargmin(a, axis=0, keepdims=True), lambda a: [[1, 0]],
     [np.array([[np.nan, -1.0], [2.0, 3.0]])]),
    ("nanargmax_flat", ex.nanargmax, lambda a: np.nanargmax(a), [NANS]),
    ("corrcoef", ex.corrcoef, np.corrcoef, [rnd(3, 6)]), ("corrcoef_1d", ex.corrcoef, np.corrcoef, [rnd(5)]),
    *[(f"correlate_{mode}_{m}_{n}", (lambda a, b, mode=mode: ex.correlate(a, b, mode)),
       (lambda a, b, mode=mode: np.correlate(a, b, mode)), [rnd(m), rnd(n)])
      for mode in ("valid", "same", "full") for m, n in ((5, 3), (3, 5), (4, 4), (1, 3), (4, 1), (6, 5))],
    ("cdist", ex.cdist, scipy.spatial.distance.cdist, [rnd(4, 3), rnd(5, 3)]),
    ("cdist_batched", ex.cdist, lambda x, y: torch.cdist(torch.tensor(x), torch.tensor(y)).numpy(),
     [rnd(2, 4, 3), rnd(1, 5, 3)]),
    ("segment_min", lambda d: ex.segment_min(d, IDS, 4), lambda d: segment_ref(np.minimum, np.inf, d, IDS, 4),
     [rnd(6, 2)]),
    ("segment_prod", lambda d: ex.segment_prod(d, IDS), lambda d: segment_ref(np.multiply, 1, d, IDS, 3), [rnd(6, 2)]),
    ("saturate_cast", lambda a: ex.saturate_cast(a, "float64"), lambda a: a.astype(np.float64), [A]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, ours, ref, inputs", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, ours, ref, inputs, dtype):
    xs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in inputs]
    out = ours(*xs)
    with warnings.catch_warnings():  # NumPy warns of its slices of NaNs only
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = ref(*xs)
    rtol = 2e-5 if dtype == "float32" else 1e-10
    if isinstance(expected, (list, tuple)) and isinstance(out, (list, tuple)):
        assert len(out) == len(expected)
    else:
        out, expected = [out], [expected]
    for o, e in zip(out, expected):
        o, e = val(o), np.asarray(e)
        assert o.shape == e.shape, (name, o.shape, e.shape)
        np.testing.assert_allclose(o, e, rtol=rtol, atol=rtol * 1e-2, equal_nan=True)
        if e.dtype.kind == "f" and name not in ("cdist", "saturate_cast"):  # SciPy's cdist works in float64
            assert o.dtype == np.dtype(dtype), (name, o.dtype)


# ---------------------------------------------------------------- float64 gradcheck
GRADS = [
    ("cbrt", ex.cbrt, [pos(3, 4) * np.sign(rnd(3, 4))]), ("exp2", ex.exp2, [rnd(5)]),
    ("sinc", ex.sinc, [np.array([0.0, 0.3, -1.7, 2.5])]), ("erfc", ex.erfc, [rnd(5)]),
    ("erfinv", ex.erfinv, [unit(5)]), ("i0", ex.i0, [rnd(5) * 3]), ("deg2rad", ex.deg2rad, [rnd(4)]),
    ("rad2deg", ex.rad2deg, [rnd(4)]), ("fabs", ex.fabs, [rnd(4)]),
    ("hypot", ex.hypot, [rnd(3, 4), rnd(4)]), ("fmax", ex.fmax, [rnd(3, 4), rnd(3, 1)]),
    ("fmin", ex.fmin, [rnd(3, 4), rnd(4)]), ("fmod", ex.fmod, [rnd(3, 4) * 3, pos(4) + 0.3]),
    ("logaddexp2", ex.logaddexp2, [rnd(3, 1), rnd(4)]),
    ("ldexp", lambda x: ex.ldexp(x, np.array([-1, 2, 0])), [rnd(2, 3)]),
    ("divide_no_nan", lambda a, b: ex.divide_no_nan(a, ex.select([b > 1.0], [b], 0.0)),  # zero divisors, fixed
     [rnd(3, 4), np.array([0.7, 1.5, 1.2, 0.6])]),
    ("select", lambda a, b: ex.select([a < 0, b > 1], [a * 2, b], 0.5), [rnd(3, 4), pos(3, 4)]),
    ("get_item", lambda x: ex.get_item(x, (slice(1, None), [0, 0, 2])), [rnd(3, 4)]),
    ("fliplr", ex.fliplr, [rnd(3, 4)]), ("flipud", ex.flipud, [rnd(3, 4)]),
    ("rot90", lambda x: ex.rot90(x, 1, (0, 2)), [rnd(2, 3, 4)]), ("rot90_3", lambda x: ex.rot90(x, 3), [rnd(2, 3)]),
    ("rot90_2", lambda x: ex.rot90(x, 2), [rnd(2, 3)]),
    ("diff", lambda x: ex.diff(x, 2, axis=0), [rnd(4, 3)]),
    ("array_split", lambda x: ex.array_split(x, 3, axis=1), [rnd(2, 7)]),
    ("hsplit", lambda x: ex.hsplit(x, 2)[1], [rnd(3, 4)]), ("vsplit", lambda x: ex.vsplit(x, [1]), [rnd(3, 2)]),
    ("dsplit", lambda x: ex.dsplit(x, 3), [rnd(2, 2, 3)]),
    ("dstack", lambda a, b: ex.dstack([a, b]), [rnd(3), rnd(1, 3, 2)]),
    ("diag_vector", lambda x: ex.diag(x, -1), [rnd(3)]), ("diag_matrix", lambda x: ex.diag(x, 1), [rnd(3, 4)]),
    ("diagflat", lambda x: ex.diagflat(x, 2), [rnd(2, 2)]),
    ("kron", ex.kron, [rnd(2, 3), rnd(3, 2)]), ("vander", lambda x: ex.vander(x, 4), [np.array([0.0, 1.3, -0.7])]),
    ("trapezoid", lambda y, x: ex.trapezoid(y, x, axis=0), [rnd(4, 3), np.cumsum(pos(4))]),
    ("trapezoid_dx", lambda y: ex.trapezoid(y, dx=0.5), [rnd(2, 5)]),
    ("ptp", lambda x: ex.ptp(x, axis=0), [distinct(3, 4)]),
    ("percentile", lambda x: ex.percentile(x, [20, 70], axis=1), [distinct(2, 5)]),
    ("nanquantile", lambda x: ex.nanquantile(x, [0.25, 0.6], axis=1), [with_nans(distinct(3, 6))]),
    ("nanpercentile", lambda x: ex.nanpercentile(x, 35, method="midpoint"), [with_nans(distinct(3, 4))]),
    ("nanmedian", lambda x: ex.nanmedian(x, axis=0, keepdims=True), [with_nans(distinct(5, 3))]),
    ("nansum", lambda x: ex.nansum(x, axis=1), [with_nans(rnd(3, 4))]),
    ("nanmean", lambda x: ex.nanmean(x, axis=0), [with_nans(rnd(4, 3))]),
    ("nanvar", lambda x: ex.nanvar(x, axis=1, keepdims=True), [with_nans(rnd(3, 5))]),
    ("nanstd", ex.nanstd, [with_nans(rnd(3, 4))]),
    ("nanmax", lambda x: ex.nanmax(x, axis=1), [with_nans(distinct(3, 4))]),
    ("nanmin", lambda x: ex.nanmin(x, axis=0), [with_nans(distinct(4, 3))]),
    ("nanprod", lambda x: ex.nanprod(x, axis=1), [with_nans(rnd(3, 4))]),
    ("nancumsum", lambda x: ex.nancumsum(x, axis=0), [with_nans(rnd(3, 4))]),
    ("nancumprod", lambda x: ex.nancumprod(x, axis=1), [with_nans(rnd(2, 4))]),
    ("corrcoef", ex.corrcoef, [rnd(3, 6)]),
    ("correlate_valid", ex.correlate, [rnd(5), rnd(3)]),
    ("correlate_same", lambda a, b: ex.correlate(a, b, "same"), [rnd(3), rnd(4)]),
    ("correlate_full", lambda a, b: ex.correlate(a, b, "full"), [rnd(4), rnd(2)]),
    ("cdist", ex.cdist, [rnd(2, 4, 3), rnd(5, 3)]),
    ("segment_min", lambda d: ex.segment_min(d, IDS, 4), [distinct(6, 2)]),
    ("segment_prod", lambda d: ex.segment_prod(d, IDS), [rnd(6, 2)]),
    ("segment_prod_zero", lambda d: ex.segment_prod(d, np.array([0, 0, 1])), [np.array([0.0, 2.0, 3.0])]),
    ("saturate_cast", lambda x: ex.saturate_cast(x, "float64"), [rnd(3)]),
]


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_gradcheck(name, fn, inputs):
    r = nerve.gradcheck(fn, inputs)
    assert r.ok, (name, r.rel_diff)


def test_every_differentiable_op_has_a_gradcheck():
    differentiable = {
        "cbrt", "exp2", "sinc", "erfc", "erfinv", "i0", "deg2rad", "rad2deg", "fabs", "hypot", "fmax", "fmin", "fmod",
        "logaddexp2", "ldexp", "divide_no_nan", "select", "get_item", "fliplr", "flipud", "rot90", "diff",
        "array_split", "hsplit", "vsplit", "dsplit", "dstack", "diag", "diagflat", "kron", "vander", "trapezoid",
        "ptp", "percentile", "nanquantile", "nanpercentile", "nanmedian", "nansum", "nanmean", "nanvar", "nanstd",
        "nanmax", "nanmin", "nanprod", "nancumsum", "nancumprod", "corrcoef", "correlate", "cdist", "segment_min",
        "segment_prod", "saturate_cast"}
    checked = {g[0] for g in GRADS} | {g[0].rsplit("_", 1)[0] for g in GRADS}
    assert differentiable <= checked, differentiable - checked
    assert differentiable <= set(ex.__all__)


def test_the_keras_names_nerve_lacked_are_all_here():
    """Keras 3.15's NumPy-namespace names missing from numpy_ops.py (fft, stft, view_as_complex / real, vectorize,
    rearrange, custom_gradient, jvp and polar are not in this module), none defined twice."""
    from nerve.autograd.ops import numpy_ops
    names = set("""allclose angle argpartition array_split bartlett bitwise_invert bitwise_left_shift bitwise_not
        bitwise_right_shift left_shift right_shift blackman cbrt corrcoef correlate deg2rad rad2deg diag diagflat diff
        divide_no_nan dsplit dstack hsplit vsplit empty_like erfc erfinv exp2 fabs fliplr flipud fmax fmin fmod gcd lcm
        geomspace get_item hamming hanning heaviside histogram hypot i0 isin isneginf isposinf isreal kaiser kron ldexp
        logaddexp2 nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod
        nanquantile nanstd nansum nanvar nextafter percentile ptp rot90 saturate_cast searchsorted segment_min
        segment_prod select signbit sinc trapezoid trunc unique unravel_index vander view cdist""".split())
    assert set(ex.__all__) == names and all(callable(getattr(ex, n)) for n in names)
    assert names.isdisjoint(numpy_ops.__all__)


def test_gradients_at_the_special_points():
    """Zero of hypot / cdist / sinc and zero divisors: finite subgradients (torch's), not NaN."""
    x = nerve.tensor(np.zeros(3), requires_grad=True)
    ex.hypot(x, 0.0).sum().backward()
    assert np.array_equal(val(x.grad), np.zeros(3))
    p = nerve.tensor(np.array([[0.0, 1.0], [2.0, 2.0]]), requires_grad=True)
    ex.cdist(p, np.array([[0.0, 1.0]])).sum().backward()
    np.testing.assert_allclose(val(p.grad), [[0.0, 0.0], [2 / np.sqrt(5), 1 / np.sqrt(5)]])
    s = nerve.tensor(np.zeros(2), requires_grad=True)
    ex.sinc(s).sum().backward()
    assert np.array_equal(val(s.grad), [0.0, 0.0])
    a, b = nerve.tensor(np.ones(2), requires_grad=True), nerve.tensor(np.zeros(2), requires_grad=True)
    ex.divide_no_nan(a, b).sum().backward()
    assert np.isfinite(val(a.grad)).all() and np.isfinite(val(b.grad)).all()
    t = nerve.tensor(np.array([1.0, np.nan, 3.0]), requires_grad=True)
    ex.nanmean(t).backward()
    np.testing.assert_allclose(val(t.grad), [0.5, 0.0, 0.5])


def test_derivatives_match_torch():
    x = np.array([-1.2, 0.4, 2.5])
    for ours, theirs in ((ex.i0, torch.special.i0), (ex.erfinv, torch.erfinv), (ex.sinc, torch.sinc),
                         (ex.cbrt, lambda t: torch.sign(t) * t.abs() ** (1 / 3))):
        xin = x / 3 if ours is ex.erfinv else x
        t = torch.tensor(xin, requires_grad=True)
        theirs(t).sum().backward()
        n = nerve.tensor(xin, requires_grad=True)
        ours(n).sum().backward()
        np.testing.assert_allclose(val(n.grad), t.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------- no gradient, integers, constructors
def test_ops_without_a_gradient_give_tensors_that_need_none():
    x = nerve.tensor(rnd(4), requires_grad=True)
    for out in (ex.trunc(x), ex.signbit(x), ex.isneginf(x), ex.isposinf(x), ex.isreal(x), ex.angle(x),
                ex.heaviside(x, 0.5), ex.nextafter(x, 0.0), ex.isin(x, [1.0]), ex.nanargmax(x), ex.nanargmin(x),
                ex.argpartition(x, 1), ex.searchsorted(np.arange(3.0), x), ex.empty_like(x), ex.view(x, "int64"),
                ex.allclose(x, x), ex.histogram(x)[0], ex.unique(x)):
        assert isinstance(out, nerve.Tensor) and not out.requires_grad


def test_integer_and_bitwise_ops():
    a, b = np.array([12, -7, 5, 0], np.int32), np.array([1, 2, 3, 4], np.int32)
    for ours, ref in ((ex.bitwise_left_shift, np.left_shift), (ex.left_shift, np.left_shift),
                      (ex.bitwise_right_shift, np.right_shift), (ex.right_shift, np.right_shift),
                      (ex.gcd, np.gcd), (ex.lcm, np.lcm)):
        out = ours(a, b)
        assert np.array_equal(val(out), ref(a, b)) and val(out).dtype == np.int32
    assert np.array_equal(val(ex.bitwise_invert(a)), ~a) and np.array_equal(val(ex.bitwise_not(a > 0)), a <= 0)
    assert np.array_equal(val(ex.trunc(a)), a) and val(ex.trunc(a)).dtype == np.int32
    assert np.array_equal(val(ex.fmod(a, 4)), np.fmod(a, 4)) and val(ex.fmax(a, b)).dtype == np.int32
    assert val(ex.view(np.array([1, 2, 3], np.int32), "float32"))[0] == np.array(1, np.int32).view(np.float32)
    assert val(ex.view(np.ones(2, np.float32))).dtype == np.float32
    rows, cols = ex.unravel_index(np.array([5, 0, 11]), (3, 4))
    assert val(rows).tolist() == [1, 0, 2] and val(cols).tolist() == [1, 0, 3] and val(rows).dtype == np.int64


def test_searches_and_partitions():
    s = np.array([0.0, 1.0, 1.0, 3.0])
    v = np.array([[1.0, -1.0], [4.0, 2.0]])
    for side in ("left", "right"):
        out = ex.searchsorted(s, v, side=side)
        assert np.array_equal(val(out), np.searchsorted(s, v, side=side)) and val(out).dtype == np.int32
    x = distinct(3, 6)
    idx = val(ex.argpartition(x, 2, axis=1))
    part = np.take_along_axis(x, idx, axis=1)
    assert idx.dtype == np.int32 and np.array_equal(part[:, 2], np.sort(x, 1)[:, 2])
    assert (part[:, :2] <= part[:, 2:3]).all() and (part[:, 3:] >= part[:, 2:3]).all()


def test_unique_and_histogram():
    x = np.array([3, 1, 2, 1, 3, 2, 7])
    assert val(ex.unique(x)).tolist() == [1, 2, 3, 7]
    values, index, inverse, counts = ex.unique(x, return_index=True, return_inverse=True, return_counts=True)
    ref = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for o, e in zip((values, index, inverse, counts), ref):
        assert np.array_equal(val(o), e)
    v, c = ex.unique(x, size=6, fill_value=-1, return_counts=True)  # padded, as Keras' NumPy backend
    assert val(v).tolist() == [1, 2, 3, 7, -1, -1] and val(c).tolist() == [2, 2, 2, 1, 0, 0]
    v, i = ex.unique(x, size=2, return_index=True)
    assert val(v).tolist() == [1, 2] and val(i).tolist() == [1, 2]
    assert np.array_equal(val(ex.unique(np.array([[1, 0], [0, 1], [1, 0]]), axis=0)), [[0, 1], [1, 0]])
    h = rnd(30)
    for kw in ({}, {"bins": 4, "range": (-1.0, 1.0)}):
        counts, edges = ex.histogram(h, **kw)
        rc, re = np.histogram(h, **kw)
        assert np.array_equal(val(counts), rc) and np.allclose(val(edges), re)


def test_constructors():
    for ours, ref in ((ex.bartlett, np.bartlett), (ex.blackman, np.blackman), (ex.hamming, np.hamming),
                      (ex.hanning, np.hanning)):
        out = val(ours(7))
        np.testing.assert_allclose(out, ref(7), rtol=1e-6, atol=1e-7)
        assert out.dtype == np.float32
    np.testing.assert_allclose(val(ex.kaiser(nerve.tensor(np.array(5)), 14.0)), np.kaiser(5, 14.0), rtol=1e-6)
    np.testing.assert_allclose(val(ex.geomspace(1, 1000, 4)), [1, 10, 100, 1000], rtol=1e-6)
    assert val(ex.geomspace(2.0, 32.0, 5, endpoint=False, dtype="float64")).dtype == np.float64
    e = ex.empty_like(np.ones((2, 3), np.float32), dtype="int8")
    assert val(e).shape == (2, 3) and val(e).dtype == np.int8


def test_saturate_cast_clips_to_the_target_range():
    x = np.array([-1.0, 256.0, 3.7, np.inf, -np.inf], np.float32)
    assert val(ex.saturate_cast(x, "uint8")).tolist() == [0, 255, 3, 255, 0]
    out = val(ex.saturate_cast(np.array([1e10, -1e10], np.float32), "int32"))
    assert out.dtype == np.int32 and out[0] > 2 ** 31 - 200 and out[1] == -2 ** 31  # no wrap-around
    assert val(ex.saturate_cast(np.array([300, -5]), "int8")).tolist() == [127, -5]
    assert val(ex.saturate_cast(np.array([1e300]), "float32"))[0] == np.finfo(np.float32).max


def test_segments_ignore_negative_ids_and_fill_empty_segments():
    d = np.array([[1.0, 8.0], [2.0, -1.0], [5.0, 5.0]])
    np.testing.assert_array_equal(val(ex.segment_min(d, np.array([1, -1, 1]), 3)),
                                  [[np.inf, np.inf], [1.0, 5.0], [np.inf, np.inf]])
    np.testing.assert_array_equal(val(ex.segment_prod(d, np.array([0, 0, 2]))), [[2.0, -8.0], [1.0, 1.0], [5.0, 5.0]])
    ints = np.array([1, 2, 10, 20, 100, 200])
    assert val(ex.segment_min(ints, np.array([0, 0, 1, 1, 2, 3]), 5)).tolist() == [1, 10, 100, 200,
                                                                                    np.iinfo(ints.dtype).max]
    assert val(ex.segment_prod(ints, np.array([0, 0, 1, 1, 2, 2]))).tolist() == [2, 200, 20000]
    np.testing.assert_array_equal(val(ex.segment_min(np.arange(6.0).reshape(2, 3), np.array([[0, 1, 0], [1, 1, 0]]))),
                                  [0.0, 1.0])


def test_nan_reductions_of_slices_without_values():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    with np.errstate(all="ignore"):
        for ours, ref in ((ex.nanmax, np.nanmax), (ex.nanmin, np.nanmin), (ex.nanmean, np.nanmean),
                          (ex.nanvar, np.nanvar), (ex.nanmedian, np.nanmedian)):
            with pytest.warns(RuntimeWarning):
                expected = ref(x, axis=1)
            np.testing.assert_array_equal(val(ours(x, axis=1)), expected)
    assert val(ex.nanargmax(x, axis=1)).tolist() == [-1, 0]
    assert val(ex.nansum(np.array([1, 2]))) == 3 and val(ex.nanmax(np.array([1, 4]))) == 4  # integers: no NaN


def test_special_function_fallbacks_without_scipy():
    x = np.linspace(-0.999, 0.999, 41)
    np.testing.assert_allclose(ex._FALLBACK["erfinv"](x), scipy.special.erfinv(x), rtol=1e-12, atol=1e-14)
    assert ex._FALLBACK["erfinv"](np.array([1.0]))[0] == np.inf
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(ex._FALLBACK["i1"](z), scipy.special.i1(z), rtol=1e-12)
    np.testing.assert_allclose(ex._FALLBACK["erfc"](z / 5), scipy.special.erfc(z / 5), rtol=1e-14)


# ---------------------------------------------------------------- on the device
@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name, fn, inputs", GRADS, ids=[g[0] for g in GRADS])
def test_on_the_device_as_on_the_cpu(cp, name, fn, inputs):
    """Values and input gradients on device arrays equal the CPU's (masks, index tables and host-only results
    moved explicitly; the stand-in refuses any implicit conversion)."""
    fakecupy.check_same_on_device(cp, fn, inputs)


NO_GRAD_ON_DEVICE = [
    ("trunc", ex.trunc, [A]), ("signbit", ex.signbit, [A]), ("isneginf", ex.isneginf, [A]),
    ("isreal", ex.isreal, [A]), ("angle", ex.angle, [A]), ("heaviside", lambda a: ex.heaviside(a, 0.5), [A]),
    ("nextafter", lambda a: ex.nextafter(a, 0.0), [A]), ("isin", lambda a: ex.isin(a, np.array([0.0])), [np.round(A)]),
    ("allclose", lambda a: ex.allclose(a, a), [A]), ("nanargmax", lambda a: ex.nanargmax(a, 1), [NANS]),
    ("argpartition", lambda a: ex.argpartition(a, 1), [distinct(3, 4)]),
    ("searchsorted", lambda a: ex.searchsorted(ops.sort(ops.ravel(a), axis=0), a), [A]),
    ("histogram", lambda a: ex.histogram(ops.ravel(a), 5), [A]), ("unique", ex.unique, [np.round(A)]),
    ("unique_all", lambda a: ex.unique(a > 0, return_inverse=True, return_counts=True, size=3), [A]),
    ("unravel_index", lambda a: ex.unravel_index(a, (3, 4)), [np.array([0, 5, 11])]),
    ("bitwise", lambda a: ex.left_shift(a, 2), [np.array([1, 5, 7])]),
    ("gcd", lambda a: ex.gcd(a, 6), [np.array([4, 9])]),
    ("empty_like", lambda a: ex.empty_like(a).shape, [A]), ("view", lambda a: ex.view(a, "int64"), [A]),
]


@pytest.mark.parametrize("name, fn, inputs", NO_GRAD_ON_DEVICE, ids=[c[0] for c in NO_GRAD_ON_DEVICE])
def test_ops_without_a_gradient_on_the_device(cp, name, fn, inputs):
    cpu = fn(*[nerve.tensor(a) for a in inputs])
    dev = fn(*[nerve.tensor(cp.asarray(a)) for a in inputs])
    if name == "empty_like":
        assert cpu == dev
        return
    cpu, dev = (list(v) if isinstance(v, (list, tuple)) else [v] for v in (cpu, dev))
    for c, d in zip(cpu, dev):
        assert isinstance(d.data, cp.ndarray), name
        np.testing.assert_array_equal(ops.convert_to_numpy(d), ops.convert_to_numpy(c))


# ---------------------------------------------------------------- errors
def test_bad_arguments_name_the_function():
    cases = [
        (ValueError, r"rot90: argument 'array' expected rank >= 2, got rank 1", lambda: ex.rot90(np.ones(3))),
        (ValueError, r"rot90: argument 'axes' expected two different axes",
         lambda: ex.rot90(np.ones((2, 2)), axes=(1, 1))),
        (ValueError, r"diff: argument 'n' expected a non-negative int, got -1", lambda: ex.diff(np.ones(3), -1)),
        (ValueError, r"hsplit: argument 'indices_or_sections' 3 does not divide axis 1 of length 4",
         lambda: ex.hsplit(np.ones((2, 4)), 3)),
        (ValueError, r"vsplit: argument 'x' expected rank >= 2", lambda: ex.vsplit(np.ones(4), 2)),
        (ValueError, r"dsplit: argument 'x' expected rank >= 3", lambda: ex.dsplit(np.ones((2, 2)), 2)),
        (ValueError, r"array_split: argument 'indices_or_sections' expected a positive int, got 0",
         lambda: ex.array_split(np.ones(3), 0)),
        (ValueError, r"diag: argument 'x' expected a 1-D or 2-D tensor, got shape \(2, 2, 2\)",
         lambda: ex.diag(np.ones((2, 2, 2)))),
        (ValueError, r"vander: argument 'x' expected a 1-D tensor", lambda: ex.vander(np.ones((2, 2)))),
        (ValueError, r"percentile: argument 'q' expected values in \[0, 100\]", lambda: ex.percentile(np.ones(3), 101)),
        (ValueError, r"nanquantile: argument 'q' expected values in \[0, 1\]", lambda: ex.nanquantile(np.ones(3), 2)),
        (ValueError, r"nanquantile: argument 'method' expected one of",
         lambda: ex.nanquantile(np.ones(3), 0.5, method="x")),
        (ValueError, r"correlate: argument 'mode' expected 'valid', 'same' or 'full', got 'wide'",
         lambda: ex.correlate(np.ones(3), np.ones(2), "wide")),
        (ValueError, r"correlate: arguments 'x1' and 'x2' expected non-empty 1-D tensors",
         lambda: ex.correlate(np.ones((2, 2)), np.ones(2))),
        (ValueError, r"cdist: arguments 'x' and 'y' expected shapes \(\.\.\., m, d\) and \(\.\.\., n, d\), "
                     r"got \(2, 3\) and \(2, 4\)", lambda: ex.cdist(np.ones((2, 3)), np.ones((2, 4)))),
        (ValueError, r"corrcoef: argument 'x' expected a 1-D or 2-D tensor", lambda: ex.corrcoef(np.ones((2, 2, 2)))),
        (ValueError, r"select: arguments 'condlist' and 'choicelist' expected the same non-zero length, got 1 and 2",
         lambda: ex.select([np.ones(2) > 0], [np.ones(2), np.ones(2)])),
        (TypeError, r"select: argument 'condlist' expected boolean tensors, got dtype float",
         lambda: ex.select([np.ones(2)], [np.ones(2)])),
        (TypeError, r"ldexp: argument 'x2' expected an integer tensor, got dtype float", lambda: ex.ldexp(1.0, 2.0)),
        (TypeError, r"bitwise_left_shift: argument 'x' expected an integer or bool tensor, got dtype float",
         lambda: ex.bitwise_left_shift(np.ones(2), 1)),
        (TypeError, r"gcd: argument 'x2' expected an integer or bool tensor", lambda: ex.gcd(np.array([2]), 1.5)),
        (ValueError, r"searchsorted: argument 'sorted_sequence' expected a 1-D tensor",
         lambda: ex.searchsorted(np.ones((2, 2)), 1.0)),
        (ValueError, r"searchsorted: argument 'side' expected 'left' or 'right', got 'middle'",
         lambda: ex.searchsorted(np.ones(2), 1.0, side="middle")),
        (ValueError, r"histogram: argument 'bins' expected a positive int, got 0", lambda: ex.histogram(np.ones(3), 0)),
        (ValueError, r"histogram: argument 'range' expected \(low, high\) with low <= high",
         lambda: ex.histogram(np.ones(3), range=(2, 1))),
        (ValueError, r"histogram: argument 'x' expected a 1-D tensor", lambda: ex.histogram(np.ones((2, 2)))),
        (ValueError, r"segment_min: argument 'segment_ids' expected the leading shape of data \(3,\), got \(2,\)",
         lambda: ex.segment_min(np.ones(3), np.array([0, 1]))),
        (ValueError, r"segment_prod: argument 'segment_ids' holds 3, out of range for 2 segments",
         lambda: ex.segment_prod(np.ones(2), np.array([0, 3]), 2)),
        (ValueError, r"nanargmax: argument 'axis' 2 is out of range for a tensor of rank 2",
         lambda: ex.nanargmax(np.ones((2, 2)), axis=2)),
        (ValueError, r"bartlett: argument 'x' expected the window length \(a scalar\)",
         lambda: ex.bartlett(np.ones(2))),
        (ValueError, r"fliplr: argument 'x' expected rank >= 2, got rank 1", lambda: ex.fliplr(np.ones(2))),
        (ValueError, r"dstack: argument 'xs' is empty", lambda: ex.dstack([])),
    ]
    for err, msg, call in cases:
        with pytest.raises(err, match=msg):
            call()
