"""A from-scratch MLP on the seeds' two spirals (seed-001-part1 §3.2, seed-002 §6), built from engine ops
alone: nerve.tensor weights, ops.matmul / relu / log_softmax, backward(), and Adam written here on the
raw arrays. It must reach >= 95% training accuracy."""
import contextlib

import numpy as np

import nerve
from nerve import ops
from nerve.datasets import two_spirals


def test_two_spirals_generator_matches_the_book():
    X, y = two_spirals(300)
    assert X.shape == (600, 2) and y.shape == (600,)
    np.testing.assert_allclose(X[0], [7.08535569, 5.20423916], rtol=1e-8)  # the book's worked sample
    assert set(np.unique(y)) == {0, 1} and y[:300].sum() == 0 and y[300:].sum() == 300  # -1/+1 -> 0/1
    np.testing.assert_allclose(X[300:], -X[:300])  # the second spiral is the first rotated by 180 degrees


def _adam(params, grads, state, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps)
    state["t"] += 1
    t = state["t"]
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        p.data -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def _one_blas_thread():
    # Small GEMMs: multi-threaded BLAS only adds contention on a busy 2-core machine (25 s vs 0.7 s seen).
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def test_mlp_learns_two_spirals():
    with _one_blas_thread():
        _train_spirals()


def _train_spirals():
    X, y = two_spirals(300)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)  # standardised inputs
    rng = np.random.default_rng(0)
    sizes = [2, 64, 64, 2]
    params = []
    for fi, fo in zip(sizes[:-1], sizes[1:]):  # He initialisation: W ~ N(0, 2 / fan_in)
        params.append(nerve.tensor(rng.normal(0, np.sqrt(2 / fi), (fi, fo)).astype(np.float32), requires_grad=True))
        params.append(nerve.tensor(np.zeros(fo, np.float32), requires_grad=True))
    target = ops.one_hot(y, 2)
    xt = nerve.tensor(X)
    state = {"t": 0, "m": [np.zeros_like(p.data) for p in params], "v": [np.zeros_like(p.data) for p in params]}

    def logits():
        h = xt
        for i in range(0, len(params) - 2, 2):
            h = ops.relu(ops.matmul(h, params[i]) + params[i + 1])
        return ops.matmul(h, params[-2]) + params[-1]

    losses = []
    for step in range(1500):
        loss = -ops.mean(ops.sum(target * ops.log_softmax(logits()), axis=-1))  # cross-entropy
        for p in params:
            p.grad = None
        loss.backward()
        _adam(params, [p.grad.data for p in params], state)
        losses.append(float(loss))
        if step % 100 == 99:
            with nerve.no_grad():
                acc = float(np.mean(np.argmax(logits().numpy(), axis=1) == y))
            if acc >= 0.99:
                break
    with nerve.no_grad():
        acc = float(np.mean(np.argmax(logits().numpy(), axis=1) == y))
    assert losses[-1] < 0.5 * losses[0]
    print(f"spirals: accuracy {acc:.3f} after {len(losses)} steps, loss {losses[-1]:.4f}")
    assert acc >= 0.95, f"training accuracy {acc:.3f} after {len(losses)} steps (loss {losses[-1]:.4f})"
    assert all(p.dtype == np.float32 for p in params)
