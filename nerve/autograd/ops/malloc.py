"""Keep freed buffers in the process heap instead of returning them to the OS (glibc only).

Why: every training step allocates the same large arrays again (im2col columns, activations, gradients).
glibc serves allocations above its mmap threshold with fresh mmaps and returns freed heap tops to the OS,
so each step page-faults and zero-fills tens of megabytes (PERFORMANCE.md-style measurement on the CNN
step: 21.9 -> 19.9 ms with the settings below). ``keep_freed_memory`` raises the mmap threshold to glibc's
maximum (32 MiB) and the trim threshold to 1 GiB with ``mallopt``: the process then reuses its memory, at
the price of not shrinking its RSS after a peak (as PyTorch's caching allocator does). Called once when the
compiled kernels load; ``NERVE_MALLOC=default`` (or a non-glibc libc) leaves malloc as it is.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_done = {"applied": None}


def keep_freed_memory():
    """Apply the settings once; returns True when they are in effect."""
    if _done["applied"] is not None:
        return _done["applied"]
    ok = False
    if os.environ.get("NERVE_MALLOC", "keep") != "default":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
            mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
            ok = bool(mallopt(M_MMAP_THRESHOLD, 32 << 20) and mallopt(M_TRIM_THRESHOLD, 1 << 30)
                      and mallopt(M_TOP_PAD, 64 << 20))
        except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to tune
            ok = False
    _done["applied"] = ok
    return ok
