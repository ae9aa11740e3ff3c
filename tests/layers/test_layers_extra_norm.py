"""GroupNormalization, UnitNormalization, RMSNormalization, SpectralNormalization and AlphaDropout: Keras-style
layer checks (float64 gradcheck w.r.t. input and weights, config round trips), values and gradients against
torch, Keras 3.15 parameter counts / weight order (golden numbers checked with Keras 3.15), the power iteration
against NumPy, AlphaDropout's statistics, masks and errors."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")
F = torch.nn.functional


# ----------------------------------------------------------------------------------------- layer checks
@pytest.mark.parametrize("cls, kw, shape, n_train", [
    (L.GroupNormalization, {"groups": 2}, (3, 5, 4), 2),
    (L.GroupNormalization, {"groups": 3, "epsilon": 1e-5}, (2, 3, 4, 6), 2),
    (L.GroupNormalization, {"groups": 2, "axis": 1, "center": False}, (2, 4, 3, 2), 1),
    (L.GroupNormalization, {"groups": -1, "scale": False}, (2, 5, 3), 1),
    (L.UnitNormalization, {}, (3, 5), 0),
    (L.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), 0),
    (L.RMSNormalization, {}, (3, 5), 1),
    (L.RMSNormalization, {"axis": [1, 2], "epsilon": 1e-3}, (2, 3, 4), 1),
    (L.RMSNormalization, {"axis": 1}, (2, 3, 4), 1),
])
def test_normalization_layer_checks(cls, kw, shape, n_train):
    layer_test(cls, kw, input_shape=shape, expected_output_shape=shape, expected_num_trainable_weights=n_train,
               supports_masking=cls is not L.RMSNormalization, parts=("core",))


@pytest.mark.parametrize("inner, shape", [
    (lambda: L.Dense(3), (3, 4)), (lambda: L.Conv2D(2, 2, activation="tanh"), (2, 4, 4, 2)),
    (lambda: L.Conv1D(3, 2, use_bias=False), (2, 5, 2))])
def test_spectral_normalization_layer_checks(inner, shape):
    layer_test(L.SpectralNormalization, {"layer": inner()}, input_shape=shape,
               expected_num_trainable_weights=2 if inner().use_bias else 1, expected_num_non_trainable_weights=1,
               supports_masking=False, parts=("core",))


def test_alpha_dropout_layer_checks():
    """Gradcheck in training replays the RNG, so the same units are dropped in every evaluation."""
    layer_test(L.AlphaDropout, {"rate": 0.3}, input_shape=(4, 6), expected_output_shape=(4, 6),
               supports_masking=True, gradcheck_training=True, compare_outputs_training=True, parts=("core",))
    layer_test(L.AlphaDropout, {"rate": 0.5, "noise_shape": (None, 1, 3)}, input_shape=(2, 4, 3),
               gradcheck_training=True, parts=("core",))


def test_save_and_fit_through_the_harness(tmp_path):
    for cls, kw, shape, n in [(L.GroupNormalization, {"groups": 2}, (4, 3, 4), 2),
                              (L.RMSNormalization, {}, (4, 5), 1),
                              (L.UnitNormalization, {}, (4, 5), 0),
                              (L.AlphaDropout, {"rate": 0.2}, (4, 5), 0),
                              (L.SpectralNormalization, {"layer": L.Dense(3)}, (4, 5), 2)]:
        layer_test(cls, kw, input_shape=shape, parts=("save", "fit"), tmp_path=tmp_path,
                   expected_num_trainable_weights=n)


# ----------------------------------------------------------------------------------------- Keras 3.15 goldens
@pytest.mark.parametrize("make, shape, params, weights", [
    (lambda: L.GroupNormalization(groups=2), (5, 4), 8, [("gamma", (4,), True), ("beta", (4,), True)]),
    (lambda: L.GroupNormalization(groups=3), (8, 8, 6), 12, [("gamma", (6,), True), ("beta", (6,), True)]),
    (lambda: L.UnitNormalization(), (5, 4), 0, []),
    (lambda: L.RMSNormalization(), (5, 4), 4, [("scale", (4,), True)]),
    (lambda: L.RMSNormalization(axis=[1, 2]), (3, 4), 12, [("scale", (3, 4), True)]),
    (lambda: L.SpectralNormalization(L.Dense(3)), (4,), 18,
     [("kernel", (4, 3), True), ("vector_u", (1, 3), False), ("bias", (3,), True)]),
    (lambda: L.SpectralNormalization(L.Conv2D(3, 2)), (5, 5, 2), 30,
     [("kernel", (2, 2, 2, 3), True), ("vector_u", (1, 3), False), ("bias", (3,), True)]),
    (lambda: L.SpectralNormalization(L.Embedding(5, 3)), (4,), 18,
     [("embeddings", (5, 3), True), ("vector_u", (1, 3), False)]),
    (lambda: L.AlphaDropout(0.2), (4,), 0, []),
])
def test_keras_parameter_counts_and_weight_order(make, shape, params, weights):
    layer = make()
    integer = isinstance(getattr(layer, "layer", None), L.Embedding)
    layer(nerve.layers.Input(shape, dtype="int64" if integer else None))
    assert layer.count_params() == params
    assert [(w.name, w.shape, w.trainable) for w in layer.weights] == weights
    assert [w.name for w in layer.trainable_weights] == [w[0] for w in weights if w[2]]


def test_keras_default_configs():
    assert L.RMSNormalization().get_config()["epsilon"] == 1e-6 and L.RMSNormalization().get_config()["axis"] == -1
    cfg = L.GroupNormalization().get_config()
    assert (cfg["groups"], cfg["axis"], cfg["epsilon"], cfg["center"], cfg["scale"]) == (32, -1, 1e-3, True, True)
    assert L.SpectralNormalization(L.Dense(2)).get_config()["power_iterations"] == 1
    cfg = L.AlphaDropout(0.1).get_config()
    assert (cfg["rate"], cfg["seed"], cfg["noise_shape"]) == (0.1, None, None)


# ----------------------------------------------------------------------------------------- torch parity
def _run(layer, x, g):
    xt = tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(tensor(g))
    return y.numpy(), xt.grad.numpy(), [w.grad.numpy() for w in layer.trainable_weights]


def _check(pairs, tol=1e-10):
    for a, b in pairs:
        np.testing.assert_allclose(a, b.detach().numpy() if hasattr(b, "detach") else b, rtol=tol, atol=tol)


@pytest.mark.parametrize("groups, axis, shape", [(2, -1, (3, 5, 4)), (3, -1, (2, 4, 5, 6)), (6, -1, (2, 3, 6)),
                                                 (1, -1, (2, 3, 4)), (2, 1, (2, 4, 3, 5))])
def test_group_normalization_matches_torch(groups, axis, shape):
    r = np.random.default_rng(0)
    x = r.standard_normal(shape) * 2 + 1
    layer = L.GroupNormalization(groups=groups, axis=axis, epsilon=1e-4, dtype="float64")
    layer(x)
    layer.set_weights([r.standard_normal(w.shape) for w in layer.get_weights()])
    g = r.standard_normal(shape)
    y, gx, (gg, gb) = _run(layer, x, g)
    gamma, beta = (torch.tensor(w, requires_grad=True) for w in layer.get_weights())
    xt = torch.tensor(x, requires_grad=True)
    yt = F.group_norm(xt.movedim(axis, 1), groups, gamma, beta, eps=1e-4).movedim(1, axis)  # torch: channels on 1
    yt.backward(torch.tensor(g))
    _check([(y, yt), (gx, xt.grad), (gg, gamma.grad), (gb, beta.grad)])


@pytest.mark.parametrize("axis, shape", [(-1, (3, 5)), ([1, 2], (2, 3, 4)), (-1, (2, 3, 4))])
def test_rms_normalization_matches_torch(axis, shape):
    r = np.random.default_rng(1)
    x = r.standard_normal(shape)
    layer = L.RMSNormalization(axis=axis, epsilon=1e-5, dtype="float64")
    layer(x)
    layer.set_weights([r.standard_normal(w.shape) for w in layer.get_weights()])
    g = r.standard_normal(shape)
    y, gx, (gs,) = _run(layer, x, g)
    scale = torch.tensor(layer.get_weights()[0], requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yt = F.rms_norm(xt, tuple(scale.shape), scale, eps=1e-5)  # trailing axes: x / sqrt(mean(x^2) + eps) * scale
    yt.backward(torch.tensor(g))
    _check([(y, yt), (gx, xt.grad), (gs, scale.grad)])


def test_rms_normalization_on_a_middle_axis_matches_the_formula():
    r = np.random.default_rng(2)
    x = r.standard_normal((2, 3, 4))
    layer = L.RMSNormalization(axis=1, dtype="float64")
    layer(x)
    layer.set_weights([np.array([0.5, 2.0, -1.0])])
    want = x / np.sqrt((x ** 2).mean(1, keepdims=True) + 1e-6) * np.array([0.5, 2.0, -1.0])[:, None]
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("axis, shape", [(-1, (3, 5)), (1, (2, 3, 4)), ([1, 2], (2, 3, 4))])
def test_unit_normalization_matches_torch(axis, shape):
    r = np.random.default_rng(3)
    x = r.standard_normal(shape)
    x[0] = 0.0  # the zero vector stays zero with a finite gradient (x / max(||x||, 1e-12))
    layer = L.UnitNormalization(axis=axis, dtype="float64")
    g = r.standard_normal(shape)
    y, gx, _ = _run(layer, x, g)
    xt = torch.tensor(x, requires_grad=True)
    dims = tuple(axis) if isinstance(axis, list) else axis
    yt = xt / torch.clamp(torch.linalg.vector_norm(xt, dim=dims, keepdim=True), min=1e-12)
    yt.backward(torch.tensor(g))
    _check([(y, yt)])
    np.testing.assert_allclose(gx[1:], xt.grad.numpy()[1:], rtol=1e-10, atol=1e-10)
    assert np.all(np.isfinite(gx)) and np.all(y[0] == 0)
    norms = np.sqrt((y[1:] ** 2).sum(axis=tuple(np.atleast_1d(axis))))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)


# ----------------------------------------------------------------------------------------- SpectralNormalization
def _power_iteration(w, u, n):
    """The Keras power iteration in NumPy: v = u W^T / ||.||, u = v W / ||.||, sigma = v W u^T."""
    w2 = w.reshape(-1, w.shape[-1])
    for _ in range(n):
        v = u @ w2.T
        v /= max(np.linalg.norm(v), 1e-7)
        u = v @ w2
        u /= max(np.linalg.norm(u), 1e-7)
    return u, w / (v @ w2 @ u.T).item()


@pytest.mark.parametrize("inner, shape, iters", [(lambda: L.Dense(3, dtype="float64"), (4, 5), 1),
                                                 (lambda: L.Conv2D(3, 2, dtype="float64"), (2, 4, 4, 2), 3)])
def test_spectral_normalization_training_step_matches_numpy(inner, shape, iters):
    r = np.random.default_rng(4)
    x = r.standard_normal(shape)
    sn = L.SpectralNormalization(inner(), power_iterations=iters, dtype="float64")
    sn(x)
    kernel, u0 = r.standard_normal(sn.kernel.shape), r.standard_normal((1, sn.kernel.shape[-1]))
    sn.set_weights([kernel, u0, r.standard_normal(sn.layer.bias.shape)])
    inference = sn(x, training=False).numpy()
    np.testing.assert_allclose(inference, sn.layer(x).numpy())  # inference: the wrapped layer, kernel untouched
    np.testing.assert_array_equal(sn.kernel.numpy(), kernel)
    y = sn(x, training=True).numpy()
    u, k = _power_iteration(kernel, u0, iters)
    np.testing.assert_allclose(sn.vector_u.numpy(), u, rtol=1e-12)
    np.testing.assert_allclose(sn.kernel.numpy(), k, rtol=1e-12)
    assert sn.kernel is sn.layer.kernel
    np.testing.assert_allclose(y, sn.layer(x).numpy(), rtol=1e-12)


def test_spectral_normalization_converges_to_unit_spectral_norm():
    r = np.random.default_rng(5)
    sn = L.SpectralNormalization(L.Dense(6), dtype="float64")
    x = r.standard_normal((2, 8))
    sn(x)
    sn.kernel.assign(r.standard_normal((8, 6)) * 3)
    for _ in range(30):
        sn(x, training=True)
    assert abs(np.linalg.svd(sn.kernel.numpy(), compute_uv=False)[0] - 1.0) < 1e-6


def test_spectral_normalization_leaves_a_zero_kernel_alone_and_passes_gradients():
    sn = L.SpectralNormalization(L.Dense(2, kernel_initializer="zeros"))
    x = np.ones((3, 4), "float32")
    sn(x)
    u = sn.vector_u.numpy().copy()
    assert np.all(sn(x, training=True).numpy() == 0)
    np.testing.assert_array_equal(sn.vector_u.numpy(), u)
    # gradients flow to the (normalised) kernel and the bias, not to vector_u
    sn2 = L.SpectralNormalization(L.Dense(2))
    xt = tensor(np.ones((3, 4), "float32"))
    nerve.ops.sum(sn2(xt, training=True)).backward()
    assert sn2.kernel.grad is not None and sn2.layer.bias.grad is not None and sn2.vector_u.grad is None


def test_spectral_normalization_wraps_an_embedding():
    sn = L.SpectralNormalization(L.Embedding(7, 4))
    idx = np.array([[0, 3, 6]])
    sn(idx)
    sn(idx, training=True)
    assert sn.kernel is sn.layer.embeddings
    assert abs(np.linalg.svd(sn.kernel.numpy(), compute_uv=False)[0] - 1.0) < 0.5  # one power-iteration step


# ----------------------------------------------------------------------------------------- AlphaDropout
def test_alpha_dropout_keeps_zero_mean_unit_variance():
    nerve.set_random_seed(0)
    x = np.random.default_rng(6).standard_normal(400000).astype("float32")
    layer = L.AlphaDropout(0.3)
    y = layer(x, training=True).numpy()
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p + (-a * alpha_p * 0.3), atol=1e-6)
    assert abs(dropped.mean() - 0.3) < 0.005
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] - a * alpha_p * 0.3, rtol=1e-5, atol=1e-6)
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference by default


def test_alpha_dropout_seed_noise_shape_and_gradient():
    x = np.random.default_rng(7).standard_normal((4, 5, 6)).astype("float32")
    a, b = L.AlphaDropout(0.4, seed=3), L.AlphaDropout(0.4, seed=3)
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())
    shared = L.AlphaDropout(0.5, noise_shape=(None, 1, 6), seed=1)
    xt = tensor(x, requires_grad=True)
    y = shared(xt, training=True)
    nerve.ops.sum(y).backward()
    g = xt.grad.numpy()  # d y / d x = a * keep: the same draw for every step of a sequence
    assert np.all(g == g[:, :1, :]) and set(np.unique(np.round(g, 5))) <= {0.0, np.round(g.max(), 5)}


def test_alpha_dropout_on_the_fake_device_matches_the_cpu():
    """The mask is drawn on the host from the one Generator and copied over: same numbers on the device."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fakecupy
    x = np.random.default_rng(8).standard_normal((3, 7)).astype("float32")
    outs = []
    with fakecupy.gpu_module() as cp:
        for where in ("cpu", "gpu"):
            nerve.set_random_seed(2)
            with nerve.device(where):
                layer = L.AlphaDropout(0.3)
                data = cp.asarray(x) if where == "gpu" else x
            y = layer(nerve.tensor(data), training=True).data
            outs.append(cp.asnumpy(y) if where == "gpu" else y)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6)


