"""BatchNormalization / LayerNormalization against torch and hand formulas; fused kernels vs composites."""
import numpy as np
import pytest
import torch

import nerve
from nerve import backend, layers as L, ops
from nerve.autograd.ops.norm import AffineNormFn, NormalizeFn


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _set(layer, gamma, beta, mm, mv):
    layer.set_weights([gamma, beta, mm, mv])


# ----------------------------------------------------------------------------- fused kernels
@pytest.mark.parametrize("shape,axes,params_on", [
    ((5, 3), (0,), "kept"), ((2, 3, 3, 4), (0, 1, 2), "kept"), ((3, 4, 2), (0, 2), "kept"),
    ((3, 4, 5), (1, 2), "kept"), ((4, 6), (1,), "reduced"), ((3, 4, 5), (1, 2), "reduced"),
    ((3, 4, 5), (0, 1), "reduced"), ((2, 3, 4), (1,), "reduced")])
def test_normalize_fn_gradcheck_and_matches_composite(shape, axes, params_on):
    """Both fast 2-D layouts (BN: reduced axes lead, params on the rest; LN: params on the trailing reduced
    axes) and the general path, against the composite of ops."""
    x = _rand(*shape)
    if params_on == "kept":
        bshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    else:
        bshape = tuple(n if i in axes else 1 for i, n in enumerate(shape))
    pshape = tuple(n for i, n in enumerate(bshape) if (i in axes) == (params_on == "reduced"))
    g, b = 1 + 0.3 * _rand(*pshape, seed=1), _rand(*pshape, seed=2)
    eps = 1e-3

    def fused(x, g, b):
        return NormalizeFn.apply(x, g, b, axes=axes, bshape=bshape, epsilon=eps)

    def composite(x, g, b):
        mean = ops.mean(x, axis=axes, keepdims=True)
        var = ops.mean(ops.square(ops.subtract(x, mean)), axis=axes, keepdims=True)
        xhat = ops.divide(ops.subtract(x, mean), ops.sqrt(ops.add(var, eps)))
        return ops.add(ops.multiply(xhat, ops.reshape(g, bshape)), ops.reshape(b, bshape))

    nerve.gradcheck(fused, [x, g, b])
    ts = [nerve.tensor(a, requires_grad=True) for a in (x, g, b)]
    us = [nerve.tensor(a, requires_grad=True) for a in (x, g, b)]
    v = _rand(*shape, seed=3)
    yf, yc = fused(*ts), composite(*us)
    np.testing.assert_allclose(yf.numpy(), yc.numpy(), rtol=1e-10, atol=1e-10)
    (yf * v).sum().backward()
    (yc * v).sum().backward()
    for t, u in zip(ts, us):
        np.testing.assert_allclose(t.grad.numpy(), u.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_normalize_fn_without_gamma_beta():
    x = _rand(4, 3)
    nerve.gradcheck(lambda x: NormalizeFn.apply(x, None, None, axes=(0,), bshape=(1, 3), epsilon=1e-3), [x])


def test_affine_norm_fn_gradcheck():
    x, g, b = _rand(4, 2, 3), 1 + _rand(3, seed=1) * 0.2, _rand(3, seed=2)
    mm, mv = _rand(3, seed=3), np.abs(_rand(3, seed=4)) + 0.5

    def f(x, g, b):
        return AffineNormFn.apply(x, g, b, mm, mv, bshape=(1, 1, 3), epsilon=1e-3)
    nerve.gradcheck(f, [x, g, b])
    y = f(nerve.tensor(x), g, b).numpy()
    np.testing.assert_allclose(y, (x - mm) / np.sqrt(mv + 1e-3) * g + b, rtol=1e-12)


# ----------------------------------------------------------------------------- BatchNormalization
def test_batchnorm_training_matches_torch_and_updates_moving_stats():
    x = (_rand(8, 4) * 2 + 1).astype("float32")
    bn = L.BatchNormalization(momentum=0.9, epsilon=1e-3)
    bn.build((8, 4))
    gamma, beta = (1 + 0.5 * _rand(4, seed=1)).astype("float32"), _rand(4, seed=2).astype("float32")
    mm0, mv0 = _rand(4, seed=3).astype("float32"), (np.abs(_rand(4, seed=4)) + 0.5).astype("float32")
    _set(bn, gamma, beta, mm0, mv0)
    xt = torch.tensor(x, requires_grad=True)
    rm, rv = torch.tensor(mm0.copy()), torch.tensor(mv0.copy())
    gt, bt = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-3)
    xn = nerve.tensor(x, requires_grad=True)
    y = bn(xn, training=True)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    # gradients
    v = _rand(8, 4, seed=5).astype("float32")
    (yt * torch.tensor(v)).sum().backward()
    (y * v).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.gamma.grad.numpy(), gt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.beta.grad.numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-5)
    # moving stats: Keras keeps the biased batch variance; torch the unbiased one
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mm0 * 0.9 + mean * 0.1, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), rm.numpy(), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), mv0 * 0.9 + var * 0.1, rtol=1e-5)


