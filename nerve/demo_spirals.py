"""``nerve demo --spirals``: a from-scratch MLP on the seeds' two spirals, built from engine ops alone.

It shows the engine end to end without the Keras layer: ``nerve.tensor`` weights,
``nerve.ops`` forward (matmul, relu, log_softmax), ``backward()`` for the gradients and a hand-written
Adam update on the arrays. It prints the loss every few epochs and the final training accuracy.
"""
import time

import numpy as np

import nerve
from nerve import backend, ops
from nerve.datasets import two_spirals


def _init(fan_in, fan_out):
    # He initialisation for ReLU layers: W ~ N(0, 2 / fan_in)
    w = backend.rng().normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)).astype(np.float32)
    return nerve.tensor(w, requires_grad=True), nerve.tensor(np.zeros(fan_out, np.float32), requires_grad=True)


def _forward(params, x):
    h = x
    for i in range(0, len(params) - 2, 2):
        h = ops.relu(ops.matmul(h, params[i]) + params[i + 1])
    return ops.matmul(h, params[-2]) + params[-1]  # logits


class Adam:
    """Adam on raw arrays (Kingma & Ba): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
    p -= lr * m_hat / (sqrt(v_hat) + eps) with bias-corrected m_hat, v_hat."""

    def __init__(self, params, lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p.data) for p in params]
        self.v = [np.zeros_like(p.data) for p in params]
        self.t = 0

    def step(self):
        self.t += 1
        a = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad.data
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p.data -= a * m / (np.sqrt(v) + self.eps)
            p.grad = None


def _prepare(X, y):
    X = (np.asarray(X) / SCALE).astype(np.float32)  # radius up to 780 deg = 13.6 rad -> [-1, 1]
    return X, np.asarray(y).astype(np.int64).ravel()


SCALE = 780 * 2 * np.pi / 360


def _accuracy(params, X, y):
    with nerve.no_grad():
        pred = _forward(params, X).data.argmax(axis=1)
    return float((pred == y).mean())


def run(epochs=300, hidden=64, lr=0.01, seed=0, every=20, out=print):
    """Train 2-hidden-hidden-2 on two spirals (full batch); return the final training accuracy."""
    nerve.set_random_seed(seed)
    X, y = _prepare(*two_spirals(300, seed=1))
    X_new, y_new = _prepare(*two_spirals(300, seed=2))  # a fresh draw of the same spirals
    onehot = np.eye(2, dtype=np.float32)[y]
    params = [*_init(2, hidden), *_init(hidden, hidden), *_init(hidden, 2)]
    opt = Adam(params, lr=lr)
    out(f"nerve demo: MLP 2-{hidden}-{hidden}-2 (relu) on two spirals, {len(X)} points, "
        f"full-batch Adam lr={lr}, {epochs} epochs")
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        logits = _forward(params, X)
        # cross-entropy: L = -(1/N) sum_n sum_k y_nk log softmax(z_n)_k
        loss = -ops.sum(ops.log_softmax(logits) * onehot) / len(X)
        loss.backward()
        opt.step()
        if epoch == 1 or epoch % every == 0 or epoch == epochs:
            acc = float((logits.data.argmax(axis=1) == y).mean())
            out(f"epoch {epoch:4d}  loss {float(loss.data):.4f}  acc {acc:.3f}")
    seconds = time.perf_counter() - start
    acc = _accuracy(params, X, y)
    out(f"final train accuracy: {100 * acc:.1f}% ({round(acc * len(X))}/{len(X)}) in {seconds:.1f} s")
    out(f"accuracy on {len(X_new)} fresh points (seed 2): {100 * _accuracy(params, X_new, y_new):.1f}%")
    return acc
