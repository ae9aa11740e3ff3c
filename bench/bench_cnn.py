"""Fashion-MNIST CNN training step, nerve vs PyTorch eager, side by side in one run (batch 128, Adam 1e-3).

    python bench/bench_cnn.py [STEPS] [--threads N]   (N BLAS / torch threads for both; default 2)

Workload (shared/bench/peers/README.md): Conv2D(32,3,relu)-MaxPool-Conv2D(64,3,relu)-MaxPool-Flatten-
Dense(128,relu)-Dense(10). Random data of the right shape (the step time does not depend on the values).
Each framework runs in its own subprocess (so that one's spinning OpenMP/OpenBLAS worker threads never
steal cores from the other), in alternating rounds nerve, torch, nerve, torch, ...; the table
gives the median wall-clock ms per step, the median CPU ms per step (process time, all threads: on a busy
machine it shows the work done, while wall time also counts waiting for a core) and the ratios
nerve/torch. Quote ratios from one run only.
"""
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


def measure(which, steps):
    """Median wall and CPU ms per step of one framework, in this process."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (128, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 128).astype("int64")
    f = nerve_step_fn(x, y) if which == "nerve" else torch_step_fn(x, y)
    for _ in range(3):
        f()
    wall, cpu = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)) * 1e3, float(np.median(cpu)) * 1e3


def main(steps=20, rounds=2):
    import json
    import subprocess
    res = {"nerve": [], "torch": []}
    for _ in range(rounds):
        for which in res:
            out = subprocess.run([sys.executable, __file__, "--worker", which, str(steps), "--threads", str(THREADS)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"  {which}: failed ({out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode})")
                continue
            res[which].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: float(np.median([r[0] for r in v])) for k, v in res.items() if v}
    medc = {k: float(np.median([r[1] for r in v])) for k, v in res.items() if v}
    print(f"CNN train step, batch 128, {THREADS} thread(s) ({rounds} rounds x {steps} steps, one process per "
          f"framework and round; medians)")
    for k, v in med.items():
        print(f"  {k:6s} wall {v:8.1f} ms/step ({v * 469 / 1e3:6.1f} s/epoch)   cpu {medc[k]:8.1f} ms/step")
    if len(med) == 2:
        print(f"  ratio nerve/torch: wall {med['nerve'] / med['torch']:.2f}, cpu {medc['nerve'] / medc['torch']:.2f}")
    return med, medc


if __name__ == "__main__":
    if "--worker" in sys.argv:
        i = sys.argv.index("--worker")
        print(list(measure(sys.argv[i + 1], int(sys.argv[i + 2]))))
    else:
        args = [a for i, a in enumerate(sys.argv[1:], 1) if a != "--threads" and sys.argv[i - 1] != "--threads"]
        main(int(args[0]) if args else 20)
