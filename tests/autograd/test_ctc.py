"""keras.ops.ctc_loss / ctc_decode (nerve/autograd/ops/ctc.py): the loss and its gradient against torch's
ctc_loss (per-sample lengths, any blank index, edge cases), a float64 gradcheck, the decoders against golden
values from Keras 3.15, a brute-force search over all alignments and a plain greedy reference, device arrays
through the strict CuPy stand-in, and clear errors."""
import itertools
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nerve  # noqa: E402
from nerve.autograd.ops.ctc import ctc_decode, ctc_loss  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(5)


def t_ctc(target, logits, tl, ol, blank):
    """torch's ctc_loss on log_softmax(logits), as Keras 3.15's torch backend calls it."""
    lp = torch.log_softmax(logits, -1).transpose(0, 1)
    return TF.ctc_loss(lp, torch.as_tensor(target), torch.as_tensor(ol), torch.as_tensor(tl), blank=blank,
                       reduction="none")


def case(b=6, t=9, c=5, lab=4, blank=0):
    """Random logits, labels avoiding the blank, and lengths that always fit (2 L_b + 1 <= T_b)."""
    x = R.normal(0, 2, (b, t, c))
    target = R.choice([k for k in range(c) if k != blank], (b, lab))
    tl = R.integers(0, lab + 1, b)
    ol = np.maximum(R.integers(0, t + 1, b), 2 * tl + 1).clip(max=t)
    return target, x, tl, ol


# ----------------------------------------------------------------------------------------------- loss
@pytest.mark.parametrize("blank", [0, 2, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_gradient_match_torch(blank, dtype):
    target, x, tl, ol = case(blank=blank)
    x = x.astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    ref = t_ctc(target, xt, tl, ol, blank)
    xn = nerve.tensor(x, requires_grad=True)
    out = ctc_loss(target, xn, tl, ol, mask_index=blank)
    assert out.shape == (6,) and out.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    g = R.normal(size=6).astype(dtype)
    (ref * torch.tensor(g)).sum().backward()
    (out * g).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), **tol)
    assert not xn.grad.numpy()[np.arange(9)[None, :] >= ol[:, None]].any()  # frames past output_length: 0


def test_edge_cases_match_torch():
    """A label equal to the blank (matched as a label, as torch does), repeated labels, empty targets, no frames,
    labels past target_length ignored (any value)."""
    x = R.normal(0, 2, (5, 6, 4))
    target = np.array([[1, 0, 2], [3, 3, 0], [0, 0, 0], [2, 1, 9], [1, 2, 3]])
    tl, ol = np.array([3, 2, 0, 2, 0]), np.array([6, 5, 4, 6, 0])
    xt = torch.tensor(x, requires_grad=True)
    ref = t_ctc(np.where(target > 3, 0, target), xt, tl, ol, 0)
    xn = nerve.tensor(x, requires_grad=True)
    out = ctc_loss(target, xn, tl, ol)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    assert out.numpy()[4] == 0.0  # nothing to emit in no frames: p = 1
    np.testing.assert_allclose(out.numpy()[2], -torch.log_softmax(xt[2, :4], -1)[:, 0].sum().item(), rtol=1e-12)
    ref.sum().backward()
    out.sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_impossible_alignment_is_inf_with_zero_gradient():
    x = nerve.tensor(R.normal(size=(2, 4, 3)), requires_grad=True)
    target, tl, ol = np.array([[1, 1, 1], [1, 2, 0]]), np.array([3, 2]), np.array([4, 4])  # 1,1,1 needs 5 frames
    out = ctc_loss(target, x, tl, ol)
    ref = t_ctc(target, torch.tensor(x.numpy()), tl, ol, 0)
    assert np.isinf(out.numpy()[0]) and np.isinf(ref[0].item())
    assert out.numpy()[1] == pytest.approx(ref[1].item(), rel=1e-12)
    out[1].backward()
    assert np.isfinite(x.grad.numpy()).all() and not x.grad.numpy()[0].any()
    # exactly enough frames: the one path 1, blank, 1
    assert ctc_loss([[1, 1]], np.zeros((1, 3, 3)), [2], [3]).item() == pytest.approx(3 * np.log(3), rel=1e-6)


def test_gradcheck_float64():
    target, x, tl, ol = case(b=4, t=6, c=4, lab=3, blank=1)
    nerve.gradcheck(lambda out: ctc_loss(target, out, tl, ol, mask_index=1), [x])


def test_dtypes_and_inputs():
    target, x, tl, ol = case()
    ref = ctc_loss(target, x, tl, ol).numpy()
    out16 = ctc_loss(target, x.astype(np.float16), tl, ol)
    assert out16.dtype == np.float32  # float16 computes in float32, as Keras
    np.testing.assert_allclose(out16.numpy(), ref, rtol=2e-2)
    # integer-valued float labels and lengths, list inputs and scalar lengths are accepted
    np.testing.assert_allclose(ctc_loss(target.astype(float), x, tl.astype(float), ol.tolist()).numpy(), ref)
    full = ctc_loss(target, x, 4, 9).numpy()
    np.testing.assert_allclose(full, ctc_loss(target, x, np.full(6, 4), np.full(6, 9)).numpy())


