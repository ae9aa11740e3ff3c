"""Training benchmark: nerve vs PyTorch eager (and scikit-learn's MLPClassifier for the MLP), side by side.

    python bench/bench_training.py [--epochs E] [--steps N] [--rounds R] [--quick] [--only mlp,cnn,...]
                                   [--threads T] [--no-memory] [--out DIR]

Workloads: bench/workloads.py (mlp, cnn, lstm, gru, ae, text), batch 128, Adam 1e-3, float32, T threads
(default 2: OPENBLAS/OMP threads and torch.set_num_threads). Per workload the frameworks are timed in
alternating rounds (nerve, torch, sklearn, nerve, torch, ...), so a busy machine hurts all alike, each round in
a fresh worker process (a framework's idle BLAS/OpenMP threads spin for a while after each call and would
steal the cores from the other one in a shared process); medians over the rounds are reported:
  * default: R full epochs each (R = --epochs, default 3): nerve ``model.fit(epochs=1, verbose=0)``, torch the
    peer loop (randperm + slicing), sklearn ``partial_fit`` (one pass of Adam minibatches);
  * ``--steps N``: R rounds of N steps each, scaled to an epoch (469 steps for Fashion-MNIST);
  * ``--quick``: ``--steps 20 --rounds 3``.
Also: sgemm peak (best 1024^3 float32 GEMM in this run) and each framework's fraction of it (3x forward
FLOPs per sample), peak RSS per workload and framework (a separate process each that runs 30 steps: whole-
process VmHWM, and the growth over the RSS after setup, i.e. training memory), ``import nerve`` time beyond
NumPy and the size of the nerve package directory. Prints a table, writes bench/results.json and
bench/RESULTS.md (or --out DIR). Quote ratios from one run only; absolute times depend on the machine load
(the load average is recorded).
"""
import json
import os
import subprocess
import sys
import time

ARGV = sys.argv[1:]


def _opt(name, default, cast=str):
    return cast(ARGV[ARGV.index(name) + 1]) if name in ARGV else default


THREADS = _opt("--threads", 2, int)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

import workloads as W  # noqa: E402


def _hwm_rss_kb():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(line.split()[1])
    return out.get("VmHWM", 0), out.get("VmRSS", 0)


# ---------------------------------------------------------------------------------------------- runners
def _nerve_runner(name, x, y):
    m = W.nerve_model(name)

    def run(n_samples, shuffle=True):
        m.fit(x[:n_samples], y[:n_samples], batch_size=W.BATCH, epochs=1, verbose=0, shuffle=shuffle)
    return run


def _torch_runner(name, x, y):
    import torch
    torch.set_num_threads(THREADS)
    m, opt, lf, prep = W.torch_model(name)
    X, Y = torch.from_numpy(prep(x)), torch.from_numpy(y)

    def run(n_samples, shuffle=True):
        W.torch_epoch(m, opt, lf, X[:n_samples], Y[:n_samples], shuffle)
    return run


def _sklearn_runner(name, x, y):
    from sklearn.neural_network import MLPClassifier
    m = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam", batch_size=W.BATCH, learning_rate_init=1e-3,
                      random_state=0, shuffle=True)
    x2 = x.reshape(len(x), -1)
    classes = np.unique(y)

    def run(n_samples, shuffle=True):
        m.partial_fit(x2[:n_samples], y[:n_samples], classes=classes)
    return run


RUNNERS = {"nerve": _nerve_runner, "torch": _torch_runner, "sklearn": _sklearn_runner}


def frameworks_for(name):
    fws = ["nerve", "torch"]
    if name == "mlp":
        try:
            import sklearn  # noqa: F401
            fws.append("sklearn")
        except ImportError:
            pass
    return fws


