"""``seeded(seed)``: run a block with nerve's random generator seeded, then restore the previous state."""
import contextlib

import numpy as np


@contextlib.contextmanager
def seeded(seed):
    """Seed nerve's generator (and NumPy's legacy one) for the block; both states are restored after it.

    ``seed=None`` leaves the generators alone. Used by the scikit-learn wrappers (``random_state``), the
    sweeps and the distributed tuner, so that a run's result depends only on its seed and flags."""
    if seed is None:
        yield
        return
    from .. import backend
    state, legacy = backend.get_rng_state(), np.random.get_state()
    backend.set_random_seed(int(seed))
    try:
        yield
    finally:
        backend.set_rng_state(state)
        np.random.set_state(legacy)
