"""Flush denormal floats to zero on the CPU (x86-64 MXCSR bits FTZ and DAZ), as TensorFlow does inside its ops
(so Keras's fit) and ``torch.set_flush_denormal(True)`` does on request.

Why: a float32 below 1.18e-38 (a denormal, or subnormal) costs x86 CPUs a microcode assist in every multiply
and add that meets it. An L2 penalty with Adam drives the weights that get no data gradient geometrically to
zero through that range: in the ``sparsenet`` recipe (L2(1e-4) on every Dense) 720 padded input rows and the
dead ReLU columns held weights near 1e-34 after 40 epochs, the backward GEMMs made denormals, and a step went
from 0.5 to 3 s. One 1000x1536 @ 1536x3072 product over such weights: 2.6 s with IEEE denormals, 0.07 s
flushed (one OpenBLAS thread). Flushing changes results only where IEEE arithmetic would give a number below
1.18e-38 (float32) or 2.2e-308 (float64): those become 0.

MXCSR belongs to each thread: ``set_flush_denormal`` sets the calling thread's, and threads created later
inherit it. OpenBLAS started its worker threads when NumPy loaded, so they are shut down with OpenBLAS's own
``blas_thread_shutdown_`` (what it runs around fork) and come back under the new mode at the next BLAS call;
nerve's chain threads (ops/chains.py) take the mode up at their next task. Model.fit / evaluate / predict and
the ``*_on_batch`` methods flush while they run (``flushing()``; ``nerve.config.flush_denormal = False`` keeps
IEEE denormals there) and give the calling thread its mode back at the end; OpenBLAS's workers keep flushing
after the first such call (restarting them costs ~1 ms, too much for every small predict call) until
``set_flush_denormal(False)``. numba's own worker threads (the parallel compiled kernels) keep the mode of the
thread that started them: nerve cannot reach them.

Reading and writing MXCSR takes two machine instructions (stmxcsr, ldmxcsr) that Python cannot run: they are
compiled once with llvmlite (installed with numba, the ``fast`` extra). Without llvmlite, or off x86-64,
``set_flush_denormal`` returns False and changes nothing, as torch's does where it is unsupported.
"""
import contextlib
import ctypes
import threading

FTZ_DAZ = 0x8040  # MXCSR bit 15: flush-to-zero (denormal results -> 0); bit 6: denormals-are-zero (inputs)

_IR = r"""
declare void @llvm.x86.sse.stmxcsr(ptr)
declare void @llvm.x86.sse.ldmxcsr(ptr)
define i32 @get_mxcsr() {
  %p = alloca i32
  call void @llvm.x86.sse.stmxcsr(ptr %p)
  %v = load i32, ptr %p
  ret i32 %v
}
define void @set_mxcsr(i32 %v) {
  %p = alloca i32
  store i32 %v, ptr %p
  call void @llvm.x86.sse.ldmxcsr(ptr %p)
  ret void
}
"""
# LLVM before 15 (llvmlite < 0.44) spells pointers with their element type
_IR_TYPED = (_IR.replace("(ptr)", "(i8*)").replace("(ptr %p)", "(i8* %q)").replace("ptr %p", "i32* %p")
             .replace("  call", "  %q = bitcast i32* %p to i8*\n  call"))

_lock = threading.Lock()
_mxcsr = None       # (get, set) ctypes functions, False when unsupported, None before the first try
_mode = False       # the process-wide mode last set with set_flush_denormal
_blas_mode = False  # the mode OpenBLAS's worker threads were (re)started under
_local = threading.local()  # per thread: the mode this thread applied last (chain workers)