# ---------------------------------------------------------------------------------------------- workers
def worker_time(name, fw, steps):
    """One timed round of one framework (after a warm-up); prints one JSON line {"wall_s": ..., "cpu_s": ...}
    scaled to an epoch. Each framework runs in its own process: a framework's idle worker threads keep spinning
    for a while after each parallel call (OpenBLAS, OpenMP), which would steal the cores from the other one."""
    x, y = W.load_data(name)
    n_epoch = len(y)
    run = RUNNERS[fw](name, x, y)
    n = steps * W.BATCH if steps else n_epoch
    scale = (n_epoch / W.BATCH) / steps if steps else 1.0  # steps -> seconds per epoch
    run(min(n, 4 * W.BATCH) if steps or n_epoch > 8 * W.BATCH else n)  # warm-up: build, allocate, compile
    t, c = time.perf_counter(), time.process_time()
    run(n)
    print("RESULT " + json.dumps({"wall_s": (time.perf_counter() - t) * scale,
                                  "cpu_s": (time.process_time() - c) * scale}), flush=True)


def time_workload(name, steps, rounds):
    """Alternating rounds nerve, torch, (sklearn), nerve, ... each in a fresh process; medians per framework."""
    fws = frameworks_for(name)
    wall, cpu = {fw: [] for fw in fws}, {fw: [] for fw in fws}
    for _ in range(rounds):
        for fw in fws:
            try:
                r = _spawn(["--worker-time", name, fw, "--steps", str(steps)])
            except RuntimeError as e:
                if "ImportError" in str(e) or "ModuleNotFoundError" in str(e):
                    continue
                raise
            wall[fw].append(r["wall_s"])
            cpu[fw].append(r["cpu_s"])
    return {fw: {"epoch_s": float(np.median(wall[fw])), "rounds_s": [round(v, 3) for v in wall[fw]],
                 "cpu_s": float(np.median(cpu[fw]))} for fw in fws if wall[fw]}


def worker_mem(name, fw, steps):
    """Peak RSS of one framework alone on one workload (VmHWM reset after setup via /proc/self/clear_refs)."""
    x, y = W.load_data(name)
    run = RUNNERS[fw](name, x, y)
    _, rss0 = _hwm_rss_kb()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak-RSS counter to the current RSS
    except OSError:
        pass
    run(steps * W.BATCH)
    hwm, _ = _hwm_rss_kb()
    print("RESULT " + json.dumps({"peak_mb": hwm / 1024, "train_mb": (hwm - rss0) / 1024}), flush=True)


