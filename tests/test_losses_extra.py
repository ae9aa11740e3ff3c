"""Dice, Tversky, CategoricalGeneralizedCrossEntropy, Circle and CTC: values and gradients against torch (its
ctc_loss, else the Keras 3.15 formula written in torch), Keras 3.15 golden values, every reduction with sample
weights, float64 gradchecks, device arrays, clear errors, names and config round trips."""
import inspect
import json
import os
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nerve
from nerve import losses
from nerve.saving import registry

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecupy  # noqa: E402

EPS = 1e-7
RS = np.random.default_rng(3)


def unit_rows(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# --- torch oracles: the Keras 3.15 formulas -------------------------------------------------------------------
def t_dice(t, p, axis=None):
    dims = tuple(range(t.ndim)) if axis is None else axis
    return 1 - 2 * (t * p).sum(dims) / (t.sum(dims) + p.sum(dims) + EPS)


def t_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    dims = tuple(range(t.ndim)) if axis is None else axis
    tp = (t * p).sum(dims)
    return 1 - tp / (tp + alpha * (t * (1 - p)).sum(dims) + beta * ((1 - t) * p).sum(dims) + EPS)


def t_gce(lab, p, q):
    return (1 - p.gather(1, lab[:, None])[:, 0] ** q) / q


def t_circle(lab, x, gamma=80.0, margin=0.4, remove_diagonal=True):
    """Sun et al. 2020 as Keras 3.15 computes it, with -inf for the pairs left out."""
    d = torch.clamp(1 - x @ x.T, min=0)
    pos = lab[:, None] == lab[None, :]
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~torch.eye(len(lab), dtype=torch.bool)
    s_p = -gamma * torch.clamp(margin + d, min=0) * (margin - d)
    s_n = gamma * torch.clamp(1 + margin - d, min=0) * (1 - margin - d)
    lp = torch.logsumexp(torch.where(pos, s_p, torch.tensor(-torch.inf, dtype=x.dtype)), 1)
    ln = torch.logsumexp(torch.where(neg, s_n, torch.tensor(-torch.inf, dtype=x.dtype)), 1)
    return TF.softplus(lp + ln)


def t_ctc(labels, logits):
    """torch's CTC (what Keras 3.15's torch backend calls): blank 0, every row uses all time steps."""
    lab = torch.as_tensor(labels)
    lengths = (lab != 0).sum(1)
    lp = torch.log_softmax(logits, -1).transpose(0, 1)
    return TF.ctc_loss(lp, lab, torch.full((lab.shape[0],), logits.shape[1]), lengths, blank=0, reduction="none")


# --- data -------------------------------------------------------------------------------------------------------
def d_seg():
    return (RS.uniform(size=(4, 5, 6, 1)) < 0.4).astype(float), RS.uniform(0.01, 0.99, (4, 5, 6, 1))


def d_gce():
    return RS.integers(0, 5, 8), RS.dirichlet(np.ones(5), 8)


def d_circle():
    return np.array([0, 1, 2, 0, 1, 2, 0, 1, 3, 2]), unit_rows(RS.normal(size=(10, 6)))


def d_ctc():
    labels = np.array([[1, 2, 2, 3, 0], [4, 4, 4, 0, 0], [0, 0, 0, 0, 0], [5, 1, 5, 1, 5], [3, 0, 0, 0, 0]])
    return labels, RS.normal(0, 2, (5, 12, 6))


# key: (class, kwargs, data, oracle(y_true as a torch tensor, y_pred torch tensor) -> per-sample losses or a scalar)
ORACLES = {
    "dice_all": (losses.Dice, {}, d_seg, lambda t, p: t_dice(t, p)),
    "dice_per_image": (losses.Dice, {"axis": (1, 2, 3)}, d_seg, lambda t, p: t_dice(t, p, (1, 2, 3))),
    "dice_last_axis": (losses.Dice, {"axis": -1}, lambda: tuple(a[..., 0] for a in d_seg()),
                       lambda t, p: t_dice(t, p, -1)),
    "tversky_all": (losses.Tversky, {"alpha": 0.3, "beta": 0.7}, d_seg, lambda t, p: t_tversky(t, p, 0.3, 0.7)),
    "tversky_per_image": (losses.Tversky, {"alpha": 0.8, "beta": 0.1, "axis": (1, 2, 3)}, d_seg,
                          lambda t, p: t_tversky(t, p, 0.8, 0.1, (1, 2, 3))),
    "gce": (losses.CategoricalGeneralizedCrossEntropy, {}, d_gce, lambda t, p: t_gce(t, p, 0.5)),
    "gce_q02": (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.2}, d_gce, lambda t, p: t_gce(t, p, 0.2)),
    "circle": (losses.Circle, {}, d_circle, lambda t, p: t_circle(t, p)),
    "circle_g8": (losses.Circle, {"gamma": 8.0, "margin": 0.25, "remove_diagonal": False}, d_circle,
                  lambda t, p: t_circle(t, p, 8.0, 0.25, False)),
    "ctc": (losses.CTC, {}, d_ctc, t_ctc),
}


