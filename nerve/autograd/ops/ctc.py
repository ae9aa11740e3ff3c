"""Connectionist temporal classification (Graves et al. 2006) as Keras 3.15's ``keras.ops.ctc_loss`` and
``keras.ops.ctc_decode``.

- ``ctc_loss``: -log p(target | output) per sample, by the forward-backward recursion in log space, with
  per-sample label and frame counts; the gradient w.r.t. the logits is written by hand (Graves 2006, eq. 16).
  It runs on the host in float64 (a loop over time steps; the result goes back to the input's device and dtype).
- ``ctc_decode``: greedy (best path) decoding, and the prefix beam search of Keras' JAX backend, step for step
  (the same pruning and tie-breaking), so the decoded paths and their log-probabilities are Keras'.
Neither decoder is differentiable.
"""
import numpy as np

from ... import backend
from ..function import Function
from .nn_functional import _float_in, _shape

import nerve.autograd.ops as O  # the package's ops, looked up at call time

__all__ = ["ctc_loss", "ctc_decode"]

_PAD = -1  # the blank / padding entry of decoded paths, as Keras


# ----------------------------------------------------------------------- helpers
def _shift(a, k, fill=-np.inf):
    """a moved k places along the last axis (k > 0: a[..., s - k] lands at s), ``fill`` where nothing arrives."""
    out = np.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def _lse(a, axis):
    """logsumexp along ``axis`` that gives -inf (not NaN) where every entry is -inf."""
    m = np.max(a, axis=axis)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - np.expand_dims(safe, axis)), axis=axis)) + safe


def _log_softmax(x):
    z = x - x.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _logits(x, who, arg):
    """(B, T, C) float logits; float16 computes in float32 (Keras: result_type(dtype, 'float32'))."""
    x = _float_in(x, who)
    if O._data(x).dtype == np.float16:
        x = O.cast(x, "float32")
    s = _shape(x)
    if len(s) != 3:
        raise ValueError(f"{who}: argument '{arg}' expected logits of shape (batch_size, max_length, num_classes), "
                         f"got shape {s}")
    return x


def _int_array(v, who, arg, shape_desc):
    """Host int64 copy of an integer-valued array (floats holding integers are accepted, as Keras casts)."""
    a = np.asarray(backend.to_numpy(O._data(v)))
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.all(a == np.round(a))):
        raise TypeError(f"{who}: argument '{arg}' expected integers {shape_desc}, got dtype {a.dtype}")
    return a.astype(np.int64)


def _lengths(v, b, high, who, arg):
    """Per-sample lengths: shape (B,) (or a scalar, used for every sample), each in [0, high]."""
    a = _int_array(v, who, arg, f"of shape ({b},)")
    if a.ndim == 0:
        a = np.full(b, a)
    if a.shape != (b,):
        raise ValueError(f"{who}: argument '{arg}' expected shape ({b},) (one length per sample), got shape "
                         f"{a.shape}")
    if a.size and (a.min() < 0 or a.max() > high):
        raise ValueError(f"{who}: argument '{arg}' expected lengths in [0, {high}], got lengths in "
                         f"[{a.min()}, {a.max()}]")
    return a


def _class_index(v, c, who, arg):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < c:
        raise ValueError(f"{who}: argument '{arg}' expected an int in [0, {c}) (num_classes = {c}), got {v!r}")
    return int(v)