def test_device_arrays_match_the_cpu():
    target, x, tl, ol = case()
    res = []
    with fakecupy.gpu_module() as cp:
        for to in (np.asarray, cp.asarray):
            xn = nerve.tensor(to(x), requires_grad=True)
            out = ctc_loss(to(target), xn, to(tl), to(ol))
            assert type(out.data) is type(xn.data)  # noqa: E721 - stays on the device
            out.sum().backward()
            paths, scores = ctc_decode(xn, to(ol), strategy="beam_search", beam_width=3, top_paths=2)
            assert type(paths.data) is type(xn.data)  # noqa: E721
            res.append([cp.asnumpy(a) if to is not np.asarray else a
                        for a in (out.data, xn.grad.data, paths.data, scores.data)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ----------------------------------------------------------------------------------------------- decode
def gold_logits():
    """Deterministic (2, 7, 4) float32 logits; frame 4 of sample 1 repeats frame 3 (a repeated argmax)."""
    i = np.arange(2 * 7 * 4).reshape(2, 7, 4)
    x = 2.5 * np.sin(0.9 * i + 0.3) + np.cos(2.3 * i)
    x[1, 4] = x[1, 3]
    return x.astype("float32")


# Golden values: keras.ops.ctc_decode(gold_logits(), [7, 5], **kwargs) from Keras 3.15.1 (torch backend).
GOLDEN = [
    (dict(strategy="greedy"), [[[2, 3, 2, 2, -1, -1, -1], [2, 3, 3, -1, -1, -1, -1]]],
     [[-13.174875], [-11.911684]]),
    (dict(strategy="greedy", merge_repeated=False), [[[2, 3, 2, 2, -1, -1, -1], [2, 3, 3, 3, -1, -1, -1]]],
     [[-13.174875], [-11.911684]]),
    (dict(strategy="greedy", mask_index=None), [[[2, 0, 2, 0, 2, 0, -1], [2, 0, -1, -1, -1, -1, -1]]],
     [[-13.174875], [-11.911684]]),
    (dict(strategy="beam_search", beam_width=3, top_paths=2),
     [[[2, 3, 2, 2, -1, -1, -1], [2, 3, 3, -1, -1, -1, -1]], [[2, 3, 3, 2, -1, -1, -1], [1, 3, 3, -1, -1, -1, -1]]],
     [[-3.141345, -3.324978], [-1.105197, -2.528663]]),
    (dict(strategy="beam_search", beam_width=5, top_paths=3, mask_index=2),
     [[[3, 0, 0, 0, -1, -1, -1], [3, 0, 3, -1, -1, -1, -1]], [[3, 0, 3, 0, 0, -1, -1], [1, 3, 0, 3, -1, -1, -1]],
      [[0, 3, 0, 0, 0, -1, -1], [3, 1, 3, -1, -1, -1, -1]]],
     [[-2.732378, -2.898214, -3.499949], [-0.849956, -2.41506, -2.711835]]),
    (dict(strategy="beam_search", beam_width=4, top_paths=1, mask_index=None),
     [[[2, 0, 2, 0, 2, 0, -1], [2, 0, -1, -1, -1, -1, -1]]], [[-2.738433], [-1.074274]]),
]


@pytest.mark.parametrize("kwargs,paths,scores", GOLDEN)
def test_decode_matches_keras(kwargs, paths, scores):
    p, s = ctc_decode(gold_logits(), np.array([7, 5]), **kwargs)
    assert p.dtype == np.int32 and s.dtype == np.float32
    np.testing.assert_array_equal(p.numpy(), paths)
    np.testing.assert_allclose(s.numpy(), scores, rtol=1e-5, atol=1e-5)


def greedy_ref(x, n, merge, blank):
    best = list(x[:n].argmax(-1))
    out = [k for i, k in enumerate(best) if k != blank and not (merge and i and best[i - 1] == k)]
    return out, -x[:n].max(-1).sum()


@pytest.mark.parametrize("merge", [True, False])
def test_greedy_against_a_plain_reference(merge):
    x = R.integers(0, 4, (8, 10, 4)).astype(float)  # many repeated argmaxes
    x += R.uniform(0, 0.1, x.shape)
    lengths = R.integers(0, 11, 8)
    p, s = ctc_decode(x, lengths, merge_repeated=merge, mask_index=1)
    assert p.shape == (1, 8, 10) and s.shape == (8, 1)
    for i in range(8):
        seq, score = greedy_ref(x[i], lengths[i], merge, 1)
        np.testing.assert_array_equal(p.numpy()[0, i], seq + [-1] * (10 - len(seq)))
        assert s.numpy()[i, 0] == pytest.approx(score, rel=1e-12)


def brute_force(x, n, blank):
    """Every label sequence's probability: the sum over all C^n alignments that collapse to it (repeats merged,
    then blanks removed)."""
    lp = x[:n] - np.log(np.exp(x[:n]).sum(-1, keepdims=True))
    probs = {}
    for path in itertools.product(range(x.shape[1]), repeat=n):
        seq = tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k))
        probs[seq] = probs.get(seq, 0.0) + np.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return sorted(probs.items(), key=lambda kv: -kv[1])


