"""Where a nerve training step spends its time on the GPU, next to PyTorch's:

  host:   cProfile of one Model.fit epoch of N batches (after a warm-up), sorted by own time;
  device: the CUDA kernels that the torch profiler (CUPTI, process-wide: it sees CuPy's kernels too) records
          over N steps of nerve and of PyTorch, summed by name, with each framework's device time per step.

    python bench/gpu_profile.py [WORKLOAD] [STEPS] [--host-only | --device-only]     (defaults: cnn 20)
"""
import cProfile
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]
ARGV = [a for a in sys.argv[1:] if not a.startswith("--")]


def kernel_table(prof, steps, label, rows=18):
    ev = [e for e in prof.key_averages() if getattr(e, "self_device_time_total", 0) > 0]
    ev.sort(key=lambda e: -e.self_device_time_total)
    total = sum(e.self_device_time_total for e in ev)
    print(f"{label}: device time {total / steps / 1e3:.3f} ms/step over {steps} steps, "
          f"{sum(e.count for e in ev) / steps:.0f} kernels/step")
    for e in ev[:rows]:
        print(f"  {e.self_device_time_total / steps:8.1f} us/step {e.count / steps:5.1f}x  {e.key[:110]}")


def main():
    import cupy as cp

    import nerve
    import workloads as W
    name = ARGV[0] if ARGV else "cnn"
    steps = int(ARGV[1]) if len(ARGV) > 1 else 20
    x, y = W.load_data(name)
    n = steps * W.BATCH
    with nerve.device("gpu"):
        m = W.nerve_model(name)
    xg, yg = cp.asarray(x[:n]), cp.asarray(y[:n])

    def fit():
        m.fit(xg, yg, batch_size=W.BATCH, epochs=1, verbose=0, shuffle=False)
        cp.cuda.Device().synchronize()
    fit()
    t = time.perf_counter()
    fit()
    print(f"nerve {name}: {(time.perf_counter() - t) / steps * 1e3:.3f} ms/step (fit, {steps} steps)")
    if "--device-only" not in sys.argv:
        prof = cProfile.Profile()
        prof.enable()
        fit()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    if "--host-only" in sys.argv:
        return
    import torch
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fit()
    kernel_table(prof, steps, f"nerve {name}")
    model, opt, lf, prep = W.torch_model(name, device="cuda")
    X, Y = torch.from_numpy(prep(x[:n])).cuda(), torch.from_numpy(y[:n]).cuda()

    def loop():
        for s in range(steps):
            sl = slice(s * W.BATCH, (s + 1) * W.BATCH)
            opt.zero_grad()
            lf(model(X[sl]), Y[sl]).backward()
            opt.step()
        torch.cuda.synchronize()
    loop()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        loop()
    kernel_table(prof, steps, f"torch {name}")


if __name__ == "__main__":
    main()
