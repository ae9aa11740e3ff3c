"""Where a nerve training step spends its host time on the GPU: cProfile of one Model.fit epoch of N batches
(after a warm-up), sorted by own time, plus the wall time per step with and without a device sync per step.

    python bench/gpu_profile.py [WORKLOAD] [STEPS]      (defaults: cnn 100)
"""
import cProfile
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]


def main():
    import cupy as cp
    import nerve
    import workloads as W
    name = sys.argv[1] if len(sys.argv) > 1 else "cnn"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    x, y = W.load_data(name)
    n = steps * W.BATCH
    with nerve.device("gpu"):
        m = W.nerve_model(name)
    xg, yg = cp.asarray(x[:n]), cp.asarray(y[:n])
    fit = lambda: m.fit(xg, yg, batch_size=W.BATCH, epochs=1, verbose=0, shuffle=False)  # noqa: E731
    fit()
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    fit()
    cp.cuda.Device().synchronize()
    print(f"{name}: {(time.perf_counter() - t) / steps * 1e3:.3f} ms/step (fit, {steps} steps)")
    prof = cProfile.Profile()
    prof.enable()
    fit()
    cp.cuda.Device().synchronize()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
