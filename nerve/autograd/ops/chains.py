"""Batch chains: run batch-parallel ops (convolution, max pooling, LSTM/GRU recurrences) as independent
chains over slices of the batch, one per core.

Why: these ops are small GEMMs between memory-bound passes (im2col, pooling, the recurrent cell). With the
whole batch in one call, OpenBLAS splits each small GEMM over both cores (at ~60-75% of its peak, with a
synchronisation per call) and the compiled passes between them gain little from a second thread. Batch rows
never interact inside these ops, so slices of the batch can run start to end on their own core, each with
single-threaded BLAS and the serial compiled kernels (both release the GIL): measured on the 2-core bench
machine, an LSTM(128) forward + backward over 28 steps went 11.2 -> 8.8 ms, the CNN's conv-pool stack 20.6 ->
15.8 ms. Weight gradients are summed over the chains in chain order. ``scope()`` keeps BLAS single-threaded
for a whole training step (trainer.py), so that no multi-threaded GEMM leaves spinning workers behind.

Needs threadpoolctl (to run BLAS single-threaded inside the region) and the compiled kernels (ops/jit.py);
the `fast` extra installs both. Off without them, when BLAS has one thread, for small batches, with
``NERVE_CHAINS=0`` or ``set_count(1)``. Results depend on the number of chains (= BLAS threads) only through
the order of the weight-gradient sums, like BLAS results on its thread count.
"""
import os
import sys
import threading
from contextlib import contextmanager, nullcontext
from functools import partial

from . import jit
from ... import denormals

MIN_ROWS = 16  # batch rows per chain below which a chain costs more than it saves

_forced = None     # set_count(k): a fixed number of chains (1 = off); None = automatic
_state = {}
_lock = threading.Lock()
_local = threading.local()


def set_count(k):
    """Fix the number of chains (1 switches chains off; None = automatic). Returns the previous setting."""
    global _forced
    old, _forced = _forced, (None if k is None else max(1, int(k)))
    return old


def _blas():
    """threadpoolctl's controller for the BLAS libraries loaded (NumPy's, and SciPy's once numba's compiled
    loops use it through np.dot), or None (threadpoolctl not installed / no BLAS found)."""
    key = "scipy.linalg.cython_blas" in sys.modules
    if _state.get("blas_key") != key:
        with _lock:
            if _state.get("blas_key") != key:
                try:
                    from threadpoolctl import ThreadpoolController
                    sel = ThreadpoolController().select(user_api="blas")
                    _state["blas"] = sel if sel.lib_controllers else None
                except Exception:  # not installed, or an unknown BLAS
                    _state["blas"] = None
                _state["blas_key"] = key
    return _state["blas"]


def _auto_count():
    """Chains when automatic: BLAS's thread count (0 when off, without threadpoolctl, or without the compiled
    kernels: chains of small NumPy calls hold the GIL too often to gain, measured on the GRU 0.87 -> 1.11)."""
    if os.environ.get("NERVE_CHAINS", "1") == "0" or jit.kernels() is None:
        return 0
    return blas_threads() or 0


@contextmanager
def scope():
    """Single-threaded BLAS for a whole training step, its batch-parallel ops running as chains.

    Why: after a multi-threaded GEMM, OpenBLAS's idle workers keep spinning on the other cores for ~0.1 s
    (its THREAD_TIMEOUT, fixed when NumPy loads it), and chains started in that time share their cores with
    them (a CNN step with a Dense layer between its convolutions went 16.5 -> 27.7 ms). Inside this scope no
    GEMM wakes those workers; the trainer enters it for models with convolution or recurrent layers."""
    k = _forced if _forced is not None else _auto_count()
    if getattr(_local, "scope", 0) or k < 2 or _blas() is None:
        yield
        return
    _local.scope = k
    try:
        with _blas().limit(limits=1):
            yield
    finally:
        _local.scope = 0