# ----------------------------------------------------------------------------------------- masks
def test_masks_pass_through_the_masking_layers_only():
    x = np.random.default_rng(9).standard_normal((2, 5, 4)).astype("float32")
    x[0, 3:] = 0.0
    masked = L.Masking()(x)
    want = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    for layer in (L.GroupNormalization(groups=2), L.UnitNormalization(), L.AlphaDropout(0.2)):
        y = layer(masked, training=True)
        np.testing.assert_array_equal(np.asarray(y._keras_mask.data if hasattr(y._keras_mask, "data")
                                                 else y._keras_mask), want)
    assert getattr(L.RMSNormalization()(masked), "_keras_mask", None) is None


# ----------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, err, msg", [
    (lambda: L.GroupNormalization(groups=0), ValueError,
     r"GroupNormalization '.*': argument 'groups' expected a positive int \(or -1 for instance normalization\)"),
    (lambda: L.GroupNormalization(axis=[1, 2]), TypeError, "GroupNormalization '.*': argument 'axis' expected an "
                                                           "int, got"),
    (lambda: L.GroupNormalization(epsilon=-1.0), ValueError, "GroupNormalization '.*': argument 'epsilon'"),
    (lambda: L.UnitNormalization(axis="x"), TypeError,
     "UnitNormalization '.*': argument 'axis' expected an int or a list of ints, got 'x'"),
    (lambda: L.RMSNormalization(epsilon="big"), ValueError, "RMSNormalization '.*': argument 'epsilon'"),
    (lambda: L.SpectralNormalization("dense"), ValueError,
     "SpectralNormalization: argument 'layer' expected a Layer instance, got 'dense'"),
    (lambda: L.SpectralNormalization(L.Dense(2), power_iterations=0), ValueError,
     "SpectralNormalization '.*': argument 'power_iterations' expected a positive int, got 0"),
    (lambda: L.AlphaDropout(1.5), ValueError, "AlphaDropout '.*': argument 'rate' expected a float between 0 and 1"),
    (lambda: L.AlphaDropout(1.0), ValueError, "AlphaDropout '.*': argument 'rate' must be below 1"),
])
def test_constructor_errors(make, err, msg):
    with pytest.raises(err, match=msg):
        make()