def test_batchnorm_inference_matches_torch_and_keeps_stats():
    x = _rand(5, 3).astype("float32")
    bn = L.BatchNormalization()
    bn.build((5, 3))
    w = [(1 + _rand(3, seed=1)).astype("float32"), _rand(3, seed=2).astype("float32"),
         _rand(3, seed=3).astype("float32"), (np.abs(_rand(3, seed=4)) + 0.1).astype("float32")]
    bn.set_weights(w)
    y = bn(x, training=False).numpy()
    yt = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(w[2]), torch.tensor(w[3]), torch.tensor(w[0]),
                                        torch.tensor(w[1]), training=False, eps=1e-3)
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(bn.get_weights(), w):
        np.testing.assert_array_equal(a, b)
    # default training flag comes from backend.config.training
    with backend.training_mode(True):
        bn(x)
    assert not np.array_equal(bn.get_weights()[2], w[2])


def test_batchnorm_4d_channels_last_and_axis1_match_torch():
    x = _rand(3, 4, 5, 2).astype("float32")  # NHWC
    bn = L.BatchNormalization(momentum=0.5)
    y = bn(x, training=True).numpy()
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    rm, rv = torch.zeros(2), torch.ones(2)
    yt = torch.nn.functional.batch_norm(xt, rm, rv, None, None, training=True, momentum=0.5, eps=1e-3)
    np.testing.assert_allclose(y, yt.permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), rm.numpy(), rtol=1e-5, atol=1e-6)
    bn1 = L.BatchNormalization(axis=1, momentum=0.5)  # NCHW
    y1 = bn1(xt.numpy(), training=True).numpy()
    np.testing.assert_allclose(y1, yt.numpy(), rtol=1e-4, atol=1e-5)
    assert bn1.gamma.shape == (2,)


def test_batchnorm_weight_order_names_and_counts():
    bn = L.BatchNormalization()
    bn.build((None, 7))
    assert [w.path for w in bn.weights] == [f"{bn.name}/gamma", f"{bn.name}/beta", f"{bn.name}/moving_mean",
                                            f"{bn.name}/moving_variance"]
    assert bn.count_params() == 28 and len(bn.trainable_weights) == 2
    bn2 = L.BatchNormalization(center=False, scale=False)
    bn2.build((None, 7))
    assert [w.name for w in bn2.weights] == ["moving_mean", "moving_variance"]


def test_batchnorm_frozen_runs_in_inference_mode():
    x = _rand(6, 3).astype("float32") * 3 + 2
    bn = L.BatchNormalization()
    bn(x)
    bn.trainable = False
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    before = bn.get_weights()
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)  # moving stats 0 / 1
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_masked_moments_ignore_padding():
    x = _rand(2, 4, 3).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    bn = L.BatchNormalization(momentum=0.0)
    bn(x, training=True, mask=mask)
    kept = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), kept.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), kept.var(0), rtol=1e-4, atol=1e-6)


