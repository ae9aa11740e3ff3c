"""Reusable scratch arrays for temporaries that never leave the function that fills them.

Why: a fresh multi-megabyte np.empty comes from mmap, and its first touch page-faults every 4 KiB page
(measured: ~2 ms of the GRU backward's 8 ms went to the two (3n, T, N) gradient buffers). A buffer is
kept per thread, name, shape and dtype; the caller must not return it or keep a view of it.
"""
import threading

import numpy as np

_local = threading.local()


def scratch(name, shape, dtype, xp=np):
    """An uninitialised array for ``name`` (a constant string naming the call site) of the array module ``xp``."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    key = (name, tuple(shape), np.dtype(dtype).str, xp.__name__)
    a = bufs.get(key)
    if a is None:
        a = bufs[key] = xp.empty(shape, dtype)
    return a


def clear():
    """Free this thread's scratch arrays."""
    _local.bufs = {}