@pytest.mark.parametrize("make, shape, msg", [
    (lambda: L.GroupNormalization(groups=3), (2, 5, 4), r"GroupNormalization '.*': the 4 channels on axis -1 must "
                                                        r"split into groups=3 groups of equal size"),
    (lambda: L.GroupNormalization(groups=8), (2, 4), "must split into groups=8 groups"),
    (lambda: L.GroupNormalization(axis=0, groups=1), (2, 4), "GroupNormalization '.*': argument 'axis' must not be "
                                                             "the batch axis 0"),
    (lambda: L.RMSNormalization(axis=3), (2, 4), r"RMSNormalization '.*': argument 'axis' 3 is out of range for an "
                                                 r"input of shape \(2, 4\) \(rank 2\)"),
    (lambda: L.UnitNormalization(axis=[1, 1]), (2, 4), "UnitNormalization '.*': argument 'axis' has duplicate axes"),
    (lambda: L.SpectralNormalization(L.Dropout(0.2)), (2, 4), "SpectralNormalization '.*': the wrapped Dropout "
                                                              "'.*' has no attribute 'kernel' nor 'embeddings'"),
    (lambda: L.AlphaDropout(0.2, noise_shape=(None, 3)), (2, 4), r"AlphaDropout '.*': argument 'noise_shape' "
                                                                 r"\(None, 3\) does not broadcast to the input "
                                                                 r"shape \(2, 4\)"),
])
def test_build_and_call_errors(make, shape, msg):
    with pytest.raises(ValueError, match=msg):
        make()(np.ones(shape, "float32"), training=True)


def test_wrong_feature_size_after_build_is_a_clear_error():
    layer = L.GroupNormalization(groups=2)
    layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"GroupNormalization '.*': expected last axis 4, got input of shape \(2, 6\)"):
        layer(np.zeros((2, 6), "float32"))
