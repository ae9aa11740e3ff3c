"""Per-op overhead of nerve vs PyTorch eager vs raw NumPy, side by side in one run.

    python bench/bench_ops.py [--quick] [--wall] [--gemm-only]

Each case is timed with timeit, best of several repeats, and reported in microseconds per op
(the 10-op chain is divided by 10). Tiny ops run on one thread in every library, so they are timed
with the calling thread's CPU clock (time.thread_time), which other load on the machine barely
disturbs; the GEMM uses both cores and is timed by the wall clock. ``--wall`` times everything by the
wall clock. "numpy" is the floor: the same array work with no autograd
(for forward+backward rows it computes the hand-written derivatives too). Ratios are nerve/torch;
quote ratios from one run, never absolute times from different runs.
"""
import math
import os
import platform
import sys
import time
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nerve  # noqa: E402
from nerve import ops  # noqa: E402

try:
    import torch
except ImportError:  # the table still shows nerve and NumPy
    torch = None


def best_us(fn, repeat, per=1, timer=time.perf_counter):
    """Best time of ``fn`` over ``repeat`` repeats, in microseconds per op."""
    t = timeit.Timer(fn, timer=timer)
    number, _ = t.autorange()  # enough calls for >= 0.2 s; each repeat then takes >= 0.05 s
    number = max(1, number // 4)
    return min(t.repeat(repeat=repeat, number=number)) / number / per * 1e6


def np_sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def tiny_cases(shape):
    """(name, nerve fn, torch fn, numpy fn, ops per call) for tiny elementwise ops."""
    rng = np.random.default_rng(0)
    a, b, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    x, y = nerve.tensor(a, requires_grad=True), nerve.tensor(b, requires_grad=True)
    if torch is not None:
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        tg = torch.tensor(g)
    cases = []
    unary = {"relu": (ops.relu, "relu", lambda v: np.maximum(v, 0), lambda v, o, gg: gg * (o > 0)),
             "sigmoid": (ops.sigmoid, "sigmoid", np_sigmoid, lambda v, o, gg: gg * o * (1 - o)),
             "exp": (ops.exp, "exp", np.exp, lambda v, o, gg: gg * o)}
    binary = {"add": (ops.add, "add", np.add, lambda gg: (gg, gg)),
              "multiply": (ops.multiply, "mul", np.multiply, lambda gg: (gg * b, gg * a))}
    for name, (nf, tname, npf, npb) in binary.items():
        tf = getattr(torch, tname) if torch is not None else None
        cases.append((f"{name} fwd", lambda nf=nf: nf(x, y), tf and (lambda tf=tf: tf(tx, ty)),
                      lambda npf=npf: npf(a, b), 1))

        def nfb(nf=nf):
            nf(x, y).backward(g)
            x.grad = y.grad = None

        def tfb(tf=tf):
            tf(tx, ty).backward(tg)
            tx.grad = ty.grad = None

        cases.append((f"{name} fwd+bwd", nfb, tf and tfb, lambda npf=npf, npb=npb: (npf(a, b), npb(g)), 1))
    for name, (nf, tname, npf, npb) in unary.items():
        tf = getattr(torch, tname) if torch is not None else None
        cases.append((f"{name} fwd", lambda nf=nf: nf(x), tf and (lambda tf=tf: tf(tx)), lambda npf=npf: npf(a), 1))

        def nfb(nf=nf):
            nf(x).backward(g)
            x.grad = None

        def tfb(tf=tf):
            tf(tx).backward(tg)
            tx.grad = None

        def npfb(npf=npf, npb=npb):
            o = npf(a)
            return npb(a, o, g)

        cases.append((f"{name} fwd+bwd", nfb, tf and tfb, npfb, 1))

    def n_nograd():
        with nerve.no_grad():
            ops.add(x, y)

    def t_nograd():
        with torch.no_grad():
            torch.add(tx, ty)

    cases.append(("add fwd, no_grad", n_nograd, torch and t_nograd, lambda: np.add(a, b), 1))
    cases.append(("x + y operator fwd", lambda: x + y, torch and (lambda: tx + ty), lambda: a + b, 1))
    return cases


def chain_case(shape):
    """A chain of 10 tiny ops (9 elementwise + sum) and backward; reported per op."""
    rng = np.random.default_rng(1)
    a, w, c = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))

    def run(lib, x, w, c):
        h = lib.multiply(x, w)
        h = lib.add(h, c)
        h = lib.sigmoid(h)
        h = lib.multiply(h, x)
        h = lib.tanh(h)
        h = lib.subtract(h, c)
        h = lib.relu(h)
        h = lib.exp(h)
        h = lib.multiply(h, w)
        return lib.sum(h)

    x, nw, nc = (nerve.tensor(v, requires_grad=True) for v in (a, w, c))

    def nfb():
        run(ops, x, nw, nc).backward()
        x.grad = nw.grad = nc.grad = None

    tfb = None
    if torch is not None:
        tx, tw, tc = (torch.tensor(v, requires_grad=True) for v in (a, w, c))

        def tfb():
            run(torch, tx, tw, tc).backward()
            tx.grad = tw.grad = tc.grad = None

    def npfb():  # forward + hand-written backward of the same chain
        h1 = a * w; h2 = h1 + c; h3 = np_sigmoid(h2); h4 = h3 * a; h5 = np.tanh(h4)
        h6 = h5 - c; h7 = np.maximum(h6, 0); h8 = np.exp(h7); h9 = h8 * w; h9.sum()
        g9 = np.ones_like(h9); gw = g9 * h8; g8 = g9 * w; g7 = g8 * h8; g6 = g7 * (h6 > 0)
        gc = -g6; g4 = g6 * (1 - h5 * h5); ga = g4 * h3; g2 = g4 * a * h3 * (1 - h3)
        gc = gc + g2; ga = ga + g2 * w; gw = gw + g2 * a
        return ga, gw, gc

    return ("chain of 10 ops + backward (per op)", nfb, tfb, npfb, 10)


