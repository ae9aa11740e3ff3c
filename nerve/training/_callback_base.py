"""History and ProgbarLogger subclass ``nerve.callbacks.Callback`` (so ``isinstance(h, Callback)`` holds)."""
from ..callbacks.callback import Callback  # noqa: F401
