"""How long ``import nerve`` takes beyond ``import numpy``, in fresh interpreters.

    python bench/import_time.py [RUNS]

Each run starts a new Python, imports NumPy, then times ``import nerve`` alone, by the wall clock and
by the process's CPU time (which other load on the machine barely disturbs); the medians of RUNS
(default 7) are printed, with the heavy optional modules that nerve must NOT pull in at import.
"""
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = """
import sys, time
import numpy
t0, c0 = time.perf_counter(), time.process_time()
import nerve
dt, dc = time.perf_counter() - t0, time.process_time() - c0
heavy = sorted(m for m in ("torch", "matplotlib", "sklearn", "scipy", "cupy", "pandas") if m in sys.modules)
print(dt, dc, ",".join(heavy))
"""


def measure(runs=7):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    times, cpu, heavy = [], [], set()
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=env)
        if r.returncode != 0:
            raise SystemExit(f"import_time: `import nerve` failed in a fresh process:\n{r.stderr}")
        out = r.stdout.split()
        times.append(float(out[0]))
        cpu.append(float(out[1]))
        heavy.update(m for m in (out[2].split(",") if len(out) > 2 else []) if m)
    return times, cpu, sorted(heavy)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    runs = int(argv[0]) if argv else 7
    times, cpu, heavy = measure(runs)
    ms, cms = sorted(1000 * t for t in times), sorted(1000 * t for t in cpu)
    print(f"import nerve beyond import numpy, median of {runs} fresh processes: {statistics.median(ms):.1f} ms "
          f"wall (min {ms[0]:.1f}, max {ms[-1]:.1f}), {statistics.median(cms):.1f} ms CPU "
          f"(min {cms[0]:.1f}, max {cms[-1]:.1f}); budget 300 ms; load average {os.getloadavg()[0]:.1f}")
    print("heavy modules pulled in by import nerve: " + (", ".join(heavy) if heavy else "none"))
    return 0 if statistics.median(ms) < 300 and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