def test_batchnorm_validation_messages():
    with pytest.raises(ValueError, match="BatchNormalization 'bn_bad'.*axis"):
        L.BatchNormalization(axis=3, name="bn_bad")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNormalization(momentum=1.5)
    bn = L.BatchNormalization(name="bn_shape")
    bn(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn_shape': expected last axis 3, got input of shape "
                                         r"\(2, 4\)"):
        bn(np.zeros((2, 4), "float32"))


# ----------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("shape,axis", [((4, 6), -1), ((2, 3, 4), [1, 2]), ((2, 3, 4), -1)])
def test_layernorm_matches_torch(shape, axis):
    x = _rand(*shape).astype("float32")
    ln = L.LayerNormalization(axis=axis, epsilon=1e-5)
    ln(x)
    g = (1 + 0.3 * _rand(*ln.gamma.shape, seed=1)).astype("float32")
    b = _rand(*ln.beta.shape, seed=2).astype("float32")
    ln.set_weights([g, b])
    xn = nerve.tensor(x, requires_grad=True)
    y = ln(xn)
    norm_shape = shape[1:] if isinstance(axis, list) else shape[-1:]
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    yt = torch.nn.functional.layer_norm(xt, norm_shape, gt, bt, eps=1e-5)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    v = _rand(*shape, seed=4).astype("float32")
    (y * v).sum().backward()
    (yt * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ln.gamma.grad.numpy(), gt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ln.beta.grad.numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_layernorm_rms_scaling_formula_and_config():
    x = _rand(3, 5).astype("float32")
    ln = L.LayerNormalization(rms_scaling=True)
    y = ln(x).numpy()
    np.testing.assert_allclose(y, x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-3), rtol=1e-5)
    cfg = ln.get_config()
    assert cfg["axis"] == -1 and cfg["epsilon"] == 1e-3 and cfg["rms_scaling"] is True
    assert [w.name for w in ln.weights] == ["gamma"]  # Keras 3: rms_scaling has no beta


def test_batchnorm_renorm_normalises_with_renorm_statistics():
    x = (_rand(16, 3) * 2 + 1).astype("float32")
    bn = L.BatchNormalization(renorm=True, momentum=0.9, renorm_momentum=0.8)
    bn.build((None, 3))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance", "moving_stddev",
                                            "renorm_mean", "renorm_stddev"]
    rm, rs = np.array([0.5, -0.2, 0.1], "float32"), np.array([1.5, 0.7, 2.0], "float32")
    bn.renorm_mean.assign(rm)
    bn.renorm_stddev.assign(rs)
    ms0 = bn.moving_stddev.numpy().copy()
    y = bn(x, training=True).numpy()
    # (xhat r + d) with r = sigma_B / rs, d = (mu_B - rm) / rs  ==  (x - rm) / rs   (gamma 1, beta 0)
    np.testing.assert_allclose(y, (x - rm) / rs, rtol=1e-4, atol=1e-5)
    mu, std = x.mean(0), np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(bn.renorm_mean.numpy(), rm * 0.8 + mu * 0.2, rtol=1e-5)
    np.testing.assert_allclose(bn.renorm_stddev.numpy(), rs * 0.8 + std * 0.2, rtol=1e-5)
    new_std = ms0 * 0.9 + std * 0.1
    np.testing.assert_allclose(bn.moving_variance.numpy(), new_std ** 2 - 1e-3, rtol=1e-5)
    # clipping r = 1 and d = 0 gives plain batch normalisation
    bn2 = L.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.0, "rmin": 1.0, "dmax": 0.0})
    bn2.build((None, 3))
    bn2.renorm_stddev.assign(rs)
    plain = L.BatchNormalization()
    np.testing.assert_allclose(bn2(x, training=True).numpy(), plain(x, training=True).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="renorm_clipping"):
        L.BatchNormalization(renorm=True, renorm_clipping={"rmaxx": 1.0})


def test_batchnorm_mask_rank_checked():
    with pytest.raises(ValueError, match="BatchNormalization .*mask must have one axis less"):
        L.BatchNormalization()(np.zeros((2, 3), "float32"), training=True, mask=np.ones((2, 3), bool))
