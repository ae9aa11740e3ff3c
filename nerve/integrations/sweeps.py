"""Hyper-parameter sweeps in the style of R's tfruns (seed S0 §1.7).

A training script or function declares its flags with defaults::

    FLAGS = flags(nodes1=256, dropout1=0.4, optimizer="rmsprop")     # tfruns: flags(flag_numeric(...))

and a sweep runs it once per combination of candidate values::

    results = tuning_run(train, flags={"nodes1": [64, 128], "dropout1": [0.2, 0.4]}, sample=None,
                         runs_dir="runs", metric="val_loss", mode="min", seed=0)
    print(results)                     # the table, best run first

``train(FLAGS)`` returns a ``History`` (what ``fit`` returns) or a dict of final metrics; a script file
calls ``report(history)`` (or leaves a ``History`` in a global named ``history``). Every run is a
directory ``<runs_dir>/run-0003/`` with ``config.json`` (flags, seed, script), ``history.csv`` (one row per
epoch) and ``metrics.json`` (last-epoch values and the best value of the sweep metric). ``sample=0.3`` (a
fraction, as tfruns) or ``sample=5`` (a count) draws a random subset of the grid with ``seed``;
``sampler="optuna"`` lets Optuna's TPE sampler choose ``n_trials`` combinations instead (optional package).
Every run is seeded with ``seed`` (weights, dropout, shuffling), so a run's result depends only on its flags:
the same plan run serially or on a Dask cluster (``nerve.integrations.distributed``) gives the same table.
"""
import contextlib
import csv
import itertools
import json
import math
import os
import runpy
import time

import numpy as np

from .seeding import seeded

_ACTIVE = {"flags": None, "report": None}


# ---------------------------------------------------------------------------------------------- flags
def flags(**defaults):
    """The run's flags: ``defaults`` overridden by the active sweep run (or by ``NERVE_FLAGS``, a JSON dict).

    A flag the sweep sets but the script does not declare is an error (tfruns does the same)."""
    overrides = _ACTIVE["flags"]
    if overrides is None and os.environ.get("NERVE_FLAGS"):
        overrides = json.loads(os.environ["NERVE_FLAGS"])
    out = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError(f"flags: the sweep sets flag {key!r} but the script declares only {sorted(defaults)}")
        default = defaults[key]
        if isinstance(default, (int, float)) and not isinstance(default, bool) and isinstance(value, str):
            value = type(default)(float(value)) if isinstance(default, int) and float(value).is_integer() else float(value)
        out[key] = value
    return out


def report(result):
    """Hand the run's result (a History or a dict of metrics) to the sweep running this script."""
    _ACTIVE["report"] = result


@contextlib.contextmanager
def _active_run(run_flags):
    saved = dict(_ACTIVE)
    _ACTIVE.update(flags=dict(run_flags), report=None)
    try:
        yield _ACTIVE
    finally:
        _ACTIVE.update(saved)


# ---------------------------------------------------------------------------------------------- plans
def grid(flag_values):
    """Every combination of the candidate values, in the order the flags and values are given."""
    for key, values in flag_values.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid: flag {key!r} needs a list of candidate values, got {values!r}")
    keys = list(flag_values)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(list(flag_values[k]) for k in keys))]


def plan(flag_values, sample=None, seed=0):
    """The runs of a sweep: the full grid, or a random subset (``sample`` a fraction in (0, 1] or a count)."""
    combos = grid(flag_values)
    if sample is None:
        return combos
    if isinstance(sample, float) and 0 < sample <= 1:
        n = max(1, int(math.ceil(sample * len(combos))))
    elif isinstance(sample, (int, np.integer)) and not isinstance(sample, bool) and sample >= 1:
        n = min(int(sample), len(combos))
    else:
        raise ValueError(f"plan: argument 'sample' must be a fraction in (0, 1] or a positive count, got {sample!r}")
    picked = np.random.default_rng(seed).choice(len(combos), size=n, replace=False)
    return [combos[i] for i in sorted(picked)]


# ---------------------------------------------------------------------------------------------- one run
def _load_target(target):
    """A callable, a script path, or 'package.module:function'."""
    if callable(target):
        return target
    if isinstance(target, str) and ":" in target and not os.path.exists(target):
        import importlib
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)
    if isinstance(target, (str, os.PathLike)) and os.path.isfile(target):
        return str(target)
    raise ValueError(f"tuning_run: target must be a function, a script path or 'module:function', got {target!r}")


def _to_record(result):
    """History / dict -> (history rows as {key: list}, final metrics dict)."""
    hist = getattr(result, "history", result)
    if not isinstance(hist, dict):
        raise TypeError(f"tuning_run: a run must return a History or a dict of metrics, got {type(result).__name__}")
    series = {k: [float(x) for x in v] for k, v in hist.items() if isinstance(v, (list, tuple))}
    scalars = {k: float(v) for k, v in hist.items() if not isinstance(v, (list, tuple))}
    final = {k: v[-1] for k, v in series.items() if v}
    final.update(scalars)
    return series, final


