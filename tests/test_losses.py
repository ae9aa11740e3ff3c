"""Losses: forward and gradient against torch (or the Keras formula written in torch), every reduction and
sample weights, float64 gradchecks, stability at extreme inputs, clear errors, config round trips."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nerve
from nerve import losses
from nerve.saving import registry

EPS = 1e-7
N, D = 6, 4
RS = np.random.default_rng(0)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def onehot(lab, c):
    return np.eye(c)[lab]


# --- data -------------------------------------------------------------------------------------------------
def d_reg():
    return RS.normal(size=(N, D)), RS.normal(size=(N, D))


def d_pos():
    return RS.uniform(0.1, 3, (N, D)), RS.uniform(0.1, 3, (N, D))


def d_prob():
    return softmax(RS.normal(size=(N, D))), softmax(RS.normal(size=(N, D)))


def d_sign():
    return RS.choice([-1.0, 1.0], (N, D)), RS.normal(size=(N, D))


def d_bin01():
    return RS.integers(0, 2, (N, D)).astype(float), RS.normal(size=(N, D))


def d_bce():
    return RS.uniform(0, 1, (N, D)), RS.uniform(0.05, 0.95, (N, D))


def d_logit():
    return RS.uniform(0, 1, (N, D)), RS.normal(0, 3, (N, D))


def d_cce():
    return onehot(RS.integers(0, D, N), D), softmax(RS.normal(size=(N, D)))


def d_cce_logit():
    return onehot(RS.integers(0, D, N), D), RS.normal(0, 3, (N, D))


def d_sparse():
    return RS.integers(0, D, N), softmax(RS.normal(size=(N, D)))


def d_sparse_logit():
    return RS.integers(0, D, N), RS.normal(0, 3, (N, D))


# --- torch oracles: per-sample losses (the Keras formula where torch has no loss of its own) ---------------
def t_norm(x):
    return x / torch.sqrt(torch.clamp((x * x).sum(-1, keepdim=True), min=EPS ** 2))


def t_hinge_labels(t):
    return 2 * t - 1 if bool(((t == 0) | (t == 1)).all()) else t


def t_cce_probs(t, p, ls=0.0):
    t = t * (1 - ls) + ls / p.shape[-1]
    q = torch.clamp(p / p.sum(-1, keepdim=True), EPS, 1 - EPS)
    return -(t * torch.log(q)).sum(-1)


def t_bfocal(t, p, gamma=2.0, alpha=None):
    """Keras binary focal crossentropy (Lin et al. 2017) written in torch."""
    bce = TF.binary_cross_entropy(torch.clamp(p, EPS, 1 - EPS), t, reduction="none")
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if alpha is not None:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


def t_cfocal(t, p, gamma=2.0, alpha=0.25):
    q = torch.clamp(p / p.sum(-1, keepdim=True), EPS, 1 - EPS)
    return (alpha * (1 - q) ** gamma * (-t * torch.log(q))).sum(-1)


ORACLES = {
    "mse": (losses.MeanSquaredError, {}, d_reg, lambda t, p: TF.mse_loss(p, t, reduction="none").mean(-1)),
    "mae": (losses.MeanAbsoluteError, {}, d_reg, lambda t, p: TF.l1_loss(p, t, reduction="none").mean(-1)),
    "mape": (losses.MeanAbsolutePercentageError, {}, d_reg,
             lambda t, p: 100 * (torch.abs((t - p) / torch.clamp(torch.abs(t), min=EPS))).mean(-1)),
    "msle": (losses.MeanSquaredLogarithmicError, {}, d_pos,
             lambda t, p: ((torch.log(torch.clamp(p, min=EPS) + 1) - torch.log(torch.clamp(t, min=EPS) + 1)) ** 2
                           ).mean(-1)),
    "huber": (losses.Huber, {}, d_reg, lambda t, p: TF.huber_loss(p, t, reduction="none", delta=1.0).mean(-1)),
    "huber_d2": (losses.Huber, {"delta": 0.5}, d_reg,
                 lambda t, p: TF.huber_loss(p, t, reduction="none", delta=0.5).mean(-1)),
    "log_cosh": (losses.LogCosh, {}, d_reg, lambda t, p: torch.log(torch.cosh(p - t)).mean(-1)),
    "kld": (losses.KLDivergence, {}, d_prob,
            lambda t, p: TF.kl_div(torch.log(torch.clamp(p, EPS, 1)), torch.clamp(t, EPS, 1),
                                   reduction="none").sum(-1)),
    "poisson": (losses.Poisson, {}, d_pos,
                lambda t, p: TF.poisson_nll_loss(p, t, log_input=False, full=False, eps=EPS,
                                                 reduction="none").mean(-1)),
    "hinge": (losses.Hinge, {}, d_sign, lambda t, p: torch.clamp(1 - t * p, min=0).mean(-1)),
    "hinge01": (losses.Hinge, {}, d_bin01,
                lambda t, p: torch.clamp(1 - t_hinge_labels(t) * p, min=0).mean(-1)),
    "squared_hinge": (losses.SquaredHinge, {}, d_bin01,
                      lambda t, p: (torch.clamp(1 - t_hinge_labels(t) * p, min=0) ** 2).mean(-1)),
    "categorical_hinge": (losses.CategoricalHinge, {}, d_cce_logit,
                          lambda t, p: torch.clamp(((1 - t) * p).max(-1).values - (t * p).sum(-1) + 1, min=0)),
    "cosine": (losses.CosineSimilarity, {}, d_reg, lambda t, p: -TF.cosine_similarity(t, p, dim=-1, eps=EPS)),
    "bce": (losses.BinaryCrossentropy, {}, d_bce,
            lambda t, p: TF.binary_cross_entropy(torch.clamp(p, EPS, 1 - EPS), t, reduction="none").mean(-1)),
    "bce_ls": (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, d_bce,
               lambda t, p: TF.binary_cross_entropy(p, t * 0.8 + 0.1, reduction="none").mean(-1)),
    "bce_logits": (losses.BinaryCrossentropy, {"from_logits": True}, d_logit,
                   lambda t, p: TF.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1)),
    "bce_logits_ls": (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1}, d_logit,
                      lambda t, p: TF.binary_cross_entropy_with_logits(p, t * 0.9 + 0.05, reduction="none"
                                                                       ).mean(-1)),
    "cce": (losses.CategoricalCrossentropy, {}, d_cce, t_cce_probs),
    "cce_ls": (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, d_cce, lambda t, p: t_cce_probs(t, p, 0.1)),
    "cce_unnormalised": (losses.CategoricalCrossentropy, {}, lambda: (d_cce()[0], RS.uniform(0.1, 2, (N, D))),
                         t_cce_probs),
    "cce_logits": (losses.CategoricalCrossentropy, {"from_logits": True}, d_cce_logit,
                   lambda t, p: TF.cross_entropy(p, t, reduction="none")),
    "cce_logits_ls": (losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1}, d_cce_logit,
                      lambda t, p: TF.cross_entropy(p, t, reduction="none", label_smoothing=0.1)),
    "bfocal": (losses.BinaryFocalCrossentropy, {}, d_bce, lambda t, p: t_bfocal(t, p)),
    "bfocal_logits_balanced": (losses.BinaryFocalCrossentropy,
                               {"from_logits": True, "apply_class_balancing": True, "gamma": 1.5, "alpha": 0.3},
                               d_logit, lambda t, p: t_bfocal(t, torch.sigmoid(p), 1.5, 0.3)),
    "cfocal": (losses.CategoricalFocalCrossentropy, {}, d_cce, lambda t, p: t_cfocal(t, p)),
    "cfocal_logits": (losses.CategoricalFocalCrossentropy, {"from_logits": True, "gamma": 3.0, "alpha": 0.5},
                      d_cce_logit, lambda t, p: t_cfocal(t, torch.softmax(p, -1), 3.0, 0.5)),
    "sparse": (losses.SparseCategoricalCrossentropy, {}, d_sparse,
               lambda t, p: TF.nll_loss(torch.log(torch.clamp(p / p.sum(-1, keepdim=True), EPS, 1 - EPS)), t,
                                        reduction="none")),
    "sparse_logits": (losses.SparseCategoricalCrossentropy, {"from_logits": True}, d_sparse_logit,
                      lambda t, p: TF.cross_entropy(p, t, reduction="none")),
}


def _torch_reduce(v, w, reduction):
    if w is not None:
        v = v * w
    if reduction in ("none", None):
        return v
    if reduction == "sum":
        return v.sum()
    if reduction == "mean_with_sample_weight" and w is not None:
        return v.sum() / w.sum()
    return v.sum() / v.numel()


@pytest.mark.parametrize("key", list(ORACLES))
@pytest.mark.parametrize("reduction,weighted", [("sum_over_batch_size", False), ("sum_over_batch_size", True),
                                                ("sum", True), ("none", True), (None, False), ("mean", True),
                                                ("mean_with_sample_weight", True)])
def test_forward_and_gradient_match_torch(key, reduction, weighted):
    cls, kw, data, oracle = ORACLES[key]
    yt, yp = data()
    sw = RS.uniform(0.2, 2, N) if weighted else None
    loss = cls(reduction=reduction, **kw)
    p = nerve.tensor(yp, requires_grad=True)
    out = loss(yt, p, sample_weight=sw)
    tt = torch.tensor(yt)
    tp = torch.tensor(yp, requires_grad=True)
    ref = _torch_reduce(oracle(tt, tp), None if sw is None else torch.tensor(sw), reduction)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-9)
    cot = RS.normal(size=ref.shape)
    (out * cot).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", list(ORACLES))
def test_gradcheck_float64(key):
    cls, kw, data, _ = ORACLES[key]
    yt, yp = data()
    loss = cls(reduction="none", **kw)
    nerve.gradcheck(lambda p: loss(yt, p), [yp], wrt=[0])


@pytest.mark.parametrize("fn,kw,data", [(losses.binary_crossentropy, {}, d_bce),
                                        (losses.binary_crossentropy, {"from_logits": True}, d_logit),
                                        (losses.categorical_crossentropy, {}, d_cce),
                                        (losses.categorical_crossentropy, {"from_logits": True}, d_cce_logit),
                                        (losses.kl_divergence, {}, d_prob), (losses.mean_squared_error, {}, d_reg)])
def test_gradcheck_wrt_targets(fn, kw, data):
    yt, yp = data()
    yt = RS.uniform(0.1, 0.9, yt.shape)  # soft targets, away from clip boundaries
    nerve.gradcheck(lambda t, p: fn(t, p, **kw), [yt, yp])


def test_function_forms_and_default_float32():
    yt, yp = d_reg()
    out = losses.mean_squared_error(yt, yp)
    assert out.shape == (N,) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ((yt - yp) ** 2).mean(-1), rtol=1e-5)
    assert losses.MeanSquaredError()(yt, yp).dtype == np.float32
    assert losses.MeanSquaredError(dtype="float64")(yt, yp).dtype == np.float64
    # y_true (N,) against y_pred (N, 1): Keras expands the labels, one loss per sample
    v = losses.binary_crossentropy(np.array([0.0, 1.0, 1.0]), np.array([[0.2], [0.7], [0.9]]))
    assert v.shape == (3,)
    # sample_weight of shape (N, 1) is squeezed to match (N,)
    a = losses.MeanSquaredError()(yt, yp, sample_weight=np.ones((N, 1)) * 2)
    np.testing.assert_allclose(a.numpy(), 2 * ((yt - yp) ** 2).mean(), rtol=1e-5)


def test_sparse_label_forms_and_ignore_class():
    lab = RS.integers(0, D, N)
    logits = RS.normal(size=(N, D))
    ref = TF.cross_entropy(torch.tensor(logits), torch.tensor(lab)).item()
    f = losses.SparseCategoricalCrossentropy(from_logits=True)
    for y in (lab, lab.reshape(N, 1), lab.astype(np.float32)):
        np.testing.assert_allclose(f(y, logits).item(), ref, rtol=1e-5)
    lab2 = lab.copy()
    lab2[[1, 4]] = -1
    g = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    p = nerve.tensor(logits, requires_grad=True)
    out = g(lab2, p)
    tp = torch.tensor(logits, requires_grad=True)
    tref = TF.cross_entropy(tp, torch.tensor(lab2), ignore_index=-1)
    np.testing.assert_allclose(out.item(), tref.item(), rtol=1e-5)
    out.backward()
    tref.backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-9)
    assert not p.grad.numpy()[[1, 4]].any()


def test_extreme_logits_are_finite_and_exact():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    z = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    p = nerve.tensor(x, requires_grad=True)
    out = losses.BinaryCrossentropy(from_logits=True)(z, p)
    tp = torch.tensor(x, requires_grad=True)
    ref = TF.binary_cross_entropy_with_logits(tp, torch.tensor(z))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)
    out.backward()
    ref.backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-12)
    for y, cls in ((z / z.sum(-1, keepdims=True), losses.CategoricalCrossentropy),
                   (np.array([1, 0]), losses.SparseCategoricalCrossentropy)):
        for dt in (np.float32, np.float64):
            p = nerve.tensor(x.astype(dt), requires_grad=True)
            out = cls(from_logits=True)(y, p)
            out.backward()
            assert np.isfinite(out.numpy()) and np.isfinite(p.grad.numpy()).all()
            tref = TF.cross_entropy(torch.tensor(x), torch.tensor(y))
            np.testing.assert_allclose(out.item(), tref.item(), rtol=1e-5)


def test_exact_zero_one_probabilities_are_finite():
    pr = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    z = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    for loss, y in ((losses.BinaryCrossentropy(), z), (losses.CategoricalCrossentropy(), z),
                    (losses.SparseCategoricalCrossentropy(), np.array([0, 0])), (losses.KLDivergence(), z),
                    (losses.Poisson(), z), (losses.MeanSquaredLogarithmicError(), z)):
        p = nerve.tensor(pr, requires_grad=True)
        out = loss(y, p)
        out.backward()
        assert np.isfinite(out.numpy()) and np.isfinite(p.grad.numpy()).all(), loss.name
    # the clipped value: a confident wrong answer costs -log(eps) per element, as Keras
    v = losses.binary_crossentropy(np.array([1.0]), np.array([0.0]), axis=-1)
    np.testing.assert_allclose(v.item(), -np.log(1e-7), rtol=1e-4)
    v = losses.binary_crossentropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    assert v.item() < 1e-6


def test_clear_errors():
    p = RS.normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*'y_true'.*\[0, 3\).*\[0, 7\]"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 1, 2, 7, 1]), p)
    with pytest.raises(ValueError, match=r"\[-2, 2\]"):
        losses.sparse_categorical_crossentropy(np.array([0, 1, 2, -2, 1]), p)
    with pytest.raises(ValueError, match="one-hot.*categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy()(onehot(np.array([0, 1, 2, 0, 1]), 3), p)
    for lab in (np.array([0, 1, 2, 0, 1]), np.array([[0], [1], [2], [0], [1]])):
        with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
            losses.CategoricalCrossentropy()(lab, p)
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(5, 4\).*\(5, 3\)"):
        losses.MeanSquaredError()(RS.normal(size=(5, 4)), p)
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\(5, 2\).*\(5, 3\)"):
        losses.binary_crossentropy(np.zeros((5, 2)), p)
    with pytest.raises(ValueError, match="non-integer"):
        losses.sparse_categorical_crossentropy(np.array([0, 1.5, 2, 0, 1]), p)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanSquaredError()(p, p, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="did you mean 'binary_crossentropy'"):
        losses.get("binary_crossentropyy")
    with pytest.raises(TypeError, match="unexpected argument"):
        losses.Huber(delt=2.0)


def test_get_and_aliases():
    for name, fn in (("mse", losses.mean_squared_error), ("mae", losses.mean_absolute_error),
                     ("mape", losses.mean_absolute_percentage_error), ("msle", losses.mean_squared_logarithmic_error),
                     ("kld", losses.kl_divergence), ("kl_divergence", losses.kl_divergence),
                     ("logcosh", losses.log_cosh), ("log_cosh", losses.log_cosh), ("huber", losses.huber),
                     ("poisson", losses.poisson), ("hinge", losses.hinge), ("squared_hinge", losses.squared_hinge),
                     ("categorical_hinge", losses.categorical_hinge), ("cosine_similarity", losses.cosine_similarity),
                     ("binary_crossentropy", losses.binary_crossentropy),
                     ("categorical_crossentropy", losses.categorical_crossentropy),
                     ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy),
                     ("mean_squared_error", losses.mean_squared_error),
                     ("binary_focal_crossentropy", losses.binary_focal_crossentropy),
                     ("categorical_focal_crossentropy", losses.categorical_focal_crossentropy)):
        assert losses.get(name) is fn
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    h = losses.Huber(0.3)
    assert losses.get(h) is h and losses.get(None) is None
    assert isinstance(losses.get({"class_name": "Huber", "config": {"delta": 0.3}}), losses.Huber)


ALL_CLASSES = [(losses.MeanSquaredError, {}), (losses.MeanAbsoluteError, {}),
               (losses.MeanAbsolutePercentageError, {}), (losses.MeanSquaredLogarithmicError, {}),
               (losses.Huber, {"delta": 0.7}), (losses.LogCosh, {}), (losses.KLDivergence, {}), (losses.Poisson, {}),
               (losses.Hinge, {}), (losses.SquaredHinge, {}), (losses.CategoricalHinge, {}),
               (losses.CosineSimilarity, {"axis": 1}),
               (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1, "axis": -1}),
               (losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.2}),
               (losses.SparseCategoricalCrossentropy, {"from_logits": True, "ignore_class": 3}),
               (losses.BinaryFocalCrossentropy, {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.0,
                                                 "from_logits": True, "label_smoothing": 0.1, "axis": -1}),
               (losses.CategoricalFocalCrossentropy, {"alpha": 0.5, "gamma": 3.0, "from_logits": True,
                                                      "label_smoothing": 0.1, "axis": -1})]


@pytest.mark.parametrize("cls,kw", ALL_CLASSES)
def test_config_round_trip(cls, kw):
    import json
    obj = cls(reduction="sum", name="my_loss", **kw)
    cfg = obj.get_config()
    assert cfg["reduction"] == "sum" and cfg["name"] == "my_loss"
    for k, v in kw.items():
        assert cfg[k] == v
    assert cls.from_config(cfg).get_config() == cfg
    ser = json.loads(json.dumps(registry.serialize(obj)))
    back = registry.deserialize(ser, kind="losses")
    assert type(back) is cls and back.get_config() == cfg
    assert type(losses.deserialize(losses.serialize(obj))) is cls
    assert cls().name == cls().get_config()["name"]


def test_function_and_wrapper_serialization():
    ser = registry.serialize(losses.mean_squared_error)
    assert registry.deserialize(ser, kind="losses") is losses.mean_squared_error
    assert registry.deserialize("mse", kind="losses") is losses.mean_squared_error
    w = losses.LossFunctionWrapper(losses.huber, delta=0.5, name="h")
    cfg = registry.serialize(w)
    back = registry.deserialize(cfg, kind="losses")
    yt, yp = d_reg()
    np.testing.assert_allclose(back(yt, yp).numpy(), losses.Huber(0.5)(yt, yp).numpy())


def test_custom_loss_subclass():
    class Quartic(losses.Loss):
        def call(self, y_true, y_pred):
            return nerve.ops.mean(nerve.ops.power(nerve.ops.subtract(y_pred, y_true), 4), axis=-1)

    yt, yp = d_reg()
    q = Quartic()
    assert q.name == "quartic"
    np.testing.assert_allclose(q(yt, yp).item(), ((yp - yt) ** 4).mean(), rtol=1e-5)


def test_no_graph_under_no_grad():
    yt, yp = d_cce_logit()
    p = nerve.tensor(yp, requires_grad=True)
    with nerve.no_grad():
        out = losses.CategoricalCrossentropy(from_logits=True)(yt, p)
    assert not out.requires_grad


def test_keras_positional_order_and_signature():
    import inspect
    assert losses.MeanSquaredError("sum").reduction == "sum"
    h = losses.Huber(2.0, "none", "h")
    assert h.get_config() == {"name": "h", "reduction": "none", "delta": 2.0}
    b = losses.BinaryCrossentropy(True, 0.1)
    assert b.get_config()["from_logits"] is True and b.get_config()["label_smoothing"] == 0.1
    params = list(inspect.signature(losses.SparseCategoricalCrossentropy).parameters)
    assert params == ["from_logits", "ignore_class", "reduction", "name", "dtype"]


def test_mask_on_y_pred_is_a_weight():
    yt, yp = RS.normal(size=(3, 5, 2)), RS.normal(size=(3, 5, 2))
    mask = RS.uniform(size=(3, 5)) > 0.4
    p = nerve.tensor(yp)
    p._keras_mask = mask
    per = ((yt - yp) ** 2).mean(-1)
    out = losses.MeanSquaredError()(yt, p)
    np.testing.assert_allclose(out.item(), per[mask].sum() / (mask.sum() + 1e-7), rtol=1e-6)
    out = losses.MeanSquaredError(reduction="sum")(yt, p)
    np.testing.assert_allclose(out.item(), per[mask].sum(), rtol=1e-6)


def test_focal_label_error():
    with pytest.raises(ValueError, match="categorical_focal_crossentropy.*sparse_categorical_crossentropy"):
        losses.categorical_focal_crossentropy(np.array([0, 1]), RS.uniform(size=(2, 3)))


@pytest.mark.parametrize("loss,kind", [(losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
                                       (losses.CategoricalCrossentropy(), "probs"),
                                       (losses.BinaryCrossentropy(from_logits=True), "binary"),
                                       (losses.CategoricalHinge(), "onehot_logits")])
def test_tiny_training_learns(loss, kind):
    """Softmax / logistic regression on three separable blobs by plain gradient descent."""
    rs = np.random.default_rng(5)
    centers = np.array([[3.0, 0.0], [-3.0, 2.0], [0.0, -3.0]])
    lab = rs.integers(0, 3, 150)
    x = centers[lab] + rs.normal(size=(150, 2))
    w = nerve.tensor(np.zeros((2, 3)), requires_grad=True)
    b = nerve.tensor(np.zeros(3), requires_grad=True)
    y = {"sparse": lab, "binary": onehot(lab, 3)}.get(kind, onehot(lab, 3))
    first = None
    for _ in range(60):
        z = x @ w + b
        out = loss(y, nerve.ops.softmax(z) if kind == "probs" else z)
        first = out.item() if first is None else first
        w.grad = b.grad = None
        out.backward()
        for t in (w, b):
            t.data -= 0.5 * t.grad.data
    acc = ((x @ w.data + b.data).argmax(-1) == lab).mean()
    assert out.item() < 0.5 * first and acc > 0.95


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 6)])
@pytest.mark.parametrize("jit_on", [True, False])
def test_sparse_ce_fused_mean_equals_per_sample_then_mean(shape, jit_on):
    """SparseCategoricalCrossentropy(from_logits=True) computes the per-sample losses and their mean in one
    node; values and gradients equal the unfused path (per-sample function, then ops.mean)."""
    from nerve.autograd.ops import jit
    old = jit.set_enabled(jit_on)
    try:
        r = np.random.default_rng(5)
        x = r.standard_normal(shape).astype("float32")
        y = r.integers(0, shape[-1], shape[:-1])
        a, b = nerve.tensor(x, requires_grad=True), nerve.tensor(x, requires_grad=True)
        fused = losses.SparseCategoricalCrossentropy(from_logits=True)(y, a)
        plain = nerve.ops.mean(losses.sparse_categorical_crossentropy(y, b, from_logits=True))
        fused.backward()
        plain.backward()
        assert fused._ctx is not None and type(fused._ctx).__name__ == "SoftmaxCrossEntropy"  # one node
        np.testing.assert_array_equal(fused.numpy(), plain.numpy())
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
        # weights, masks, ignore_class and probabilities keep the general path
        w = losses.SparseCategoricalCrossentropy(from_logits=True)(y, nerve.tensor(x), sample_weight=np.ones(shape[:-1]))
        np.testing.assert_allclose(w.numpy(), plain.numpy(), rtol=1e-6)
    finally:
        jit.set_enabled(old)
