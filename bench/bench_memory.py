"""Peak RSS per epoch of the MLP workload (issue 9 item 6: graphs are freed, memory stays flat).

    python bench/bench_memory.py [EPOCHS] [--samples N] [--threads N]   (defaults: 10 epochs, 60000, 2)

Workload: Fashion-MNIST-shaped random data (N x 784 float32, 10 classes), MLP 784-256-128-10 (relu),
Adam 1e-3, batch 128, SparseCategoricalCrossentropy(from_logits=True). At each epoch end the table gives
VmRSS (resident now), VmHWM (peak so far) from /proc/self/status (Linux; elsewhere resource's ru_maxrss
peak only), their change since epoch 1, and the number of live Tensors (after gc.collect). Flat RSS and a
constant Tensor count after the first epoch mean no graph or batch outlives its step.
"""
import gc
import os
import sys
import time

THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nerve  # noqa: E402
from nerve import layers as L  # noqa: E402
from nerve.autograd.tensor import Tensor  # noqa: E402


def memory_kb():
    """(VmRSS, VmHWM) in kB; (None, ru_maxrss) where /proc is missing."""
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1])
        return out["VmRSS"], out["VmHWM"]
    except (OSError, KeyError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return None, peak // 1024 if sys.platform == "darwin" else peak


class MemoryLog(nerve.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []
        self.t0 = None

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        gc.collect()
        rss, peak = memory_kb()
        tensors = sum(1 for o in gc.get_objects() if isinstance(o, Tensor))
        self.rows.append((epoch + 1, rss, peak, tensors, seconds, logs.get("loss")))


def main():
    args = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and
            not sys.argv[i - 1].startswith("--")]
    epochs = int(args[0]) if args else 10
    n = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 60000
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=n)
    nerve.set_random_seed(0)
    model = nerve.Sequential([L.Input((784,)), L.Dense(256, activation="relu"), L.Dense(128, activation="relu"),
                              L.Dense(10)])
    model.compile(optimizer=nerve.optimizers.Adam(1e-3),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rss0, _ = memory_kb()
    log = MemoryLog()
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=0, callbacks=[log])
    print(f"MLP 784-256-128-10, {n} samples, batch 128, {THREADS} BLAS thread(s); RSS before fit "
          f"{(rss0 or 0) / 1024:.1f} MB (data {x.nbytes / 2**20:.1f} MB)")
    print(f"{'epoch':>5} {'RSS MB':>8} {'peak MB':>8} {'dRSS MB':>8} {'dpeak MB':>9} {'tensors':>8} {'s':>6} "
          f"{'loss':>8}")
    first = log.rows[0]
    for epoch, rss, peak, tensors, seconds, loss in log.rows:
        drss = "" if rss is None else f"{(rss - first[1]) / 1024:8.2f}"
        rss_s = "n/a" if rss is None else f"{rss / 1024:8.1f}"
        print(f"{epoch:>5} {rss_s:>8} {peak / 1024:8.1f} {drss:>8} {(peak - first[2]) / 1024:9.2f} {tensors:>8} "
              f"{seconds:6.2f} {loss:8.4f}")


if __name__ == "__main__":
    main()