def _torch_reduce(v, w, reduction, mask=None):
    """Keras' reduce_weighted_values: the mask joins the weights (for a mean: over the valid entries only), the
    weights multiply the losses, then the reduction."""
    if mask is not None:
        if reduction in ("sum_over_batch_size", "mean"):
            mask = mask * (mask.numel() / (mask.sum() + EPS))
        w = mask if w is None else w * mask
    if w is not None:
        v = v * w
    if reduction in ("none", None) or v.ndim == 0:
        return v
    if reduction == "sum":
        return v.sum()
    if reduction == "mean_with_sample_weight" and w is not None:
        return v.sum() / w.sum()
    return v.sum() / v.numel()


@pytest.mark.parametrize("key", list(ORACLES))
@pytest.mark.parametrize("reduction,weighted", [("sum_over_batch_size", False), ("sum_over_batch_size", True),
                                                ("sum", True), ("none", True), (None, False),
                                                ("mean_with_sample_weight", True)])
def test_forward_and_gradient_match_torch(key, reduction, weighted):
    cls, kw, data, oracle = ORACLES[key]
    yt, yp = data()
    tp = torch.tensor(yp, requires_grad=True)
    per = oracle(torch.tensor(yt), tp)
    sw = RS.uniform(0.2, 2, per.shape if per.ndim else yp.shape[0]) if weighted else None  # per loss, or per sample
    p = nerve.tensor(yp, requires_grad=True)
    out = cls(reduction=reduction, **kw)(yt, p, sample_weight=sw)
    mask = (per > 0).double() if key.startswith("circle") else None  # Circle masks its zero losses, as Keras
    ref = _torch_reduce(per, None if sw is None else torch.tensor(sw), reduction, mask)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-7, atol=1e-10)
    cot = RS.normal(size=ref.shape)
    (out * cot).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", list(ORACLES))
def test_gradcheck_float64(key):
    cls, kw, data, _ = ORACLES[key]
    yt, yp = data()
    loss = cls(reduction="none", **kw)
    if key.startswith("circle"):
        yp = 0.9 * yp  # |x| < 1: the self-distance max(1 - x.x, 0) stays away from its kink at 0
    nerve.gradcheck(lambda p: loss(yt, p), [yp], wrt=[0])


