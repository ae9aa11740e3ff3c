"""Shared test setup: a fixed seed per test, the global config restored afterwards, and a
Hypothesis profile without deadlines (timings on a busy 2-core machine are not what tests check),
derandomized under CI so that a CI run is reproducible."""
import os

import pytest

import nerve
from nerve.backend import config

try:
    from hypothesis import settings
except ImportError:  # hypothesis comes with the `dev` extra
    settings = None
if settings is not None:
    settings.register_profile("nerve", deadline=None, max_examples=50,
                              derandomize=bool(os.environ.get("CI")))
    settings.load_profile("nerve")


@pytest.fixture(autouse=True)
def _isolated_config():
    saved = dict(vars(config))
    nerve.set_random_seed(0)
    yield
    vars(config).update(saved)
