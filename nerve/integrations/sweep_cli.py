"""``nerve sweep``: the command-line front end of ``nerve.integrations.sweeps`` (``sweep_main(argv)``).

    nerve sweep nerve.integrations.examples:mnistnn --flag nodes1=64,128 --flag dropout1=0.2,0.4 \\
        --sample 0.5 --metric val_accuracy --mode max --runs-dir runs/mnistnn [--dask local | --dask tcp://h:8786]
"""
import argparse
import sys


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _flag(text):
    name, sep, values = text.partition("=")
    if not sep or not name or not values:
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,... got {text!r}")
    return name, [_value(v) for v in values.split(",")]


def _sample(text):
    v = _value(text)
    if isinstance(v, str):
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1] or a count, got {text!r}")
    return v


def build_parser(prog="nerve sweep"):
    p = argparse.ArgumentParser(prog=prog, description="Run a training script or function once per combination of "
                                "flag values (tfruns-like); each run is recorded under --runs-dir.")
    p.add_argument("target", help="a script path (declares flags with nerve.integrations.sweeps.flags) or "
                                  "package.module:function")
    p.add_argument("--flag", action="append", type=_flag, default=[], metavar="NAME=V1,V2",
                   help="candidate values of one flag (repeat for each flag)")
    p.add_argument("--sample", type=_sample, default=None, help="random subset of the grid: fraction or count")
    p.add_argument("--sampler", choices=("grid", "optuna"), default="grid")
    p.add_argument("--n-trials", type=int, default=None, help="Optuna trials (default: the grid size)")
    p.add_argument("--metric", default="val_loss", help="metric that sorts the table (default: val_loss)")
    p.add_argument("--mode", choices=("min", "max"), default="min")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--dask", default=None, metavar="local|ADDRESS",
                   help="run on Dask: 'local' starts a LocalCluster, otherwise a scheduler address")
    p.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (default 2)")
    return p


def sweep_main(argv=None):
    """Entry point for ``nerve sweep``; returns the exit status (0 on success)."""
    args = build_parser().parse_args(argv)
    from . import sweeps
    flags = dict(args.flag)
    if args.dask is not None:
        if args.sampler != "grid":
            print("nerve sweep: --dask runs grid or sampled sweeps; Optuna trials run in this process",
                  file=sys.stderr)
            return 2
        from .distributed import dask_tuning_run
        results = dask_tuning_run(args.target, flags=flags, sample=args.sample, runs_dir=args.runs_dir,
                                  metric=args.metric, mode=args.mode, seed=args.seed,
                                  address=None if args.dask == "local" else args.dask, n_workers=args.workers)
    else:
        results = sweeps.tuning_run(args.target, flags=flags, sample=args.sample, runs_dir=args.runs_dir,
                                    metric=args.metric, mode=args.mode, seed=args.seed, sampler=args.sampler,
                                    n_trials=args.n_trials)
    print(results)
    print(f"runs recorded under {args.runs_dir} (table: {args.runs_dir}/results.csv)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(sweep_main())
