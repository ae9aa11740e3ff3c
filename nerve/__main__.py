"""``python -m nerve ...`` runs the command line (see nerve/cli.py)."""
import sys

from .cli import main

sys.exit(main())