def test_keras_golden_values():
    """Values printed by Keras 3.15 (torch backend, floatx float64 unless noted) on these inputs."""
    y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    np.testing.assert_allclose(losses.Dice(axis=(1, 2, 3), reduction=None)(y_true, y_pred).numpy(),
                               [0.5, 0.75757575], rtol=1e-6)  # the docstring's values
    assert losses.Dice()(y_true, y_pred).item() == pytest.approx(0.6164384, rel=1e-6)
    yt = (np.sin(np.arange(24)) > 0).astype(float).reshape(2, 3, 4)
    yp = ((np.cos(np.arange(24)) + 1) / 2).reshape(2, 3, 4)
    np.testing.assert_allclose(losses.Tversky(0.3, 0.7, axis=(1, 2), reduction=None, dtype="float64")(yt, yp).numpy(),
                               [0.587440656459393, 0.40106895539313425], rtol=1e-12)
    assert losses.Tversky(0.3, 0.7, dtype="float64")(yt, yp).item() == pytest.approx(0.4934674198772342, rel=1e-12)
    y_true, y_pred = np.array([0, 1, 0, 1]), np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
    assert losses.CategoricalGeneralizedCrossEntropy()(y_true, y_pred).item() == pytest.approx(0.35985973, rel=1e-6)
    np.testing.assert_allclose(losses.categorical_generalized_cross_entropy(y_true, nerve.tensor(y_pred), q=0.3)
                               .numpy(), [0.338255194031201, 0.2158385072579287, 0.47360933185301696,
                                          0.47360933185301696], rtol=1e-12)
    emb = unit_rows(np.sin(np.arange(48).reshape(8, 6) * 0.7 + 0.3))
    lab = np.array([0, 1, 2, 0, 1, 2, 0, 3])  # class 3 has no positive pair: loss 0, masked
    got = losses.Circle(reduction=None, dtype="float64")(lab, emb).numpy()
    np.testing.assert_allclose(got, [1.7442807802581228e-05, 54.171443939208984, 8.3487411757232621e-06,
                                     1.6690748452674598e-05, 54.342815399169922, 8.7267126218648627e-06,
                                     1.6592004612903111e-05, 0.0], rtol=2e-6)  # Keras ran parts in float32 here
    assert losses.Circle(dtype="float64")(lab, emb).item() == pytest.approx(15.502048, rel=1e-6)
    np.testing.assert_allclose(
        losses.Circle(gamma=8.0, margin=0.25, remove_diagonal=False, reduction=None, dtype="float64")(lab, emb).numpy(),
        [2.3123528957366943, 7.673581123352051, 2.1136474609375, 2.312335729598999, 7.6906633377075195,
         2.1136474609375, 2.3123528957366943, 7.680759429931641], rtol=1e-6)


def test_tversky_terms_follow_keras():
    """Keras 3.15 weights sum(t (1 - p)) (missed positives) by alpha and sum((1 - t) p) by beta."""
    t, p = np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 1.0, 1.0]])  # tp 1, missed 1, false alarms 2
    assert losses.tversky(t, p, alpha=1.0, beta=0.0, axis=-1).item() == pytest.approx(1 - 1 / 2, rel=1e-6)
    assert losses.tversky(t, p, alpha=0.0, beta=1.0, axis=-1).item() == pytest.approx(1 - 1 / 3, rel=1e-6)
    np.testing.assert_allclose(losses.tversky(t, p, axis=-1).numpy(), losses.dice(t, p, axis=-1).numpy(), rtol=1e-6)


def test_circle_reference_embeddings_and_mask():
    lab, emb = d_circle()
    ref_lab, ref = RS.integers(0, 3, 7), unit_rows(RS.normal(size=(7, 6)))
    p = nerve.tensor(emb, requires_grad=True)
    out = losses.circle(lab, p, ref_labels=ref_lab, ref_embeddings=ref, gamma=6.0, margin=0.3,
                        remove_diagonal=False)
    d = np.maximum(1 - emb @ ref.T, 0)
    pos = lab[:, None] == ref_lab[None, :]
    s_p = np.where(pos, -6.0 * np.maximum(d + 0.3, 0) * (0.3 - d), -np.inf)
    s_n = np.where(~pos, 6.0 * np.maximum(1.3 - d, 0) * (0.7 - d), -np.inf)

    def lse(a):
        m = a.max(1)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # a row with no pair: log 0 = -inf, as logsumexp of nothing
            return np.log(np.exp(a - m[:, None]).sum(1)) + m

    np.testing.assert_allclose(out.numpy(), np.logaddexp(0, lse(s_p) + lse(s_n)), rtol=1e-6)
    assert out.numpy()[lab == 3].max() == 0.0 and not out._keras_mask[lab == 3].any()  # no positive reference
    out.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()
    # the mean over the batch counts only the rows with a loss (Keras' mask)
    v = losses.Circle(reduction=None)(lab, emb).numpy()
    assert losses.Circle()(lab, emb).item() == pytest.approx(v.sum() / ((v > 0).sum() + EPS), rel=1e-6)
    # labels as (N, 1)
    np.testing.assert_allclose(losses.circle(lab[:, None], emb).numpy(), losses.circle(lab, emb).numpy())