def plan(n_rows):
    """[(lo, hi), ...] batch slices, one per chain, or None to run the batch as one chain."""
    if getattr(_local, "inside", False):  # already inside a chain: no nesting
        return None
    k = _forced
    if k is None:
        k = getattr(_local, "scope", 0) or _auto_count()
        if not k:
            return None
    elif k > 1 and _blas() is None:
        return None
    k = min(k, n_rows // MIN_ROWS) if _forced is None else min(k, n_rows)
    if k < 2:
        return None
    step = -(-n_rows // k)
    return [(lo, min(lo + step, n_rows)) for lo in range(0, n_rows, step)]


class _Worker:
    """A daemon thread that runs one task per hand-off: ``go`` released -> it runs ``task`` -> ``done`` released.
    A lock hand-off takes ~7 us when the other core is busy (a ThreadPoolExecutor submit + wait took ~70 us);
    when it is idle, waking its vCPU costs ~70 us on the 2-core VM either way. The CNN has 8 chain hand-offs per
    step, an LSTM or GRU step 2."""

    def __init__(self):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.task = self.result = self.error = None
        threading.Thread(target=self._loop, daemon=True, name="nerve-chain").start()

    def _loop(self):
        while True:
            self.go.acquire()
            try:
                denormals.adopt()  # the process's denormal mode, if it changed since this thread's last task
                self.result, self.error = self.task(), None
            except BaseException as e:  # handed back to the caller
                self.result, self.error = None, e
            self.task = None
            self.done.release()


_workers = []
_busy = threading.Lock()  # one caller at a time owns the workers; others run their tasks one after another


def parallel(tasks):
    """Run the callables concurrently, the first in this thread, each other one on a worker thread; their
    results in order (a worker's exception is raised here, after every task has ended). A second caller
    while the workers are busy (another Python thread) runs its tasks one after another."""
    if len(tasks) == 1:
        return [tasks[0]()]
    if not _busy.acquire(blocking=False):
        return [t() for t in tasks]
    try:
        while len(_workers) < len(tasks) - 1:
            _workers.append(_Worker())
        used = _workers[:len(tasks) - 1]
        for w, t in zip(used, tasks[1:]):
            w.task = t
            w.go.release()
        try:
            first = tasks[0]()
        finally:
            waited = False
            try:
                for w in used:
                    w.done.acquire()  # every task ends before the caller goes on (BLAS limits, shared buffers)
                waited = True
            finally:
                if not waited:  # interrupted (KeyboardInterrupt) while a worker may still run: never reuse them
                    del _workers[:]
        for w in used:
            if w.error is not None:
                err, w.error = w.error, None
                raise err
        return [first] + [w.result for w in used]
    finally:
        _busy.release()


def blas_threads():
    """The BLAS libraries' smallest thread count now (None when threadpoolctl is missing)."""
    blas = _blas()
    return None if blas is None else min(lc.num_threads for lc in blas.lib_controllers)


def in_chain():
    """Whether this thread is running a chain's task now."""
    return getattr(_local, "inside", False)


def _inside(task):
    _local.inside = True
    try:
        return task()
    finally:
        _local.inside = False


def run(tasks):
    """Run the callables concurrently (the first in this thread) with single-threaded BLAS; their results."""
    with nullcontext() if getattr(_local, "scope", 0) else _blas().limit(limits=1):
        return parallel([partial(_inside, t) for t in tasks])  # every chain ends before BLAS gets its threads back


def total(parts):
    """The sum of the chains' partial arrays (weight gradients), added in chain order (no copy for one)."""
    return parts[0] if len(parts) == 1 else sum(parts[1:], parts[0].copy())


def each(n_rows, task):
    """``task(lo, hi, serial)`` for each batch chain, concurrently, or ``task(0, n_rows, False)`` once; the
    list of its results in chain order. ``serial`` is True inside concurrent chains: the task must then use
    the serial compiled kernels (``jit.kernels().serial``), since numba's parallel pool is not re-entrant."""
    parts = plan(n_rows)
    if parts is None:
        return [task(0, n_rows, False)]
    return run([partial(task, lo, hi, True) for lo, hi in parts])
