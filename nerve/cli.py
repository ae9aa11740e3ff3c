"""The ``nerve`` command line: ``nerve demo`` (more subcommands land with later issues)."""
import argparse
import sys


def _demo(args):
    from . import demo

    acc = demo.run(epochs=args.epochs, seed=args.seed)
    return 0 if acc >= 0.95 else 1


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="nerve", description="nerve: deep learning on NumPy with its own autodiff engine.")
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("demo", help="train a small MLP with the engine on the two spirals and print accuracy",
                       description="Train an MLP 2-64-64-2 built from engine ops alone on the seeds' two "
                                   "spirals (full-batch Adam); prints the loss and the final accuracy.")
    p.add_argument("--epochs", type=int, default=300, help="training epochs (default: 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the weights (default: 0)")
    p.set_defaults(func=_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        parser.exit(2, "\nnerve: error: a command is required (for example: nerve demo)\n")
    if getattr(args, "epochs", 1) < 1:
        parser.error(f"argument --epochs: expected a positive integer, got {args.epochs}")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
