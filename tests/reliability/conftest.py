"""Fixture ``run_script``: run tests/reliability/train_script.py in a fresh interpreter with a fixed BLAS
thread count; returns the arrays it saved."""
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_script.py")


def _run_script(mode, arg, out, threads="1"):
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    r = subprocess.run([sys.executable, SCRIPT, mode, str(arg), str(out)], env=env, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture
def run_script():
    return _run_script
