"""Run by the reliability tests in a fresh process (not collected by pytest: no test_ prefix).

    python train_script.py determinism SEED OUT.npz   seeded MLP fit (Dropout, shuffle, validation): weights
                                                      and history to OUT.npz
    python train_script.py memory EPOCHS OUT.npz      tiny MLP fit for EPOCHS epochs: RSS (VmRSS, kB) and the
                                                      number of live Tensors at the end of each epoch
"""
import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import nerve  # noqa: E402
from nerve.autograd.tensor import Tensor  # noqa: E402
from nerve.callbacks import Callback  # noqa: E402
from nerve.layers import Dense, Dropout, Input  # noqa: E402
from nerve.models import Sequential  # noqa: E402


def rss_kb():
    """Resident set size now (Linux /proc; elsewhere the peak from resource, which only grows)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def live_tensors():
    return sum(1 for o in gc.get_objects() if isinstance(o, Tensor))


def determinism(seed, out):
    nerve.set_random_seed(seed)
    data = np.random.default_rng(0)
    x = data.normal(size=(96, 6)).astype("float32")
    y = data.integers(0, 3, size=96)
    m = Sequential([Input(shape=(6,)), Dense(32, activation="relu"), Dropout(0.3), Dense(16, activation="tanh"),
                    Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, shuffle=True, verbose=0)
    hist = {f"h_{k}": np.array(v, dtype=np.float64) for k, v in h.history.items()}
    np.savez(out, *m.get_weights(), **hist)


class Probe(Callback):
    def __init__(self):
        super().__init__()
        self.rss, self.tensors = [], []

    def on_epoch_end(self, epoch, logs=None):
        gc.collect()
        self.rss.append(rss_kb())
        self.tensors.append(live_tensors())


def memory(epochs, out):
    nerve.set_random_seed(0)
    data = np.random.default_rng(0)
    x = data.normal(size=(1024, 64)).astype("float32")
    y = data.integers(0, 10, size=1024)
    m = Sequential([Input(shape=(64,)), Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)])
    m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    probe = Probe()
    m.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1, verbose=0, callbacks=[probe])
    np.savez(out, rss=np.array(probe.rss), tensors=np.array(probe.tensors))


if __name__ == "__main__":
    mode, arg, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    {"determinism": determinism, "memory": memory}[mode](arg, out)
