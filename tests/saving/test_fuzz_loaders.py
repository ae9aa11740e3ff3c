"""Mutated archives and weights files: the loaders raise only their documented errors (ValueError family:
ArchiveError, UnknownObjectError) and never crash or run anything."""
import zipfile

import numpy as np
import pytest

from nerve import saving


def mutate(data, rng):
    b = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:  # flip bytes
        for i in rng.integers(0, len(b), size=rng.integers(1, 8)):
            b[i] = rng.integers(256)
    elif kind == 1:  # truncate
        b = b[:rng.integers(0, len(b))]
    elif kind == 2:  # duplicate a slice
        i, j = sorted(rng.integers(0, len(b), size=2))
        b = b[:j] + b[i:j] + b[j:]
    else:  # zero a run
        i = int(rng.integers(0, len(b)))
        j = min(len(b), i + int(rng.integers(1, 64)))
        b[i:j] = bytes(j - i)
    return bytes(b)


@pytest.mark.parametrize("target", ["model", "weights"])
def test_mutated_files_raise_documented_errors_only(tmp_path, make_sequential, target):
    m = make_sequential()
    if target == "model":
        good = tmp_path / "good.keras"
        m.save(str(good))
    else:
        good = tmp_path / "good.weights.npz"
        m.save_weights(str(good))
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    n = 1000
    outcomes = {"ok": 0, "error": 0}
    for k in range(n):
        p = tmp_path / (f"m{k}.keras" if target == "model" else f"w{k}.weights.npz")
        p.write_bytes(mutate(data, rng))
        try:
            if target == "model":
                saving.load_model(str(p))
            else:
                m.load_weights(str(p))
            outcomes["ok"] += 1
        except ValueError:  # ArchiveError and UnknownObjectError are ValueErrors
            outcomes["error"] += 1
        p.unlink()
    assert outcomes["error"] > n // 2
    with zipfile.ZipFile(good) as z:
        assert z.testzip() is None


def test_mutated_members_with_valid_zip_structure(tmp_path, make_sequential):
    """Mutate the content of one member (config JSON, metadata, weights npz, optimizer state) and re-zip it
    with valid CRCs, so the mutation reaches the JSON, npz and config validation."""
    m = make_sequential()
    m.fit(np.zeros((4, 4), "float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]], epochs=1, verbose=0)
    good = tmp_path / "good.keras"
    m.save(str(good))
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    names = sorted(members)
    rng = np.random.default_rng(1)
    errors = 0
    for k in range(1000):
        name = names[k % len(names)]
        mutated = dict(members, **{name: mutate(members[name], rng)})
        p = tmp_path / f"m{k}.keras"
        with zipfile.ZipFile(p, "w") as z:
            for n, d in mutated.items():
                z.writestr(n, d)
        try:
            saving.load_model(str(p))
        except ValueError:
            errors += 1
        p.unlink()
    assert errors > 300