# ----------------------------------------------------------------------- loss
class CTCLoss(Function):
    """Per-sample -log p(l | x) (Graves et al. 2006) on logits x (B, T, C), blank class ``blank``.

    Sample b uses frames t < T_b (output_length) and labels l = target[b, :L_b] (target_length). With
    lp = log_softmax(x) and the extended labels l' = (blank, l1, blank, l2, ..., blank) of length S = 2 L_b + 1,
    alpha[t, s] is the log-probability of the first t frames ending in state s (alpha[0] = 0 at s = 0, the state
    before any frame, else -inf):
        alpha[t + 1, s] = logsumexp(alpha[t, s], alpha[t, s-1], alpha[t, s-2] if l'[s] != l'[s-2] and s odd)
                          + lp[t, l'[s]],
    and log p = logsumexp(alpha[T_b, S-1], alpha[T_b, S-2]). beta[t, s] is the log-probability of frames
    t..T_b-1 given state s after t frames (beta[T_b] = 0 at S-1 and S-2):
        beta[t, s] = logsumexp over s' in (s, s+1, s+2 if that skip is allowed) of lp[t, l'[s']] + beta[t+1, s'].
    The state occupancy of frame t is gamma[t, s] = exp(alpha[t+1, s] + beta[t+1, s] - log p), and
        d(-log p) / dx[t, k] = softmax(x)[t, k] - sum_{s: l'[s] = k} gamma[t, s]     (Graves 2006, eq. 16),
    0 for t >= T_b. A label equal to the blank is matched as an ordinary label (as torch's ctc_loss). An
    impossible alignment (too few frames) gives loss inf and gradient 0."""
    name = "ctc_loss"

    def forward(self, x, target=None, target_length=None, output_length=None, blank=0):
        xp = backend.get_array_module(x)
        lp = _log_softmax(np.asarray(backend.to_numpy(x), np.float64))
        b, t_max, c = lp.shape
        tl, ol = target_length, output_length
        s_max = 2 * int(tl.max(initial=0)) + 1
        ext = np.full((b, s_max), blank, np.int64)  # l' per sample, blank-padded
        ext[:, 1::2] = target[:, :s_max // 2]
        s = np.arange(s_max)
        valid = s[None, :] < (2 * tl + 1)[:, None]
        skip = np.zeros((b, s_max), bool)  # the transition s-2 -> s is allowed
        skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
        emit = np.take_along_axis(lp, np.broadcast_to(ext[:, None, :], (b, t_max, s_max)), axis=2)  # lp[t, l'[s]]
        emit = np.where(valid[:, None, :], emit, -np.inf)
        running = np.arange(t_max)[:, None] < ol[None, :]  # (T, B): frame t belongs to sample b

        alpha = np.full((t_max + 1, b, s_max), -np.inf)
        alpha[0, :, 0] = 0.0
        for t in range(t_max):
            a = alpha[t]
            step = _lse(np.stack([a, _shift(a, 1), np.where(skip, _shift(a, 2), -np.inf)]), 0) + emit[:, t]
            alpha[t + 1] = np.where(running[t][:, None], step, a)  # frozen once t >= T_b: alpha[T] = alpha[T_b]
        final = np.where((s[None, :] == 2 * tl[:, None]) | (s[None, :] == 2 * tl[:, None] - 1), 0.0, -np.inf)
        log_p = _lse(alpha[-1] + final, 1)

        if self.needs and self.needs[0]:
            skip_next = _shift(skip, -2, False)  # the transition s -> s+2 is allowed
            beta = np.full((t_max + 1, b, s_max), -np.inf)
            beta[-1] = final
            for t in range(t_max - 1, -1, -1):
                n = emit[:, t] + beta[t + 1]
                step = _lse(np.stack([n, _shift(n, -1), np.where(skip_next, _shift(n, -2), -np.inf)]), 0)
                beta[t] = np.where(running[t][:, None], step, final)
            ok = np.isfinite(log_p)
            # gamma (T, B, S); -inf + -inf stays -inf, so impossible samples get 0 without NaN
            gamma = np.exp(alpha[1:] + beta[1:] - np.where(ok, log_p, 0.0)[None, :, None]) * running[:, :, None]
            one_hot = (ext[:, :, None] == np.arange(c)) & valid[:, :, None]  # (B, S, C)
            occ = np.einsum("tbs,bsk->btk", gamma, one_hot.astype(np.float64))
            grad = (np.exp(lp) * running.T[:, :, None] - occ) * ok[:, None, None]
            self.grad, self.xp, self.dtype = grad, xp, x.dtype
        return xp.asarray((-log_p).astype(x.dtype))

    def backward(self, g):
        g = np.asarray(backend.to_numpy(g), np.float64)
        return self.xp.asarray((self.grad * g[:, None, None]).astype(self.dtype))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss (Keras ``ops.ctc_loss``): target (B, L) integer labels, output (B, T, C) logits (softmax is
    applied here), target_length and output_length (B,) the labels and frames each sample uses, mask_index the
    blank class. Returns the per-sample losses -log p(target | output), shape (B,), differentiable w.r.t.
    ``output``; inf where the labels cannot fit in the frames."""
    who = "ctc_loss"
    output = _logits(output, who, "output")
    b, t_max, c = _shape(output)
    lab = _int_array(target, who, "target", "of shape (batch_size, max_length)")
    if lab.ndim != 2 or lab.shape[0] != b:
        raise ValueError(f"{who}: argument 'target' expected integer labels of shape ({b}, max_length) (batch size "
                         f"of 'output'), got shape {lab.shape}")
    tl = _lengths(target_length, b, lab.shape[1], who, "target_length")
    ol = _lengths(output_length, b, t_max, who, "output_length")
    blank = _class_index(mask_index, c, who, "mask_index")
    used = np.arange(lab.shape[1])[None, :] < tl[:, None]
    if used.any() and (lab[used].min() < 0 or lab[used].max() >= c):
        raise ValueError(f"{who}: argument 'target' expected labels in [0, {c}) within target_length, got labels "
                         f"in [{lab[used].min()}, {lab[used].max()}]")
    return CTCLoss.apply(output, target=np.where(used, lab, blank), target_length=tl, output_length=ol, blank=blank)


# ----------------------------------------------------------------------- decoding
def _greedy(x, lengths, merge_repeated, blank):
    """Best path (Keras' greedy decoder): the argmax class per frame, frames past the length set to the blank,
    with merge_repeated a class equal to the previous frame's dropped, then the blanks removed and the labels
    packed to the front (padded with -1). The score is -sum over the used frames of the max logit."""
    b, t_max, _ = x.shape
    idx = x.argmax(-1)
    past = np.arange(t_max)[None, :] >= lengths[:, None]
    idx = np.where(past, blank, idx)
    score = -np.where(past, 0.0, x.max(-1)).sum(1, keepdims=True)
    if merge_repeated:
        repeat = np.zeros_like(past)
        repeat[:, 1:] = idx[:, 1:] == idx[:, :-1]
        idx = np.where(repeat, blank, idx)
    keep = idx != blank
    order = np.argsort(~keep, axis=1, kind="stable")  # kept frames first, in time order
    out = np.where(np.take_along_axis(keep, order, 1), np.take_along_axis(idx, order, 1), _PAD)
    return out[None], score


def _unique_rows(paths, size, width):
    """Keras' ``jnp.unique(paths, axis=0, size=size, fill_value=-1, return_inverse=True)``: the distinct rows
    in lexicographic order, padded with rows of -1 to ``size``, and the row of each input. Only the first
    ``width`` columns can differ from -1; each of their rows is compared as one byte string, entries stored as
    big-endian unsigned p + 1, so that byte order is the lexicographic order of the rows."""
    code = (paths[:, :width] + 1).astype(">u1" if paths.max() < 255 else ">u4")
    keys = np.ascontiguousarray(code).view(np.dtype((np.void, code.dtype.itemsize * width))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    pad = np.full((size - len(first), paths.shape[1]), _PAD, paths.dtype)
    return np.concatenate([paths[first], pad]), inverse.reshape(-1)


def _merge(inverse, scores, size):
    """log of the sum of exp(scores) per unique row (log(0) = -inf for the padding rows)."""
    m = scores.max()
    if not np.isfinite(m):
        return np.full(size, -np.inf)
    acc = np.zeros(size)
    np.add.at(acc, inverse, np.exp(scores - m))
    with np.errstate(divide="ignore"):
        return np.log(acc) + m


def _beam_one(lp, length, beam_width, top_paths, blank):
    """Prefix beam search on one sample's log-probabilities lp (T, C), as Keras 3.15's JAX backend (which its
    torch backend ports): classes are flipped (k -> C-1-k) so that the stable ascending argsort breaks ties as
    TensorFlow does; a beam is a prefix (a row of classes padded with -1) with two scores, the log-probability
    of the frames so far ending in a label ('emit') and ending in a blank ('mask'). Each step extends every beam
    by every class (a blank, or a class equal to the prefix's last one after an emit, leaves the prefix as is),
    merges equal prefixes per track in log space and keeps the beam_width prefixes of largest total score."""
    t_max, c = lp.shape
    lp = lp[:, ::-1]
    blank = c - 1 - blank
    size = 2 * c * beam_width
    paths = np.full((2 * beam_width, t_max), _PAD, np.int64)
    n0 = min(c, beam_width)
    first = np.argsort(lp[0], kind="stable")[-n0:]
    paths[:n0, 0] = np.where(first == blank, _PAD, first)
    scores = np.full(2 * beam_width, -np.inf)
    scores[:n0] = lp[0, first]
    masked = paths[:, 0] == _PAD
    classes = np.where(np.arange(c) == blank, _PAD, np.arange(c))
    for t in range(1, length):
        # extend: row r * C + k is beam r followed by class k
        paths, scores, prev_masked = (np.repeat(a, c, axis=0) for a in (paths, scores, masked))
        rows = np.arange(len(paths))
        tail_at = (paths == _PAD).argmax(1)  # first free position
        tail = np.where(tail_at == 0, _PAD, paths[rows, tail_at - 1])
        new = np.tile(classes, 2 * beam_width)
        masked = new == _PAD
        new = np.where(~prev_masked & (tail == new), _PAD, new)  # a repeat without a blank between: merged
        paths[rows, tail_at] = new
        scores = scores + np.tile(lp[t], 2 * beam_width)
        # prune: merge equal prefixes per track, keep the beam_width best by total score
        uniq, inverse = _unique_rows(paths, size, t + 1)  # at most t + 1 labels so far
        emit = _merge(inverse, np.where(masked, -np.inf, scores), size)
        mask = _merge(inverse, np.where(masked, scores, -np.inf), size)
        top = np.argsort(np.logaddexp(emit, mask), kind="stable")[-beam_width:]
        paths = np.tile(uniq[top], (2, 1))
        scores = np.concatenate([emit[top], mask[top]])
        masked = np.repeat([False, True], beam_width)
    uniq, inverse = _unique_rows(paths, size, t_max)
    total = _merge(inverse, scores, size)
    top = np.argsort(total, kind="stable")[-top_paths:][::-1]
    return np.where(uniq[top] == _PAD, _PAD, c - 1 - uniq[top]), total[top]


def _positive_int(v, who, arg, high=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 or (high is not None and v > high):
        rng = "an int >= 1" if high is None else f"an int in [1, {high}]"
        raise ValueError(f"{who}: argument '{arg}' expected {rng}, got {v!r}")
    return int(v)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decode CTC logits (Keras ``ops.ctc_decode``): inputs (B, T, C) unnormalised logits, sequence_lengths (B,)
    the frames of each sample, mask_index the blank class (None: the last class).

    Returns (decoded, log_probs): decoded int32 of shape (1, B, T) for "greedy" and (top_paths, B, T) for
    "beam_search", each row the labels packed to the front and padded with -1; log_probs of shape (B, 1) for
    "greedy" (the negative sum of the max logit per used frame, as Keras) and (B, top_paths) for "beam_search"
    (the log-probability of each decoded sequence, best first). ``merge_repeated`` applies to greedy decoding
    (beam search always merges, as Keras)."""
    who = "ctc_decode"
    x = _logits(inputs, who, "inputs")
    b, t_max, c = _shape(x)
    xp = backend.get_array_module(O._data(x))
    lengths = _lengths(sequence_lengths, b, t_max, who, "sequence_lengths")
    blank = c - 1 if mask_index is None else _class_index(mask_index, c, who, "mask_index")
    xh = np.asarray(backend.to_numpy(O._data(x)), np.float64)
    if strategy == "greedy":
        paths, scores = _greedy(xh, lengths, bool(merge_repeated), blank)
    elif strategy == "beam_search":
        beam_width = _positive_int(beam_width, who, "beam_width")
        top_paths = _positive_int(top_paths, who, "top_paths", beam_width)
        lp = _log_softmax(xh)
        found = [_beam_one(lp[i], lengths[i], beam_width, top_paths, blank) for i in range(b)]
        paths = np.stack([p for p, _ in found], axis=1)  # (top_paths, B, T)
        scores = np.stack([s for _, s in found])  # (B, top_paths)
    else:
        raise ValueError(f"{who}: argument 'strategy' expected 'greedy' or 'beam_search', got {strategy!r}")
    dtype = O._data(x).dtype
    return (O.convert_to_tensor(xp.asarray(paths.astype(np.int32))),
            O.convert_to_tensor(xp.asarray(scores.astype(dtype))))