def test_ctc_against_torch_edge_cases():
    labels, logits = d_ctc()
    x = nerve.tensor(logits, requires_grad=True)
    out = losses.ctc(labels, x)
    ref = t_ctc(labels, torch.tensor(logits))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    np.testing.assert_allclose(out.numpy()[2], -TF.log_softmax(torch.tensor(logits[2]), -1)[:, 0].sum().item(),
                               rtol=1e-12)  # no labels: every step is a blank
    assert out.dtype == np.float64 and losses.ctc(labels, logits.astype("float32")).dtype == np.float32
    # an alignment that cannot fit: loss inf (as torch and Keras), gradient 0 for that sample
    lab2 = np.array([[1, 1, 1, 0], [1, 2, 0, 0]])
    z = nerve.tensor(RS.normal(size=(2, 4, 3)), requires_grad=True)  # 1,1,1 needs 5 steps
    v = losses.ctc(lab2, z)
    tv = t_ctc(lab2, torch.tensor(z.numpy()))
    assert np.isinf(v.numpy()[0]) and np.isinf(tv[0].item())
    assert v.numpy()[1] == pytest.approx(tv[1].item(), rel=1e-12)
    v[1].backward()
    assert np.isfinite(z.grad.numpy()).all() and not z.grad.numpy()[0].any()
    # exactly enough steps: the only path
    one = np.zeros((1, 3, 3))
    assert losses.ctc(np.array([[1, 1]]), one).item() == pytest.approx(-3 * np.log(1 / 3), rel=1e-6)


def test_device_arrays_match_the_cpu():
    """Values and gradients on CuPy arrays (the real one on a GPU, else the strict stand-in) equal the CPU's."""
    with fakecupy.gpu_module() as cp:
        for key, (cls, kw, data, _) in ORACLES.items():
            yt, yp = data()
            shape = cls(reduction=None, **kw)(yt, yp).shape
            sw = RS.uniform(0.5, 1.5, shape or yp.shape[:1])  # per loss (dice over the last axis), or per sample
            res = []
            for to in (np.asarray, cp.asarray):
                p = nerve.tensor(to(yp), requires_grad=True)
                out = cls(**kw)(to(yt), p, sample_weight=to(sw))
                out.backward()
                assert type(p.grad.data) is type(p.data), key  # noqa: E721
                res.append((nerve.ops.convert_to_numpy(out), nerve.ops.convert_to_numpy(p.grad)))
            tol = 2e-4 if fakecupy.real_cupy() is not None else 1e-12
            for a, b in zip(*res):
                np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), rtol=tol, atol=1e-9,
                                           err_msg=key)


def test_get_names_and_serialization():
    for name, fn in (("dice", losses.dice), ("tversky", losses.tversky), ("circle", losses.circle),
                     ("ctc", losses.ctc)):
        assert losses.get(name) is fn
        assert registry.deserialize(registry.serialize(fn), kind="losses") is fn
    for name, cls in (("Dice", losses.Dice), ("Tversky", losses.Tversky), ("Circle", losses.Circle),
                      ("CTC", losses.CTC)):
        assert type(losses.get(name)) is cls
    # not a get() string in Keras 3.15 either, but its objects save and load
    for name in ("categorical_generalized_cross_entropy", "CategoricalGeneralizedCrossEntropy"):
        with pytest.raises(ValueError, match="unknown loss"):
            losses.get(name)
    fn = losses.categorical_generalized_cross_entropy
    assert registry.deserialize(registry.serialize(fn), kind="losses") is fn
    with pytest.raises(ValueError, match="did you mean 'dice'"):
        losses.get("dica")


ALL = [(losses.Dice, {"axis": (1, 2, 3)}), (losses.Dice, {"axis": None}),
       (losses.Tversky, {"alpha": 0.3, "beta": 0.7, "axis": -1}),
       (losses.CategoricalGeneralizedCrossEntropy, {"q": 0.25}),
       (losses.Circle, {"gamma": 64.0, "margin": 0.25, "remove_diagonal": False}), (losses.CTC, {})]


@pytest.mark.parametrize("cls,kw", ALL)
def test_config_round_trip(cls, kw):
    obj = cls(reduction="sum", name="my_loss", **kw)
    cfg = obj.get_config()
    assert cfg == {"name": "my_loss", "reduction": "sum", **kw}  # Keras' keys
    assert cls.from_config(cfg).get_config() == cfg
    back = registry.deserialize(json.loads(json.dumps(registry.serialize(obj))), kind="losses")
    assert type(back) is cls and back.get_config() == cfg  # a JSON list axis comes back as the tuple
    assert type(losses.deserialize(losses.serialize(obj))) is cls
    assert cls().name == cls().get_config()["name"]