@pytest.mark.parametrize("c,blank", [(3, 0), (3, 2), (4, 1)])
def test_beam_search_with_a_wide_beam_is_exact(c, blank):
    """With a beam wider than the number of prefixes nothing is pruned: the top paths and their log-probabilities
    are those of the exhaustive search."""
    x = R.normal(0, 1.5, (3, 5, c))
    lengths = np.array([5, 3, 1])
    p, s = ctc_decode(x, lengths, strategy="beam_search", beam_width=200, top_paths=4, mask_index=blank)
    assert p.shape == (4, 3, 5) and s.shape == (3, 4)
    for i, n in enumerate(lengths):
        for k, (seq, prob) in enumerate(brute_force(x[i], n, blank)[:4]):
            np.testing.assert_array_equal(p.numpy()[k, i], list(seq) + [-1] * (5 - len(seq)))
            assert s.numpy()[i, k] == pytest.approx(np.log(prob), rel=1e-10)


def test_narrow_beam_keeps_the_best_prefixes():
    """Top-1 of a beam of width 1 is the best of its own search (one of the exhaustive ranking's sequences),
    and scores come best first."""
    x = R.normal(0, 2, (4, 6, 3))
    p, s = ctc_decode(x, np.full(4, 6), strategy="beam_search", beam_width=2, top_paths=2)
    assert (np.diff(s.numpy(), axis=1) <= 0).all()
    for i in range(4):
        ranking = dict(brute_force(x[i], 6, 0))
        seq = tuple(int(k) for k in p.numpy()[0, i] if k >= 0)
        assert s.numpy()[i, 0] <= np.log(ranking[seq]) + 1e-12  # a lower bound: merged paths are a subset


# ----------------------------------------------------------------------------------------------- errors
X = R.normal(size=(2, 5, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: ctc_loss([[1, 2]], X[0], [2], [5]), ValueError,
     r"ctc_loss: argument 'output' expected logits of shape \(batch_size, max_length, num_classes\), got shape"),
    (lambda: ctc_loss([1, 2], X, [2, 2], [5, 5]), ValueError,
     r"ctc_loss: argument 'target' expected integer labels of shape \(2, max_length\)"),
    (lambda: ctc_loss([[1.5, 2]] * 2, X, [2, 2], [5, 5]), TypeError, "ctc_loss: argument 'target' expected integers"),
    (lambda: ctc_loss([[1, 2]] * 2, X, [2, 3], [5, 5]), ValueError,
     r"ctc_loss: argument 'target_length' expected lengths in \[0, 2\], got lengths in \[2, 3\]"),
    (lambda: ctc_loss([[1, 2]] * 2, X, [2, 2], [5]), ValueError,
     r"ctc_loss: argument 'output_length' expected shape \(2,\) \(one length per sample\), got shape \(1,\)"),
    (lambda: ctc_loss([[1, 2]] * 2, X, [2, 2], [5, 6]), ValueError,
     r"ctc_loss: argument 'output_length' expected lengths in \[0, 5\]"),
    (lambda: ctc_loss([[1, 4]] * 2, X, [2, 2], [5, 5]), ValueError,
     r"ctc_loss: argument 'target' expected labels in \[0, 4\) within target_length, got labels in \[1, 4\]"),
    (lambda: ctc_loss([[1, 2]] * 2, X, [2, 2], [5, 5], mask_index=4), ValueError,
     r"ctc_loss: argument 'mask_index' expected an int in \[0, 4\) \(num_classes = 4\), got 4"),
    (lambda: ctc_decode(X, [5, 5], strategy="beam"), ValueError,
     "ctc_decode: argument 'strategy' expected 'greedy' or 'beam_search', got 'beam'"),
    (lambda: ctc_decode(X, [5, 5], strategy="beam_search", beam_width=0), ValueError,
     r"ctc_decode: argument 'beam_width' expected an int >= 1, got 0"),
    (lambda: ctc_decode(X, [5, 5], strategy="beam_search", beam_width=2, top_paths=3), ValueError,
     r"ctc_decode: argument 'top_paths' expected an int in \[1, 2\], got 3"),
    (lambda: ctc_decode(X, [5, 9]), ValueError,
     r"ctc_decode: argument 'sequence_lengths' expected lengths in \[0, 5\]"),
    (lambda: ctc_decode(X, [5, 5], mask_index=-1), ValueError, "ctc_decode: argument 'mask_index' expected an int"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
