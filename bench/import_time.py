"""How long ``import nerve`` takes beyond ``import numpy``, in fresh interpreters.

    python bench/import_time.py [RUNS]

Each run starts a new Python, imports NumPy, then times ``import nerve`` alone; the median of RUNS
(default 7) is printed, with the heavy optional modules that nerve must NOT pull in at import.
"""
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = """
import sys, time
import numpy
t0 = time.perf_counter()
import nerve
dt = time.perf_counter() - t0
heavy = sorted(m for m in ("torch", "matplotlib", "sklearn", "scipy", "cupy", "pandas") if m in sys.modules)
print(dt, ",".join(heavy))
"""


def measure(runs=7):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    times, heavy = [], set()
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=env)
        if r.returncode != 0:
            raise SystemExit(f"import_time: `import nerve` failed in a fresh process:\n{r.stderr}")
        out = r.stdout.split()
        times.append(float(out[0]))
        heavy.update(m for m in (out[1].split(",") if len(out) > 1 else []) if m)
    return times, sorted(heavy)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    runs = int(argv[0]) if argv else 7
    times, heavy = measure(runs)
    ms = sorted(1000 * t for t in times)
    print(f"import nerve beyond import numpy: median {statistics.median(ms):.1f} ms over {runs} fresh "
          f"processes (min {ms[0]:.1f}, max {ms[-1]:.1f}); budget 300 ms")
    print("heavy modules pulled in by import nerve: " + (", ".join(heavy) if heavy else "none"))
    return 0 if statistics.median(ms) < 300 and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
