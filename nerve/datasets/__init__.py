"""Data sets (``nerve.datasets``): generators from the seeds and, later, loaders."""
from .spirals import two_spirals  # noqa: F401
