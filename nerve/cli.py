"""The ``nerve`` command line: ``nerve demo``, ``nerve recipes``, ``nerve run RECIPE``, ``nerve report DIR``,
``nerve sweep ...`` and ``nerve bench``."""
import argparse
import contextlib
import sys


def _on_device(args, fn):
    """Run ``fn()`` under ``nerve.device(args.device)`` (the models made inside live there); 2 on a bad device."""
    from .backend import device
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(device(args.device))
        except (ValueError, RuntimeError) as e:
            print(f"nerve {args.command}: --device {args.device}: {e}", file=sys.stderr)
            return 2
        return fn()


def _demo(args):
    return _on_device(args, lambda: _demo_here(args))


def _demo_here(args):
    if args.spirals:
        from . import demo_spirals

        acc = demo_spirals.run(epochs=args.epochs or 300, seed=args.seed)
        return 0 if acc >= 0.95 else 1
    from . import demo

    if args.quick:  # seconds: a tiny subset, for tests and a first look
        demo.run(epochs=args.epochs or 1, n_train=args.train or 512, n_test=500, seed=args.seed, out=args.out)
    else:
        demo.run(epochs=args.epochs or 2, n_train=args.train or 20000, seed=args.seed, out=args.out)
    return 0


def _recipes(args):
    from . import recipes

    rows = recipes.table()
    width = max(len(r[0]) for r in rows)
    print(f"{len(rows)} recipes (run one with: nerve run NAME [--quick] [--epochs N] [--out DIR] [--resumable])\n")
    for name, where, data, book in rows:
        print(f"{name:<{width}}  {where}\n{'':<{width}}  data: {data}\n{'':<{width}}  book: {book}")
    return 0


def _run(args):
    return _on_device(args, lambda: _run_here(args))


def _run_here(args):
    from . import recipes

    try:
        recipes.run_recipe(args.recipe, quick=args.quick, epochs=args.epochs, out=args.out, seed=args.seed,
                           resumable=args.resumable,
                           verbose=1)
    except KeyError as e:
        print(f"nerve run: {e.args[0]}", file=sys.stderr)
        return 2
    except recipes.RecipeUnavailable as e:
        print(f"nerve run: {e}", file=sys.stderr)
        return 3
    return 0


def _report(args):
    from .workbench import report_main

    return report_main([args.dir])


def _sweep(args):
    from .integrations.sweep_cli import sweep_main

    return sweep_main(args.args)


def _bench(args):
    import os
    import runpy

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(root, "bench", "bench_ops.py")
    if not os.path.exists(script):
        print("nerve bench: the bench/ scripts ship with the source tree only (not found next to the package)",
              file=sys.stderr)
        return 2
    sys.argv = [script, *args.args]
    runpy.run_path(script, run_name="__main__")
    return 0


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nerve", description="nerve: deep learning on NumPy with its own autodiff engine.")
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("demo", help="train a CNN on Fashion-MNIST, print test accuracy, write a run directory",
                       description="Train the 2-conv CNN on Fashion-MNIST (the full set when installed, else the "
                                   "embedded subset; 20,000 training images, 2 epochs), print the test accuracy "
                                   "and write a run directory with metrics.json, plots and report.html. "
                                   "--spirals: the engine-only MLP 2-64-64-2 on the two spirals instead.")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 2; spirals: 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the weights (default: 0)")
    p.add_argument("--train", type=int, default=None, help="training images to use (default: 20000)")
    p.add_argument("--out", default=None, help="run directory (default: runs/demo-<time>)")
    p.add_argument("--quick", action="store_true", help="a few seconds: 512 training images, 1 epoch")
    p.add_argument("--spirals", action="store_true", help="the engine-only two-spirals MLP demo")
    p.add_argument("--device", default="cpu", help="cpu (default) or gpu / gpu:K (needs CuPy and a CUDA GPU)")
    p.set_defaults(func=_demo)
    p = sub.add_parser("recipes", help="list the recipes (worked examples of the seeds) with seed references")
    p.set_defaults(func=_recipes)
    p = sub.add_parser("run", help="run a recipe into a run directory",
                       description="Run one recipe (see `nerve recipes`); writes config.json, history.csv, "
                                   "metrics.json, plots and report.html into --out.")
    p.add_argument("recipe", help="recipe name (see `nerve recipes`)")
    p.add_argument("--quick", action="store_true", help="seconds: tiny subsets, one epoch (used by the tests)")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's number of epochs")
    p.add_argument("--out", default=None, help="run directory (default: runs/<recipe>-<time>)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", help="cpu (default) or gpu / gpu:K (needs CuPy and a CUDA GPU)")
    p.add_argument("--resumable", action="store_true",
                   help="back up the training state after every epoch into OUT/backup-K (GAN loops: every 250 "
                        "iterations into OUT/backup-gan); running the same command with the same --out again "
                        "continues an interrupted run (for the hours-long full modes)")
    p.set_defaults(func=_run)
    p = sub.add_parser("report", help="regenerate DIR/report.html from a run directory")
    p.add_argument("dir", help="run directory")
    p.set_defaults(func=_report)
    p = sub.add_parser("sweep", help="hyper-parameter sweep (tfruns-like); `nerve sweep --help` for options",
                       add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_sweep)
    p = sub.add_parser("bench", help="run bench/bench_ops.py (source tree only)", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_bench)
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("sweep", "bench"):  # pass every option through (argparse.REMAINDER drops leading ones)
        return {"sweep": _sweep, "bench": _bench}[argv[0]](argparse.Namespace(args=argv[1:]))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        parser.exit(2, "\nnerve: error: a command is required (for example: nerve demo)\n")
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error(f"argument --epochs: expected a positive integer, got {args.epochs}")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
