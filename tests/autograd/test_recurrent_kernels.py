"""Whole-sequence SimpleRNN / LSTM / GRU kernels vs PyTorch (forward, BPTT) and float64 gradcheck."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import nerve  # noqa: E402
from nerve.autograd.ops.recurrent import GRUFn, LSTMFn, SimpleRNNFn  # noqa: E402

pytestmark = pytest.mark.usefixtures("kernel_path", "chain_count")  # both paths, 1 or 2 chains (conftest.py)
rs = np.random.default_rng(0)
N, T, D, U = 3, 5, 4, 6


def _torch_run(kind, x, w, u, b, h0, c0, go_backwards):
    tx = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    if kind == "lstm":
        m = torch.nn.LSTM(D, U, batch_first=True, dtype=torch.float64)
        perm = np.arange(4 * U)  # Keras i, f, c, o == torch i, f, g, o
        bih, bhh = b, np.zeros_like(b)
    elif kind == "gru":
        m = torch.nn.GRU(D, U, batch_first=True, dtype=torch.float64)
        perm = np.r_[U:2 * U, 0:U, 2 * U:3 * U]  # torch r, z, n  <- Keras z, r, h
        bih, bhh = b[0], b[1]
    else:
        m = torch.nn.RNN(D, U, batch_first=True, dtype=torch.float64)
        perm = np.arange(U)
        bih, bhh = b, np.zeros_like(b)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor(w[:, perm].T))
        m.weight_hh_l0.copy_(torch.tensor(u[:, perm].T))
        m.bias_ih_l0.copy_(torch.tensor(bih[perm]))
        m.bias_hh_l0.copy_(torch.tensor(bhh[perm]))
    th0 = torch.tensor(h0[None], requires_grad=True)
    if kind == "lstm":
        tc0 = torch.tensor(c0[None], requires_grad=True)
        out, (hT, cT) = m(tx, (th0, tc0))
        return m, tx, th0, tc0, out, hT[0], cT[0], perm
    out, hT = m(tx, th0)
    return m, tx, th0, None, out, hT[0], None, perm


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_recurrent_kernel_matches_torch(kind, return_sequences, go_backwards):
    k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x = rs.normal(size=(N, T, D))
    w, u = rs.normal(size=(D, k * U)) * 0.5, rs.normal(size=(U, k * U)) * 0.5
    b = rs.normal(size=(2, 3 * U) if kind == "gru" else (k * U,)) * 0.5
    h0, c0 = rs.normal(size=(N, U)), rs.normal(size=(N, U))
    X, W, Uu, B, H0, C0 = (nerve.tensor(a, requires_grad=True) for a in (x, w, u, b, h0, c0))
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    if kind == "lstm":
        out, hT, cT = LSTMFn.apply(X, W, Uu, B, H0, C0, None, **kw)
    elif kind == "gru":
        out, hT = GRUFn.apply(X, W, Uu, B, H0, None, **kw)
    else:
        out, hT = SimpleRNNFn.apply(X, W, Uu, B, H0, None, **kw)
    m, tx, th0, tc0, tout, thT, tcT, perm = _torch_run(kind, x, w, u, b, h0, c0, go_backwards)
    ref = tout if return_sequences else tout[:, -1]
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(hT.numpy(), thT.detach().numpy(), atol=1e-10)
    g, gh = rs.normal(size=out.shape), rs.normal(size=hT.shape)
    loss = (out * g).sum() + (hT * gh).sum()
    tloss = (ref * torch.tensor(g)).sum() + (thT * torch.tensor(gh)).sum()
    if kind == "lstm":
        gc = rs.normal(size=cT.shape)
        loss = loss + (cT * gc).sum()
        tloss = tloss + (tcT * torch.tensor(gc)).sum()
    loss.backward()
    tloss.backward()
    tgx = tx.grad.numpy()[:, ::-1] if go_backwards else tx.grad.numpy()
    np.testing.assert_allclose(X.grad.numpy(), tgx, atol=1e-9)
    inv = np.argsort(perm)
    np.testing.assert_allclose(W.grad.numpy(), m.weight_ih_l0.grad.numpy().T[:, inv], atol=1e-9)
    np.testing.assert_allclose(Uu.grad.numpy(), m.weight_hh_l0.grad.numpy().T[:, inv], atol=1e-9)
    if kind == "gru":
        tb = np.stack([m.bias_ih_l0.grad.numpy()[inv], m.bias_hh_l0.grad.numpy()[inv]])
    else:
        tb = m.bias_ih_l0.grad.numpy()[inv]
    np.testing.assert_allclose(B.grad.numpy(), tb, atol=1e-9)
    np.testing.assert_allclose(H0.grad.numpy(), th0.grad.numpy()[0], atol=1e-9)
    if kind == "lstm":
        np.testing.assert_allclose(C0.grad.numpy(), tc0.grad.numpy()[0], atol=1e-9)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_kernel_gradcheck_with_mask(kind):
    k = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x = rs.normal(size=(2, 4, 3))
    w, u = rs.normal(size=(3, k * 2)), rs.normal(size=(2, k * 2))
    b = rs.normal(size=(2, 6) if kind == "gru" else (k * 2,))
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    for rseq in (True, False):
        if kind == "lstm":
            f = lambda x, w, u, b: LSTMFn.apply(x, w, u, b, None, None, mask, return_sequences=rseq)  # noqa: E731
        elif kind == "gru":
            f = lambda x, w, u, b: GRUFn.apply(x, w, u, b, None, mask, return_sequences=rseq)  # noqa: E731
        else:
            f = lambda x, w, u, b: SimpleRNNFn.apply(x, w, u, b, None, mask, return_sequences=rseq)  # noqa: E731
        nerve.gradcheck(f, [x, w, u, b])


def test_mask_keeps_state():
    x = rs.normal(size=(1, 3, 2))
    w, u, b = rs.normal(size=(2, 8)), rs.normal(size=(2, 8)), np.zeros(8)
    full, h1, _ = LSTMFn.apply(x[:, :2], w, u, b, None, None, None, return_sequences=True)
    out, h, c = LSTMFn.apply(x, w, u, b, None, None, np.array([[True, True, False]]), return_sequences=True)
    np.testing.assert_allclose(h.numpy(), h1.numpy())
    np.testing.assert_allclose(out.numpy()[:, 2], out.numpy()[:, 1])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_chains_split_the_batch_when_asked(kind, chain_count):
    """With two chains the batch really runs as two slices (and the tests above compare them with torch)."""
    x = rs.normal(size=(N, T, D))
    k = 4 if kind == "lstm" else 3
    w, u = rs.normal(size=(D, k * U)), rs.normal(size=(U, k * U))
    b = rs.normal(size=(k * U,)) if kind == "lstm" else rs.normal(size=(2, k * U))
    fn = LSTMFn() if kind == "lstm" else GRUFn()
    fn.forward(x, w, u, b, None, None) if kind == "lstm" else fn.forward(x, w, u, b, None)
    parts = fn.tparts
    assert (parts is None) == (chain_count == 1)
    if parts is not None:
        assert [p for p, _ in parts] == [(0, 2), (2, 3)]


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False), (False, False, True),
                                  (True, False, True), (False, True, True)], ids=lambda v: "".join("wub"[i] for i in range(3) if v[i]))
def test_lstm_partial_weight_gradients(need):
    """Only some of W, U, b trainable: the one stacked GEMM covers just those rows, with the same values."""
    from types import SimpleNamespace

    from nerve.autograd.ops import lstm_t
    x = rs.normal(size=(T, N, D))
    w, u, b = rs.normal(size=(D, 4 * U)), rs.normal(size=(U, 4 * U)), rs.normal(size=(4 * U,))
    dh = rs.normal(size=(N, U))
    fn = SimpleNamespace()
    lstm_t.forward(fn, x, w, u, b, None, None)
    full = lstm_t.backward(fn, dh, None, None, w, u, True, True, True, True)
    part = lstm_t.backward(fn, dh, None, None, w, u, False, *need)
    for j, flag in zip((1, 2, 3), need):
        if flag:
            np.testing.assert_allclose(part[j], full[j], rtol=1e-12, atol=1e-12)
        else:
            assert part[j] is None
    np.testing.assert_allclose(part[4], full[4])


def test_lstm_compiled_loops_match_the_per_step_path(monkeypatch):
    """The whole-sequence compiled loops (numba np.dot through SciPy's BLAS) and the per-step Python loop
    over the same compiled cells give the same values (float64), with and without a sequence gradient."""
    from types import SimpleNamespace

    from nerve.autograd.ops import jit, lstm_t
    pytest.importorskip("scipy", reason="numba's np.dot in the compiled loops needs SciPy's BLAS")
    K = jit.kernels()
    if K is None:
        pytest.skip("compiled path only")
    x = rs.normal(size=(T, N, D))
    w, u, b = rs.normal(size=(D, 4 * U)), rs.normal(size=(U, 4 * U)), rs.normal(size=(4 * U,))
    dh, dseq = rs.normal(size=(N, U)), rs.normal(size=(T, N, U))
    loops = (K.lstm_forward_loop64, K.lstm_backward_loop64)
    out = {}
    monkeypatch.setattr(lstm_t, "USE_LOOPS", "always")  # not only inside batch chains
    for mode in (True, False):
        saved = [lstm_t._LOOPS.get(lp) for lp in loops]
        for lp in loops:
            lstm_t._LOOPS[lp] = mode if mode is False else None
        try:
            fn = SimpleNamespace()
            HT, CT = lstm_t.forward(fn, x, w, u, b, None, None)
            out[mode] = (HT.copy(), CT.copy()) + lstm_t.backward(fn, dh, dseq, None, w, u, True, True, True, True)
            if mode:
                assert all(lstm_t._LOOPS[lp] for lp in loops), "the compiled loops did not run"
        finally:
            for lp, s in zip(loops, saved):
                lstm_t._LOOPS[lp] = s
    for a, b_ in zip(out[True], out[False]):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)
