"""The training workloads of the benchmark suite, built in nerve and in PyTorch with the same architecture,
optimizer (Adam 1e-3), batch (128) and dtype (float32). Shared by bench_training.py (CPU) and gpu_bench.py.

Workloads (shared/bench/peers/README.md, plus two extra ones from issue 7):
  mlp   Fashion-MNIST, 784-256-128-10 (relu)
  cnn   Fashion-MNIST, Conv2D(32,3,relu)-MaxPool-Conv2D(64,3,relu)-MaxPool-Flatten-Dense(128,relu)-Dense(10)
  lstm  Fashion-MNIST rows, LSTM(128) over 28 steps - Dense(10)
  gru   Fashion-MNIST rows, GRU(128) over 28 steps - Dense(10)
  ae    Fashion-MNIST autoencoder 784-256-64-256-784 (relu, sigmoid output), mean squared error
  text  synthetic token sequences (vocab 10000, length 80): Embedding(10000, 64) - LSTM(64) - Dense(1), logistic loss
"""
import gzip
import os

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist/"
BATCH = 128
VOCAB, SEQ, EMB, TEXT_N = 10000, 80, 64, 20000
NAMES = ("mlp", "cnn", "lstm", "gru", "ae", "text")


def _imgs(f):
    return np.frombuffer(gzip.open(DATA + f).read(), np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32) / 255


def _labs(f):
    return np.frombuffer(gzip.open(DATA + f).read(), np.uint8, offset=8).astype(np.int64)


def load_data(name):
    """(x, y) as float32 / int64 NumPy arrays; x is NHWC (N, 28, 28, 1) for the CNN."""
    if name == "text":
        rng = np.random.default_rng(0)
        x = rng.integers(1, VOCAB, (TEXT_N, SEQ)).astype(np.int64)
        y = (x[:, :8].mean(axis=1) > VOCAB / 2).astype(np.float32)[:, None]  # a learnable synthetic label
        return x, y
    if os.path.isdir(DATA):
        x, y = _imgs("train-images-idx3-ubyte.gz"), _labs("train-labels-idx1-ubyte.gz")
    else:  # same shapes, random values: the step time does not depend on them
        rng = np.random.default_rng(0)
        x, y = rng.random((60000, 28, 28), dtype=np.float32), rng.integers(0, 10, 60000)
    if name == "cnn":
        x = x[..., None]
    if name == "ae":
        y = x.reshape(len(x), 784).copy()
    return x, y


def fwd_flops(name):
    """Forward FLOPs per sample (2 per multiply-add) of the GEMM/conv work; one step ~ 3x forward."""
    if name in ("mlp",):
        return 2 * (784 * 256 + 256 * 128 + 128 * 10)
    if name == "ae":
        return 2 * (784 * 256 + 256 * 64 + 64 * 256 + 256 * 784)
    if name == "cnn":
        return 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10)
    if name == "lstm":
        return 2 * (28 * 4 * 128 * (28 + 128) + 128 * 10)
    if name == "gru":
        return 2 * (28 * 3 * 128 * (28 + 128) + 128 * 10)
    return 2 * SEQ * 4 * 64 * (EMB + 64) + 2 * 64


def nerve_model(name):
    import nerve
    from nerve import layers as L
    nerve.set_random_seed(0)
    if name == "mlp":
        m = nerve.Sequential([L.Input((28, 28)), L.Flatten(), L.Dense(256, activation="relu"),
                              L.Dense(128, activation="relu"), L.Dense(10)])
    elif name == "cnn":
        m = nerve.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                              L.Dense(128, activation="relu"), L.Dense(10)])
    elif name in ("lstm", "gru"):
        rnn = L.LSTM(128) if name == "lstm" else L.GRU(128)
        m = nerve.Sequential([L.Input((28, 28)), rnn, L.Dense(10)])
    elif name == "ae":
        m = nerve.Sequential([L.Input((28, 28)), L.Flatten(), L.Dense(256, activation="relu"),
                              L.Dense(64, activation="relu"), L.Dense(256, activation="relu"),
                              L.Dense(784, activation="sigmoid")])
    else:
        m = nerve.Sequential([L.Input((SEQ,), dtype="int64"), L.Embedding(VOCAB, EMB), L.LSTM(64), L.Dense(1)])
    if name == "ae":
        loss = nerve.losses.MeanSquaredError()
    elif name == "text":
        loss = nerve.losses.BinaryCrossentropy(from_logits=True)
    else:
        loss = nerve.losses.SparseCategoricalCrossentropy(from_logits=True)
    m.compile(optimizer=nerve.optimizers.Adam(1e-3), loss=loss)
    return m


def torch_model(name, device="cpu"):
    """(model, optimizer, loss_fn, prep) where prep maps the NumPy x batch layout to the torch one."""
    import torch
    import torch.nn as nn
    torch.manual_seed(0)

    class Last(nn.Module):
        def __init__(self, rnn, n_out, emb=None):
            super().__init__()
            self.emb, self.rnn, self.out = emb, rnn, nn.Linear(rnn.hidden_size, n_out)

        def forward(self, x):
            if self.emb is not None:
                x = self.emb(x)
            return self.out(self.rnn(x)[0][:, -1])

    prep = None
    if name == "mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    elif name == "cnn":
        m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
        prep = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731  NHWC -> NCHW once
    elif name == "lstm":
        m = Last(nn.LSTM(28, 128, batch_first=True), 10)
    elif name == "gru":
        m = Last(nn.GRU(28, 128, batch_first=True), 10)
    elif name == "ae":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(),
                          nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
    else:
        m = Last(nn.LSTM(EMB, 64, batch_first=True), 1, emb=nn.Embedding(VOCAB, EMB))
    m = m.to(device)
    lf = nn.MSELoss() if name == "ae" else nn.BCEWithLogitsLoss() if name == "text" else nn.CrossEntropyLoss()
    return m, torch.optim.Adam(m.parameters(), 1e-3), lf, prep or (lambda a: a)


def torch_epoch(model, opt, lf, X, Y, shuffle=True):
    """One epoch of the peer loop (peer_torch.py): randperm, slice batches, zero_grad/forward/backward/step."""
    import torch
    n = len(Y)
    p = torch.randperm(n, device=X.device) if shuffle else torch.arange(n, device=X.device)
    for i in range(0, n, BATCH):
        idx = p[i:i + BATCH]
        opt.zero_grad()
        loss = lf(model(X[idx]), Y[idx])
        loss.backward()
        opt.step()
    return float(loss.detach())
