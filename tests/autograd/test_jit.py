"""The compiled kernels (ops/jit.py) against the pure-NumPy path: same values (float32 and float64),
float64 gradcheck through them, the pooling-fused ReLU mask only where it is exact, NaN propagation,
and results that do not depend on the number of threads."""
import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="the compiled kernels need the `fast` extra (numba)")
import nerve  # noqa: E402
from nerve.autograd.gradcheck import gradcheck  # noqa: E402
from nerve.autograd.ops import jit  # noqa: E402
from nerve.autograd.ops.conv import Conv2DFn  # noqa: E402
from nerve.autograd.ops.pool import MaxPool2DFn  # noqa: E402

pytestmark = pytest.mark.usefixtures("chain_count")  # every kernel over 1 or 2 batch chains (conftest.py)

rs = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _restore():
    old = jit.set_enabled(True)
    yield
    jit.set_enabled(old)


def both(f):
    """f() on the compiled path and on the NumPy path."""
    out = {}
    for on in (True, False):
        jit.set_enabled(on)
        out[on] = f()
    jit.set_enabled(True)
    return out[True], out[False]


CASES = [((3, 9, 8, 2), (3, 3, 2, 4), (1, 1), "valid", (1, 1)), ((2, 10, 11, 3), (3, 2, 3, 5), (2, 1), "same", (1, 2)),
         ((4, 12, 12, 1), (3, 3, 1, 6), (1, 1), "valid", (1, 1)), ((2, 7, 7, 9), (2, 2, 9, 3), (2, 2), "same", (1, 1))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["relu", "linear"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,st,pad,dil", CASES)
def test_conv_compiled_equals_numpy(xs, ws, st, pad, dil, act, bias, dtype):
    x, w, b = rs.normal(size=xs).astype(dtype), rs.normal(size=ws).astype(dtype), rs.normal(size=ws[3]).astype(dtype)
    g = None

    def run():
        nonlocal g
        X, W = nerve.tensor(x, requires_grad=True), nerve.tensor(w, requires_grad=True)
        B = nerve.tensor(b, requires_grad=True) if bias else None
        y = Conv2DFn.apply(X, W, B, strides=st, padding=pad, dilation=dil, activation=act)
        g = rs.normal(size=y.shape).astype(dtype) if g is None else g
        y.backward(g)
        return [y.numpy(), X.grad.numpy(), W.grad.numpy()] + ([B.grad.numpy()] if bias else [])
    a, r = both(run)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for p, q in zip(a, r):
        assert p.dtype == q.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)


@pytest.mark.parametrize("xs,ws,st,pad,dil", CASES[:2])
def test_conv_relu_gradcheck_compiled(xs, ws, st, pad, dil):
    x = rs.normal(size=xs)
    w, b = rs.normal(size=ws), rs.normal(size=ws[3])
    assert gradcheck(lambda X, W, B: Conv2DFn.apply(X, W, B, strides=st, padding=pad, dilation=dil,
                                                    activation="relu"), [x, w, b])


@pytest.mark.parametrize("shape,k", [((3, 6, 6, 4), 2), ((2, 7, 9, 3), 3), ((2, 8, 8, 2), (2, 4)), ((2, 5, 5, 3), 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_maxpool_compiled_equals_numpy(shape, k, dtype):
    k = (k, k) if isinstance(k, int) else k
    x = rs.normal(size=shape).astype(dtype)
    x[0, 0, 0, 0] = x[0, 0, 1, 0]  # a tie: the gradient goes to the first maximum only
    x[1, 1, 1, 1] = x[1, 0, 0, 1]
    g = rs.normal(size=(shape[0], shape[1] // k[0], shape[2] // k[1], shape[3])).astype(dtype)

    def run():
        X = nerve.tensor(x, requires_grad=True)
        y = MaxPool2DFn.apply(X, pool_size=k)
        y.backward(g)
        return y.numpy(), X.grad.numpy()
    (ya, ga), (yr, gr) = both(run)
    np.testing.assert_array_equal(ya, yr)
    np.testing.assert_array_equal(ga, gr)


def test_maxpool_compiled_propagates_nan():
    x = rs.normal(size=(1, 4, 4, 2)).astype("float32")
    x[0, 1, 1, 0] = np.nan
    y = MaxPool2DFn.apply(nerve.tensor(x), pool_size=(2, 2)).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and np.isfinite(y[..., 1]).all()


def _conv_pool(x, w1, b1, w2, b2, extra=False, retain=False):
    X, W1, B1, W2, B2 = (nerve.tensor(a, requires_grad=True) for a in (x, w1, b1, w2, b2))
    h = Conv2DFn.apply(X, W1, B1, activation="relu")
    if retain:
        h.retain_grad()
    p = MaxPool2DFn.apply(h, pool_size=(2, 2))
    out = Conv2DFn.apply(p, W2, B2, activation="relu")
    loss = (out * out).sum()
    if extra:  # a second consumer of the conv output: the pooling must not pre-mask alone
        loss = loss + (h * h).sum() * 0.1
    loss.backward()
    grads = [t.grad.numpy() for t in (X, W1, B1, W2, B2)]
    return grads + ([h.grad.numpy()] if retain else [])


@pytest.mark.parametrize("extra,retain", [(False, False), (True, False), (False, True)])
def test_pool_fused_relu_mask_is_exact(extra, retain):
    """conv + ReLU -> max pooling: the pooling's backward applies the ReLU mask and sums the bias gradient;
    the result equals the unfused NumPy path with one consumer, two consumers and a retained gradient."""
    args = [rs.normal(size=s) for s in ((3, 13, 13, 2), (3, 3, 2, 5), (5,), (3, 3, 5, 3), (3,))]
    a, r = both(lambda: _conv_pool(*args, extra=extra, retain=retain))
    for p, q in zip(a, r):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-10)


def test_cnn_gradcheck_through_fused_pooling():
    args = [rs.normal(size=s) for s in ((2, 8, 8, 1), (3, 3, 1, 3), (3,), (2, 2, 3, 2), (2,))]

    def f(X, W1, B1, W2, B2):
        h = MaxPool2DFn.apply(Conv2DFn.apply(X, W1, B1, activation="relu"), pool_size=(2, 2))
        return Conv2DFn.apply(h, W2, B2, activation="relu")
    assert gradcheck(f, args)


def test_results_do_not_depend_on_thread_count():
    x = rs.normal(size=(16, 14, 14, 3)).astype("float32")
    w1, b1 = rs.normal(size=(3, 3, 3, 8)).astype("float32"), rs.normal(size=8).astype("float32")
    w2, b2 = rs.normal(size=(3, 3, 8, 4)).astype("float32"), rs.normal(size=4).astype("float32")
    n0 = numba.get_num_threads()
    try:
        res = []
        for n in sorted({1, n0}):
            numba.set_num_threads(n)
            res.append(_conv_pool(x, w1, b1, w2, b2))
    finally:
        numba.set_num_threads(n0)
    for p, q in zip(res[0], res[-1]):
        np.testing.assert_array_equal(p, q)


def test_cnn_training_compiled_matches_numpy():
    from nerve import layers as L

    def train():
        nerve.set_random_seed(0)
        m = nerve.Sequential([L.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(3)])
        m.compile(optimizer=nerve.optimizers.Adam(1e-2),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
        r = np.random.default_rng(1)
        x, y = r.random((64, 12, 12, 1)).astype("float32"), r.integers(0, 3, 64)
        return m.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False).history["loss"]
    a, r = both(train)
    np.testing.assert_allclose(a, r, rtol=1e-4)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rseq,state", [(True, True), (False, False)])
def test_recurrent_compiled_equals_numpy(kind, dtype, rseq, state):
    """float64: the same math (math.tanh); float32: the rational tanh of TensorFlow/XLA, a few ulp."""
    from nerve.autograd.ops.recurrent import GRUFn, LSTMFn
    n, k = 5, (4 if kind == "lstm" else 3)
    x = rs.normal(size=(4, 6, 3)).astype(dtype)
    w, u = rs.normal(size=(3, k * n)).astype(dtype), rs.normal(size=(n, k * n)).astype(dtype)
    b = rs.normal(size=(k * n,) if kind == "lstm" else (2, k * n)).astype(dtype)
    h0, c0 = rs.normal(size=(4, n)).astype(dtype), rs.normal(size=(4, n)).astype(dtype)
    gs = {}

    def run():
        ts = [nerve.tensor(a, requires_grad=True) for a in (x, w, u, b, h0, c0)]
        h, c = (ts[4], ts[5]) if state else (None, None)
        if kind == "lstm":
            outs = LSTMFn.apply(ts[0], ts[1], ts[2], ts[3], h, c, None, return_sequences=rseq)
        else:
            outs = GRUFn.apply(ts[0], ts[1], ts[2], ts[3], h, None, return_sequences=rseq)
        loss = None
        for i, o in enumerate(outs):
            gs.setdefault(i, rs.normal(size=o.shape).astype(dtype))
            term = (o * nerve.tensor(gs[i])).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        n_state = (2 if kind == "lstm" else 1) if state else 0
        return [o.numpy() for o in outs] + [t.grad.numpy() for t in ts[:4 + n_state]]
    a, r = both(run)
    tol = 2e-5 if dtype == "float32" else 1e-11
    for p, q in zip(a, r):
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_gradcheck_compiled(kind):
    from nerve.autograd.ops.recurrent import GRUFn, LSTMFn
    k = 4 if kind == "lstm" else 3
    x, w, u = rs.normal(size=(3, 4, 2)), rs.normal(size=(2, 3 * k)), rs.normal(size=(3, 3 * k))
    b = rs.normal(size=(3 * k,) if kind == "lstm" else (2, 3 * k))
    for rseq in (True, False):
        if kind == "lstm":
            f = lambda X, W, U, B: LSTMFn.apply(X, W, U, B, None, None, None, return_sequences=rseq)  # noqa: E731
        else:
            f = lambda X, W, U, B: GRUFn.apply(X, W, U, B, None, None, return_sequences=rseq)  # noqa: E731
        assert gradcheck(f, [x, w, u, b])


def test_tanh32_accuracy():
    K = jit.kernels()
    x = np.linspace(-12, 12, 200000).astype("float32").reshape(1000, 200)
    z = np.concatenate([x, x, x, x])  # the g block (last quarter) becomes tanh(x)
    c = np.zeros_like(x)
    K.lstm_step32(z, c, c.copy(), np.empty_like(x), np.empty_like(x))
    np.testing.assert_allclose(z[3000:], np.tanh(x.astype("float64")), rtol=0, atol=4e-7)


def test_switch_off_and_env():
    assert jit.enabled()
    jit.set_enabled(False)
    assert not jit.enabled() and jit.kernels() is None


def test_fused_adam_is_bit_identical_to_numpy():
    from nerve import layers as L

    def train():
        nerve.set_random_seed(0)
        m = nerve.Sequential([L.Input((20,)), L.Dense(300, activation="relu"), L.Dense(200, activation="relu"),
                              L.Dense(3)])
        # mean squared error: no compiled loss kernel (the softmax cross-entropy one differs by ulps, below)
        m.compile(optimizer=nerve.optimizers.Adam(1e-2), loss="mse")
        r = np.random.default_rng(1)
        x, y = r.random((256, 20)).astype("float32"), r.random((256, 3)).astype("float32")
        m.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
        return [w.numpy() for w in m.weights] + [np.asarray(v) for v in m.optimizer.variables]
    a, r = both(train)
    for p, q in zip(a, r):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype,rtol", [("float32", 2e-6), ("float64", 1e-14)])
def test_softmax_xent_kernel_matches_numpy(dtype, rtol):
    from nerve.autograd.ops.loss import SoftmaxCrossEntropy
    r = np.random.default_rng(3)
    x = (r.standard_normal((4, 6, 10)) * 5).astype(dtype)
    y = r.integers(0, 10, (4, 6))
    g = r.standard_normal((4, 6)).astype(dtype)

    def run():
        t = nerve.tensor(x, requires_grad=True)
        loss = SoftmaxCrossEntropy.apply(t, y, axis=-1, sparse=True)
        loss.backward(g)
        return loss.numpy(), t.grad.numpy()
    (lk, gk), (ln, gn) = both(run)
    np.testing.assert_allclose(lk, ln, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gk, gn, rtol=rtol, atol=rtol)
    xx = nerve.tensor(x.astype("float64"), requires_grad=True)
    assert gradcheck(lambda a: SoftmaxCrossEntropy.apply(a, y, axis=-1, sparse=True), [xx])
    with pytest.raises(IndexError, match="label out of range"):
        SoftmaxCrossEntropy.apply(nerve.tensor(x), np.full((4, 6), 10), axis=-1, sparse=True)
    nan = x.copy()
    nan[0, 0, 3] = np.nan
    assert np.isnan(SoftmaxCrossEntropy.apply(nerve.tensor(nan), y, axis=-1, sparse=True).numpy()[0, 0])


def test_malloc_settings_apply_once_and_can_be_refused():
    import subprocess
    import sys
    code = ("from nerve.autograd.ops import malloc; a = malloc.keep_freed_memory(); "
            "b = malloc.keep_freed_memory(); print(a, b)")
    glibc = sys.platform.startswith("linux")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ([str(glibc)] * 2)
    env = dict(__import__("os").environ, NERVE_MALLOC="default")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "False"]