def _compile():
    """(get_mxcsr, set_mxcsr) as ctypes functions, or False where they cannot be had."""
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
    except Exception:  # no llvmlite: unsupported, as off x86
        return False
    for ir in (_IR, _IR_TYPED):
        try:
            module = llvm.parse_assembly(ir)
            module.verify()
            machine = llvm.Target.from_default_triple().create_target_machine()
            engine = llvm.create_mcjit_compiler(module, machine)
            engine.finalize_object()
            break
        except Exception:  # the other pointer syntax, else an LLVM without these intrinsics: unsupported
            continue
    else:
        return False
    get = ctypes.CFUNCTYPE(ctypes.c_uint32)(engine.get_function_address("get_mxcsr"))
    set_ = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(engine.get_function_address("set_mxcsr"))
    get._engine = engine  # the machine code lives as long as its engine
    return get, set_


def _functions():
    global _mxcsr
    if _mxcsr is None:
        with _lock:
            if _mxcsr is None:
                _mxcsr = _compile()
    return _mxcsr


def supported():
    """True where this process can switch denormal flushing (x86-64 with llvmlite)."""
    return bool(_functions())


def thread_flushes():
    """Whether the calling thread flushes denormals now (False where unsupported)."""
    f = _functions()
    return bool(f) and (f[0]() & FTZ_DAZ) == FTZ_DAZ


def _set_thread(mode):
    get, set_ = _functions()
    bits = get()
    set_((bits | FTZ_DAZ) if mode else (bits & ~FTZ_DAZ))
    _local.mode = mode


def _openblas_shutdowns():
    """OpenBLAS's ``blas_thread_shutdown_`` of every OpenBLAS loaded (NumPy's, SciPy's), as ctypes functions."""
    paths = []
    try:
        from threadpoolctl import threadpool_info
        paths = [i["filepath"] for i in threadpool_info() if i.get("internal_api") == "openblas"]
    except Exception:  # threadpoolctl missing: the loaded libraries from the process's memory map (Linux)
        try:
            with open("/proc/self/maps") as f:
                paths = sorted({line.split()[-1] for line in f if "openblas" in line and ".so" in line})
        except OSError:
            paths = []
    out = []
    for path in dict.fromkeys(paths):
        try:
            fn = getattr(ctypes.CDLL(path), "blas_thread_shutdown_", None)
        except OSError:
            fn = None
        if fn is not None:
            out.append(fn)
    return out


def _restart_blas_threads(mode):
    """Shut OpenBLAS's workers down from this thread (now in ``mode``): the next BLAS call starts them again,
    created by a thread in ``mode``, so they inherit it. Not while another thread runs BLAS: nerve's chains
    are idle here (no fit or chain region runs while the mode changes)."""
    global _blas_mode
    for shutdown in _openblas_shutdowns():
        shutdown()
    _blas_mode = mode


def set_flush_denormal(mode):
    """Flush denormal floats to zero (``mode=True``) or keep IEEE denormals (``False``) on the CPU, for this
    thread, OpenBLAS's worker threads, nerve's chain threads and threads started later. Returns True when
    the mode was set, False where it is unsupported (not x86-64, or llvmlite missing), as
    ``torch.set_flush_denormal``."""
    global _mode
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal: argument 'mode' expected a bool, got {type(mode).__name__} "
                        f"{mode!r}")
    if not _functions():
        return False
    _set_thread(mode)
    _mode = mode
    if _blas_mode != mode:
        _restart_blas_threads(mode)
    return True


def adopt():
    """Called by nerve's worker threads before each task: apply the process-wide mode if it changed."""
    if getattr(_local, "mode", False) != _mode and _functions():
        _set_thread(_mode)


@contextlib.contextmanager
def flushing():
    """Flush denormals in this thread (and OpenBLAS's, chains') while the block runs, when
    ``nerve.config.flush_denormal`` is on; the thread's previous mode comes back at the end."""
    from . import backend
    global _mode
    if not backend.config.flush_denormal or not _functions() or thread_flushes():
        yield
        return
    prev_mode = _mode
    _set_thread(True)
    _mode = True
    if not _blas_mode:
        _restart_blas_threads(True)
    try:
        yield
    finally:
        _set_thread(False)
        _mode = prev_mode
