"""Recipe tests: the seed data tables (Hitters, twitter corpus) come from shared/data when it exists."""
import os

import pytest

SHARED = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"


@pytest.fixture(autouse=True)
def _shared_data(monkeypatch, tmp_path):
    """Offline and isolated: an empty NERVE_HOME, the shared data directory, no downloads, plots headless."""
    monkeypatch.setenv("NERVE_HOME", str(tmp_path / "nerve_home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if os.path.isdir(SHARED):
        monkeypatch.setenv("NERVE_DATA_DIR", SHARED)
    else:
        monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