def _blas_threads(n):
    """Limit BLAS threads for the run (same summation order in any process, so bit-identical results)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl results still agree to float rounding
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def execute_run(target, run_flags, seed=0, blas_threads=1):
    """Run one configuration, seeded; returns a JSON-able record (what a run directory holds).

    This is what a Dask worker executes: it writes nothing, the caller writes the run directory. BLAS runs
    on ``blas_threads`` threads (1: a Dask worker's default), so a run gives the same bits on any worker."""
    fn = _load_target(target)
    start = time.time()
    with _active_run(run_flags) as active, seeded(seed), _blas_threads(blas_threads):
        if isinstance(fn, str):
            glb = runpy.run_path(fn, run_name="__main__")
            result = active["report"] if active["report"] is not None else glb.get("history")
            if result is None:
                raise ValueError(f"tuning_run: script {fn} neither called report(...) nor left a 'history'")
        else:
            result = fn(flags(**run_flags))
    series, final = _to_record(result)
    return {"flags": dict(run_flags), "seed": seed, "history": series, "metrics": final,
            "seconds": round(time.time() - start, 3)}


def write_run_dir(path, record, script=None):
    """``config.json``, ``history.csv`` and ``metrics.json`` for one run."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump({"flags": record["flags"], "seed": record["seed"], "script": script}, f, indent=2, default=str)
    keys = list(record["history"])
    n = max((len(v) for v in record["history"].values()), default=0)
    with open(os.path.join(path, "history.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch"] + keys)
        for i in range(n):
            w.writerow([i] + [record["history"][k][i] if i < len(record["history"][k]) else "" for k in keys])
    with open(os.path.join(path, "metrics.json"), "w") as f:
        json.dump({**record["metrics"], "seconds": record["seconds"]}, f, indent=2)


# ---------------------------------------------------------------------------------------------- results
class SweepResults:
    """The runs of a sweep as rows (run, flags..., metrics...), sorted by ``metric`` (best first)."""

    def __init__(self, records, metric, mode="min", runs_dir=None):
        if mode not in ("min", "max"):
            raise ValueError(f"SweepResults: argument 'mode' must be 'min' or 'max', got {mode!r}")
        self.metric, self.mode, self.runs_dir, self.records = metric, mode, runs_dir, list(records)
        missing = [r["run"] for r in self.records if metric not in r["metrics"]]
        if missing:
            known = sorted(self.records[0]["metrics"]) if self.records else []
            raise ValueError(f"SweepResults: metric {metric!r} missing from runs {missing}; the runs report {known}")
        sign = 1 if mode == "min" else -1
        self.rows = sorted(({"run": r["run"], **r["flags"], **r["metrics"]} for r in self.records),
                           key=lambda row: (sign * row[metric], row["run"]))

    @property
    def best(self):
        return self.rows[0] if self.rows else None

    def columns(self):
        cols = []
        for row in self.rows:
            cols += [c for c in row if c not in cols]
        return cols

    def to_csv(self, path):
        cols = self.columns()
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(self.rows)
        return path

    def __str__(self):
        cols = self.columns()
        fmt = [[c] + [_fmt(row.get(c, "")) for row in self.rows] for c in cols]
        widths = [max(len(s) for s in col) for col in fmt]
        lines = ["  ".join(col[i].ljust(w) for col, w in zip(fmt, widths)) for i in range(len(self.rows) + 1)]
        return f"sweep sorted by {self.metric} ({self.mode})\n" + "\n".join(lines)

    __repr__ = __str__


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------------------------- the sweep
def finish(records, runs_dir, metric, mode, script=None):
    """Write every run directory and the results table (``<runs_dir>/results.csv``)."""
    for rec in records:
        write_run_dir(os.path.join(runs_dir, rec["run"]), rec, script)
    results = SweepResults(records, metric, mode, runs_dir)
    results.to_csv(os.path.join(runs_dir, "results.csv"))
    return results


def tuning_run(target, flags=None, sample=None, runs_dir="runs", metric="val_loss", mode="min", seed=0,
               sampler="grid", n_trials=None, executor=None):
    """Run ``target`` once per planned flag combination; every run recorded; the table sorted by ``metric``.

    ``sampler``: "grid" (all, or a ``sample`` of them) or "optuna" (``n_trials`` chosen by Optuna's TPE
    sampler seeded with ``seed``; needs ``pip install optuna``). ``executor``: a callable mapping a list of
    (target, flags, seed) tasks to records, e.g. ``distributed.DaskExecutor(...)``; default: in this process.
    """
    target = _load_target(target)
    flag_values = dict(flags or {})
    script = target if isinstance(target, str) else f"{getattr(target, '__module__', '?')}:{target.__qualname__}"
    if sampler == "optuna":
        records = _optuna_records(target, flag_values, n_trials, metric, mode, seed)
    elif sampler == "grid":
        combos = plan(flag_values, sample, seed)
        tasks = [(target, c, seed) for c in combos]
        records = executor(tasks) if executor is not None else [execute_run(*t) for t in tasks]
        for i, rec in enumerate(records):
            rec["run"] = f"run-{i + 1:04d}"
    else:
        raise ValueError(f"tuning_run: argument 'sampler' must be 'grid' or 'optuna', got {sampler!r}")
    return finish(records, runs_dir, metric, mode, script)


def _optuna_records(target, flag_values, n_trials, metric, mode, seed):
    try:
        import optuna
    except ImportError as e:
        raise ImportError("tuning_run(sampler='optuna') needs the optuna package: pip install optuna") from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n_trials = n_trials or len(grid(flag_values))
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    records = []

    def objective(trial):
        run_flags = {k: trial.suggest_categorical(k, list(v)) for k, v in flag_values.items()}
        rec = execute_run(target, run_flags, seed)
        rec["run"] = f"run-{len(records) + 1:04d}"
        records.append(rec)
        if metric not in rec["metrics"]:
            raise ValueError(f"tuning_run: metric {metric!r} not reported; the run reports {sorted(rec['metrics'])}")
        return rec["metrics"][metric]

    study.optimize(objective, n_trials=n_trials)
    return records
