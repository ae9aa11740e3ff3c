"""GPU benchmark: the bench_training.py workloads on CuPy (nerve) vs PyTorch CUDA eager, on the same card.

    python bench/gpu_bench.py [--steps N] [--rounds R] [--only mlp,cnn,...] [--unfused] [--mixed] [--out FILE]
    (defaults: 50 steps x 5 rounds; --unfused also times nerve with its fused GPU kernels off; --mixed runs both
    in mixed precision: nerve under the 'mixed_float16' policy with its automatic loss scaling, torch under
    torch.autocast(float16) with a GradScaler)

Needs a CUDA GPU with CuPy (for nerve) and/or a CUDA build of PyTorch. Without a GPU it prints why and exits
with status 2 (nothing is timed). Per workload both frameworks run alternating rounds of N training steps
(batch 128, Adam 1e-3, float32, data already on the device; nerve: one Model.fit epoch of N batches, torch: its
usual eager loop); the table gives the median ms per step,
seconds per Fashion-MNIST epoch (469 steps) and the ratio nerve/torch, plus the card's name. A workload
that nerve cannot yet run on CuPy is reported with its error instead of a time (the torch side still runs).
Results also go to bench/gpu_results.json.
"""
import json
import os
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]
ARGV = sys.argv[1:]


def _opt(name, default, cast=str):
    return cast(ARGV[ARGV.index(name) + 1]) if name in ARGV else default


def probe():
    """(cupy or None, torch or None, card name, reasons) without raising."""
    reasons, cp, th, card = [], None, None, None
    try:
        import cupy
        n = cupy.cuda.runtime.getDeviceCount()
        if n > 0:
            cp = cupy
            card = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        else:
            reasons.append("CuPy sees no CUDA device")
    except Exception as e:  # ImportError, CUDA driver/runtime errors
        reasons.append(f"CuPy unavailable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    try:
        import torch
        if torch.cuda.is_available():
            th = torch
            card = card or torch.cuda.get_device_name(0)
        else:
            reasons.append(f"PyTorch {torch.__version__} has no CUDA device (CPU build or no GPU)")
    except ImportError as e:
        reasons.append(f"PyTorch unavailable ({e})")
    return cp, th, card, reasons


def nerve_cupy_runner(cp, name, x, y, kernels=True):
    """A nerve model built under nerve.device("gpu") (weights and optimizer slots are CuPy arrays); run(steps)
    is one Model.fit epoch of ``steps`` batches over device arrays (no shuffle, as the torch loop), with the
    fused GPU kernels (ops/gpu.py) on or off."""
    import nerve
    import workloads as W
    from nerve.autograd.ops import gpu
    if "--mixed" in ARGV:
        nerve.mixed_precision.set_global_policy("mixed_float16")
    try:
        with nerve.device("gpu"):
            m = W.nerve_model(name)
    finally:
        nerve.mixed_precision.set_global_policy("float32")
    xg, yg = cp.asarray(x), cp.asarray(y)

    def run(steps):
        gpu.set_enabled(kernels)
        n = steps * W.BATCH
        m.fit(xg[:n], yg[:n], batch_size=W.BATCH, epochs=1, verbose=0, shuffle=False)
        cp.cuda.Device().synchronize()
    return run


def torch_cuda_runner(th, name, x, y):
    import workloads as W
    model, opt, lf, prep = W.torch_model(name, device="cuda")
    X, Y = th.from_numpy(prep(x)).cuda(), th.from_numpy(y).cuda()
    n = len(y)
    mixed = "--mixed" in ARGV
    scaler = th.amp.GradScaler("cuda") if mixed else None

    def run(steps):
        for s in range(steps):
            i = (s * W.BATCH) % (n - W.BATCH)
            opt.zero_grad()
            if mixed:
                with th.autocast("cuda", dtype=th.float16):
                    loss = lf(model(X[i:i + W.BATCH]), Y[i:i + W.BATCH])
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                lf(model(X[i:i + W.BATCH]), Y[i:i + W.BATCH]).backward()
                opt.step()
        th.cuda.synchronize()
    return run


def main():
    import workloads as W
    cp, th, card, reasons = probe()
    if cp is None and th is None:
        print("gpu_bench: no GPU to benchmark on this machine -", "; ".join(reasons) + ".", file=sys.stderr)
        print("gpu_bench: run it on a machine with an NVIDIA GPU, CuPy (pip install cupy-cuda12x) and a CUDA "
              "build of torch==2.13.0.", file=sys.stderr)
        return 2
    for r in reasons:
        print(f"gpu_bench: note: {r}", file=sys.stderr)
    steps, rounds = _opt("--steps", 50, int), _opt("--rounds", 5, int)
    names = _opt("--only", ",".join(W.NAMES)).split(",")
    precision = "mixed_float16" if "--mixed" in ARGV else "float32"
    results = {"card": card, "steps": steps, "rounds": rounds, "precision": precision, "workloads": {}}
    print(f"GPU: {card}; {precision}; {steps} steps x {rounds} rounds per framework, alternating")
    for name in names:
        x, y = W.load_data(name)
        runs, errors = {}, {}
        unfused = cp if "--unfused" in ARGV else None
        makers = (("nerve", lambda *a: nerve_cupy_runner(*a, kernels=True), cp),
                  ("nerve_unfused", lambda *a: nerve_cupy_runner(*a, kernels=False), unfused),
                  ("torch", torch_cuda_runner, th))
        for fw, make, mod in makers:
            if mod is None:
                if fw != "nerve_unfused":
                    errors[fw] = "not available"
                continue
            try:
                runs[fw] = make(mod, name, x, y)
                runs[fw](3)  # warm-up: kernels compiled, memory pools filled
            except Exception as e:
                errors[fw] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
                runs.pop(fw, None)
                traceback.print_exc()
        times = {fw: [] for fw in runs}
        for _ in range(rounds):
            for fw, run in list(runs.items()):
                t = time.perf_counter()
                try:
                    run(steps)
                except Exception as e:
                    errors[fw] = f"{type(e).__name__}: {e}"[:200]
                    del runs[fw]
                    continue
                times[fw].append((time.perf_counter() - t) / steps)
        ms = {fw: float(np.median(v)) * 1e3 for fw, v in times.items() if v}
        results["workloads"][name] = {"ms_per_step": ms, "errors": errors}
        epoch = len(y) / W.BATCH / 1e3
        row = "  ".join(f"{fw} {v:7.2f} ms/step ({v * epoch:6.2f} s/epoch)" for fw, v in ms.items())
        ratio = f"  nerve/torch {ms['nerve'] / ms['torch']:.2f}" if "nerve" in ms and "torch" in ms else ""
        err = "  " + "; ".join(f"{fw}: {e}" for fw, e in errors.items()) if errors else ""
        print(f"{name:5s} {row}{ratio}{err}", flush=True)
    with open(_opt("--out", os.path.join(HERE, "gpu_results.json")), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
