"""Fashion-MNIST CNN training step, nerve vs PyTorch eager, side by side in one run (batch 128, Adam 1e-3).

    python bench/bench_cnn.py [STEPS] [--threads N]   (N BLAS / torch threads for both; default 2)

Workload (shared/bench/peers/README.md): Conv2D(32,3,relu)-MaxPool-Conv2D(64,3,relu)-MaxPool-Flatten-
Dense(128,relu)-Dense(10). Random data of the right shape (the step time does not depend on the values).
The two frameworks are timed in alternating rounds so that a busy machine hurts both alike; the table
gives the median wall-clock ms per step, the median CPU ms per step (process time, all threads: on a busy
machine it shows the work done, while wall time also counts waiting for a core) and the ratios
nerve/torch. Quote ratios from one run only.
"""
import os
import sys
import time

THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nerve  # noqa: E402
from nerve import layers as L  # noqa: E402


def nerve_step_fn(x, y):
    nerve.set_random_seed(0)
    model = nerve.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                              L.Dense(128, activation="relu"), L.Dense(10)])
    model.compile(optimizer=nerve.optimizers.Adam(1e-3),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    return lambda: model.train_on_batch(x, y)


def torch_step_fn(x, y):
    import torch
    import torch.nn as nn
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    lf = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = lf(m(xt), yt)
        loss.backward()
        opt.step()
    return step


def main(steps=20):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (128, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 128).astype("int64")
    fns = {"nerve": nerve_step_fn(x, y)}
    try:
        fns["torch"] = torch_step_fn(x, y)
    except ImportError:
        pass
    times = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for f in fns.values():
        for _ in range(3):
            f()
    for _ in range(steps):
        for k, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            f()
            times[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    medc = {k: float(np.median(v)) * 1e3 for k, v in cpu.items()}
    print(f"CNN train step, batch 128, {THREADS} thread(s) ({steps} steps each, alternating; medians)")
    for k, v in med.items():
        print(f"  {k:6s} wall {v:8.1f} ms/step ({v * 469 / 1e3:6.1f} s/epoch)   cpu {medc[k]:8.1f} ms/step")
    if "torch" in med:
        print(f"  ratio nerve/torch: wall {med['nerve'] / med['torch']:.2f}, cpu {medc['nerve'] / medc['torch']:.2f}")
    return med, medc


if __name__ == "__main__":
    args = [a for i, a in enumerate(sys.argv[1:], 1) if a != "--threads" and sys.argv[i - 1] != "--threads"]
    main(int(args[0]) if args else 20)