def matmul_case():
    """128x784 @ 784x256 forward + backward (both inputs need gradients: 3 GEMMs)."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((128, 784)).astype(np.float32)
    b = rng.standard_normal((784, 256)).astype(np.float32)
    g = rng.standard_normal((128, 256)).astype(np.float32)
    x, w = nerve.tensor(a, requires_grad=True), nerve.tensor(b, requires_grad=True)

    def nfb():
        ops.matmul(x, w).backward(g)
        x.grad = w.grad = None

    tfb = None
    if torch is not None:
        tx, tw, tg = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(g)

        def tfb():
            torch.matmul(tx, tw).backward(tg)
            tx.grad = tw.grad = None

    return ("matmul 128x784 @ 784x256 fwd+bwd", nfb, tfb, lambda: (a @ b, g @ b.T, a.T @ g), 1)


def one_thread():
    """Context manager: NumPy's BLAS and torch on one thread (None without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None

    class _One:
        def __enter__(self):
            self.limits = threadpool_limits(limits=1)
            if torch is not None:
                torch.set_num_threads(1)

        def __exit__(self, *exc):
            self.limits.unregister()
            if torch is not None:
                torch.set_num_threads(2)
    return _One()


def row(name, nf, tf, npf, per, repeat, clock):
    t_np = best_us(npf, repeat, per, clock)
    t_n = best_us(nf, repeat, per, clock)
    t_t = best_us(tf, repeat, per, clock) if tf is not None else float("nan")
    print(f"{name:<40}{t_np:>11.2f}{t_n:>11.2f}{t_t:>11.2f}{t_n / t_t:>12.2f}x")
    return t_n / t_t


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    repeat = 3 if "--quick" in argv else 5
    tiny_clock = time.perf_counter if "--wall" in argv else time.thread_time
    if torch is not None:
        torch.set_num_threads(2)
    print(f"python {platform.python_version()}, numpy {np.__version__}, nerve {nerve.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'} (set_num_threads(2)), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; best of {repeat} repeats; "
          f"tiny ops timed by {'wall clock' if tiny_clock is time.perf_counter else 'thread CPU time'}")
    header = f"{'case':<40}{'numpy us':>11}{'nerve us':>11}{'torch us':>11}{'nerve/torch':>13}"
    tiny_ratios = []
    if "--gemm-only" not in argv:
        for title, cases in [("(8, 8) float32, requires_grad", tiny_cases((8, 8)) + [chain_case((8, 8))]),
                             ("(4,) float32, requires_grad", tiny_cases((4,))[:4])]:
            print(f"\n{title}\n{header}\n{'-' * len(header)}")
            for case in cases:
                r = row(*case, repeat, tiny_clock)
                if case[2] is not None:
                    tiny_ratios.append(r)
    print(f"\nGEMM (2 threads: wall clock; 1 thread: thread CPU time)\n{header}\n{'-' * len(header)}")
    name, nf, tf, npf, per = matmul_case()
    row(name, nf, tf, npf, per, repeat, time.perf_counter)
    one = one_thread()
    if one is not None:
        with one:
            row(name.replace("fwd+bwd", "1 thread"), nf, tf, npf, per, repeat, time.thread_time)
    if tiny_ratios:
        gm = math.exp(sum(math.log(r) for r in tiny_ratios) / len(tiny_ratios))
        print(f"\ntiny ops: geometric mean nerve/torch = {gm:.2f}x over {len(tiny_ratios)} cases "
              f"(worst {max(tiny_ratios):.2f}x, best {min(tiny_ratios):.2f}x)")


if __name__ == "__main__":
    main()
