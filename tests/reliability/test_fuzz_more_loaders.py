"""Issue 9 item 4, what the other fuzz tests leave out: the training checkpoint (read by BackupAndRestore on
every restart): 1,000 mutated files and 1,000 files with one mutated member re-zipped with valid CRCs;
and weights files whose .npy members (not a nested zip, so no inner CRC) are mutated inside a valid zip,
which reaches NumPy's .npy header parser (it raised tokenize.TokenError before file_io caught it).
Only ArchiveError (a ValueError) may come out, and nothing runs.

Model archive and weights loaders: tests/saving/test_fuzz_loaders.py (1,000 each + 1,000 member
mutations) and test_crafted_archives.py; data-set parsers (IDX, CSV, npz): tests/datasets/test_fuzz.py."""
import os
import zipfile

import numpy as np

import nerve
from nerve import saving
from nerve.callbacks import EarlyStopping
from nerve.layers import Dense, Dropout, Input
from nerve.models import Sequential


def mutate(data, rng):
    b = bytearray(data)
    kind = rng.integers(5)
    if kind == 0:
        for i in rng.integers(0, len(b), size=rng.integers(1, 8)):
            b[i] = rng.integers(256)
    elif kind == 1:
        b = b[:rng.integers(0, len(b))]
    elif kind == 2:
        i, j = sorted(rng.integers(0, len(b), size=2))
        b = b[:j] + b[i:j] + b[j:]
    elif kind == 3:
        i = int(rng.integers(0, len(b)))
        b[i:i + int(rng.integers(1, 64))] = bytes(min(len(b) - i, int(rng.integers(1, 64))))
    else:  # JSON-ish edits where it hurts: digits, quotes, brackets
        for i in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[i] = rng.choice(list(b'0-9"{}[]:,.e'))
    return bytes(b)


def model():
    m = Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dropout(0.2), Dense(1)])
    m.compile("adam", loss="mse")
    return m


def good_checkpoint(tmp_path):
    nerve.set_random_seed(0)
    m = model()
    es = EarlyStopping(monitor="loss", restore_best_weights=True)
    m.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), epochs=2, verbose=0, callbacks=[es])
    path = tmp_path / "good.checkpoint.zip"
    saving.save_checkpoint(str(path), m, epoch=2, callbacks=[es])
    return path


def try_restore(path, target):
    try:
        ck = saving.load_checkpoint(str(path))
        saving.restore_checkpoint(ck, target, callbacks=[EarlyStopping(monitor="loss")])
        return "ok"
    except ValueError:  # ArchiveError (and its subclasses) only
        return "error"


def test_mutated_checkpoint_files(tmp_path):
    data = good_checkpoint(tmp_path).read_bytes()
    target = model()
    target(np.ones((1, 3), "float32"))
    rng = np.random.default_rng(21)
    cwd = os.getcwd()
    outcomes = []
    for k in range(1000):
        p = tmp_path / f"c{k}.zip"
        p.write_bytes(mutate(data, rng))
        outcomes.append(try_restore(p, target))
        p.unlink()
    assert outcomes.count("error") > 500
    assert os.getcwd() == cwd and not (tmp_path / "pwned").exists()


def test_mutated_checkpoint_members(tmp_path):
    with zipfile.ZipFile(good_checkpoint(tmp_path)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    assert {"checkpoint.json", "model.weights.npz", "optimizer.npz", "callbacks.npz"} <= set(members)
    names = sorted(members)
    target = model()
    target(np.ones((1, 3), "float32"))
    rng = np.random.default_rng(31)
    outcomes = []
    for k in range(1000):
        name = names[k % len(names)]
        p = tmp_path / f"m{k}.zip"
        with zipfile.ZipFile(p, "w") as z:
            for n, d in members.items():
                z.writestr(n, mutate(d, rng) if n == name else d)
        outcomes.append(try_restore(p, target))
        p.unlink()
    assert outcomes.count("error") > 300


def test_weights_file_with_mutated_npy_members(tmp_path):
    m = model()
    m(np.ones((1, 3), "float32"))
    good = tmp_path / "good.weights.npz"
    m.save_weights(str(good))
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    names = sorted(members)
    rng = np.random.default_rng(123)
    errors = 0
    for k in range(1000):
        name = names[k % len(names)]
        p = tmp_path / f"w{k}.weights.npz"
        with zipfile.ZipFile(p, "w") as z:
            for n, d in members.items():
                z.writestr(n, mutate(d, rng) if n == name else d)
        try:
            m.load_weights(str(p))
        except ValueError:
            errors += 1
        p.unlink()
    assert errors > 300