def _spawn(args, timeout=3600):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = args + ["--threads", str(THREADS)]
    p = subprocess.run([sys.executable, os.path.abspath(__file__)] + args, capture_output=True, text=True,
                       env=env, timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker {args} failed (exit {p.returncode}):\n{p.stderr[-3000:]}")


# ---------------------------------------------------------------------------------------------- machine facts
def sgemm_peak(n=1024, reps=8):
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.copy()
    c = a @ b
    best = min(_timed(lambda: np.matmul(a, b, out=c)) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def import_time(runs=5):
    probe = ("import time, numpy; t = time.perf_counter(); import nerve; "
             "print(time.perf_counter() - t)")
    env = dict(os.environ, PYTHONPATH=ROOT)
    ts = [float(subprocess.run([sys.executable, "-X", "frozen_modules=on", "-c", probe], capture_output=True,
                               text=True, env=env, cwd=ROOT).stdout.split()[-1]) for _ in range(runs)]
    return float(np.median(ts))


def package_size_mb():
    total = 0
    for d, _, files in os.walk(os.path.join(ROOT, "nerve")):
        if "__pycache__" in d:
            continue
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return total / 1e6


# ---------------------------------------------------------------------------------------------- report
def _fmt_table(res, peak, meta):
    head = ("| workload | nerve s/epoch | torch s/epoch | nerve/torch | CPU-time ratio | sklearn s/epoch | "
            "nerve % peak | torch % peak | nerve peak RSS MB (train) | torch peak RSS MB (train) |")
    lines = [head, "|" + "---|" * 10]
    for name, r in res.items():
        t = r["time"]
        ne, to = t.get("nerve", {}).get("epoch_s"), t.get("torch", {}).get("epoch_s")
        sk = t.get("sklearn", {}).get("epoch_s")
        fl = 3 * W.fwd_flops(name) * r["n_epoch"] / 1e9

        def pct(s):
            return f"{100 * fl / s / peak:.0f}%" if s else "-"
        mem = r.get("mem", {})

        def mm(fw):
            m = mem.get(fw)
            return f"{m['peak_mb']:.0f} ({m['train_mb']:.0f})" if m else "-"
        cr = t["nerve"]["cpu_s"] / t["torch"]["cpu_s"] if ne and to and t["torch"]["cpu_s"] else float("nan")
        lines.append(f"| {name} | {ne:.2f} | {to:.2f} | **{ne / to:.2f}** | {cr:.2f} | "
                     f"{'%.2f' % sk if sk else '-'} | {pct(ne)} | {pct(to)} | {mm('nerve')} | {mm('torch')} |"
                     if ne and to else f"| {name} | {ne} | {to} | - | - | - | - | - | - | - |")
    lines.append("")
    lines.append(f"sgemm peak {peak:.0f} GFLOP/s (1024^3 float32, this run); `import nerve` {meta['import_s']:.3f} s "
                 f"beyond NumPy; nerve package {meta['size_mb']:.2f} MB; {THREADS} threads; mode {meta['mode']}; "
                 f"load average {meta['load_before']} -> {meta['load_after']}.")
    return "\n".join(lines)


def main():
    quick = "--quick" in ARGV
    steps = _opt("--steps", 20 if quick else 0, int)
    rounds = _opt("--rounds", _opt("--epochs", 3, int), int)
    names = _opt("--only", ",".join(W.NAMES)).split(",")
    out_dir = _opt("--out", HERE)
    load_before = " ".join(f"{v:.1f}" for v in os.getloadavg())
    peak = max(sgemm_peak() for _ in range(3))
    print(f"sgemm peak {peak:.0f} GFLOP/s; load average {load_before}", flush=True)
    res = {}
    for name in names:
        n_epoch = len(W.load_data(name)[1])
        print(f"[{name}] timing ({'%d steps x %d rounds' % (steps, rounds) if steps else '%d epochs' % rounds})",
              flush=True)
        t = time_workload(name, steps, rounds)
        res[name] = {"time": t, "n_epoch": n_epoch}
        if "--no-memory" not in ARGV:
            res[name]["mem"] = {fw: _spawn(["--worker-mem", name, fw, "--steps", "30"])
                                for fw in ("nerve", "torch")}
        print("   " + ", ".join(f"{fw} {v['epoch_s']:.2f} s/epoch" for fw, v in t.items()), flush=True)
    peak = max(peak, sgemm_peak())
    meta = {"import_s": import_time(), "size_mb": package_size_mb(), "threads": THREADS,
            "mode": f"{steps} steps x {rounds} rounds" if steps else f"{rounds} epochs",
            "load_before": load_before, "load_after": " ".join(f"{v:.1f}" for v in os.getloadavg()),
            "sgemm_gflops": peak, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    table = _fmt_table(res, peak, meta)
    print(table)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "workloads": res}, f, indent=1)
    block = (f"{BEGIN}\n# nerve training benchmark ({meta['date']})\n\nCommand: `python bench/bench_training.py "
             f"{' '.join(ARGV)}`\n\nSeconds per epoch (medians of alternating rounds, one process per framework and "
             f"round), fraction of the sgemm peak (3x forward FLOPs), peak RSS of each framework alone (separate "
             f"process, 30 steps; in brackets the growth over the RSS after setup).\n\n{table}\n{END}\n")
    write_results(os.path.join(out_dir, "RESULTS.md"), block)


BEGIN, END = "<!-- bench_training.py: begin -->", "<!-- bench_training.py: end -->"


def write_results(path, block):
    """Put the generated block into ``path``, keeping what the file holds outside the markers (notes written by
    hand); a file without markers gets the block on top of its old text."""
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        text = old[:old.index(BEGIN)] + block + "\n" + old[old.index(END) + len(END):].lstrip("\n")
    else:
        text = block + ("\n" + old if old else "")
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    if "--worker-time" in ARGV:
        i = ARGV.index("--worker-time")
        worker_time(ARGV[i + 1], ARGV[i + 2], _opt("--steps", 0, int))
    elif "--worker-mem" in ARGV:
        i = ARGV.index("--worker-mem")
        worker_mem(ARGV[i + 1], ARGV[i + 2], _opt("--steps", 30, int))
    else:
        main()
