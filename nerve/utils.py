"""``nerve.utils`` (Keras names)."""
from .backend import set_random_seed  # noqa: F401
