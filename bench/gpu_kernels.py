"""GPU time per kernel of one workload's training steps, nerve (CuPy) and PyTorch side by side: the CUDA
kernels that the torch profiler (CUPTI, process-wide: it sees CuPy's kernels too) records over N steps after
a warm-up, summed by name, with the device time per step of each framework.

    python bench/gpu_kernels.py [WORKLOAD] [STEPS]      (defaults: cnn 20)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]


def table(prof, steps, label, rows=18):
    ev = [e for e in prof.key_averages() if getattr(e, "self_device_time_total", 0) > 0]
    ev.sort(key=lambda e: -e.self_device_time_total)
    total = sum(e.self_device_time_total for e in ev)
    print(f"{label}: device time {total / steps / 1e3:.3f} ms/step over {steps} steps, "
          f"{sum(e.count for e in ev) / steps:.0f} kernels/step")
    for e in ev[:rows]:
        print(f"  {e.self_device_time_total / steps:8.1f} us/step {e.count / steps:5.1f}x  {e.key[:110]}")


def main():
    import cupy as cp
    import torch
    from torch.profiler import ProfilerActivity, profile

    import nerve
    import workloads as W
    name = sys.argv[1] if len(sys.argv) > 1 else "cnn"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    x, y = W.load_data(name)
    n = steps * W.BATCH
    with nerve.device("gpu"):
        m = W.nerve_model(name)
    xg, yg = cp.asarray(x[:n]), cp.asarray(y[:n])
    fit = lambda: m.fit(xg, yg, batch_size=W.BATCH, epochs=1, verbose=0, shuffle=False)  # noqa: E731
    fit()
    cp.cuda.Device().synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fit()
        cp.cuda.Device().synchronize()
    table(prof, steps, f"nerve {name}")

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
    table(prof, steps, f"torch {name}")


if __name__ == "__main__":
    main()