def test_keras_positional_order_and_defaults():
    order = {losses.Dice: ["reduction", "name", "axis", "dtype"],
             losses.Tversky: ["alpha", "beta", "reduction", "name", "axis", "dtype"],
             losses.CategoricalGeneralizedCrossEntropy: ["q", "reduction", "name", "dtype"],
             losses.Circle: ["gamma", "margin", "remove_diagonal", "reduction", "name", "dtype"],
             losses.CTC: ["reduction", "name", "dtype"]}
    for cls, params in order.items():
        assert list(inspect.signature(cls).parameters) == params, cls.__name__
    assert losses.Dice("sum", "d", (1, 2)).get_config() == {"name": "d", "reduction": "sum", "axis": (1, 2)}
    c = losses.Circle()
    assert (c.gamma, c.margin, c.remove_diagonal, c.name) == (80.0, 0.4, True, "circle")
    assert losses.CategoricalGeneralizedCrossEntropy().q == 0.5 and losses.Tversky().alpha == 0.5


def test_clear_errors():
    with pytest.raises(ValueError, match=r"dice: arguments 'y_true' and 'y_pred' must have the same shape.*\(4, 3\)"
                                         r".*\(4, 2\)"):
        losses.Dice()(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"CategoricalGeneralizedCrossEntropy: argument 'q' must be a float in the "
                                         r"interval \(0, 1\), got 1.0"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)
    p = RS.dirichlet(np.ones(3), 4)
    with pytest.raises(ValueError, match=r"categorical_generalized_cross_entropy: argument 'y_true' expected class "
                                         r"labels in \[0, 3\), got labels in \[0, 5\]"):
        losses.CategoricalGeneralizedCrossEntropy()(np.array([0, 1, 5, 2]), p)
    with pytest.raises(ValueError, match="looks one-hot"):
        losses.CategoricalGeneralizedCrossEntropy()(np.eye(3)[[0, 1, 2, 0]], p)
    with pytest.raises(ValueError, match=r"circle: argument 'y_true' must hold one integer label per sample, shape "
                                         r"\(4,\)"):
        losses.Circle()(np.zeros(5), unit_rows(RS.normal(size=(4, 3))))
    with pytest.raises(ValueError, match=r"circle: argument 'ref_embeddings' must have shape \(num_refs, 3\)"):
        losses.circle(np.zeros(4), unit_rows(RS.normal(size=(4, 3))), ref_labels=np.zeros(2),
                      ref_embeddings=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"ctc: argument 'y_true' must be integer labels of shape \(batch_size, "
                                         r"max_length\)"):
        losses.CTC()(np.zeros(3), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match=r"ctc: argument 'y_pred' must be logits of shape"):
        losses.ctc(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"ctc: argument 'y_true' expected labels in \[0, 5\)"):
        losses.ctc(np.array([[1, 7]]), np.zeros((1, 4, 5)))
    with pytest.raises(TypeError):
        losses.Dice(alpha=0.3)


def test_training_with_compile_strings():
    """compile(loss='dice') and a Circle loss on a Dense embedding lower their losses with plain fit()."""
    rs = np.random.default_rng(0)
    x = rs.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    model = nerve.Sequential([nerve.Input((4,)), nerve.layers.Dense(1, activation="sigmoid")])
    model.compile(nerve.optimizers.Adam(0.05), loss="dice")
    hist = model.fit(x, y, epochs=20, batch_size=64, verbose=0)
    assert hist.history["loss"][-1] < 0.6 * hist.history["loss"][0]
    lab = rs.integers(0, 3, 96)
    xe = (np.eye(3)[lab] @ rs.normal(size=(3, 5)) + 0.3 * rs.normal(size=(96, 5))).astype("float32")
    emb = nerve.Sequential([nerve.Input((5,)), nerve.layers.Dense(4), nerve.layers.UnitNormalization()])
    emb.compile(nerve.optimizers.Adam(0.02), loss=losses.Circle(gamma=16.0))
    hist = emb.fit(xe, lab, epochs=15, batch_size=96, verbose=0)
    assert hist.history["loss"][-1] < 0.8 * hist.history["loss"][0]
