"""The checkpoint file format (exact resume) and its validation."""
import io
import json
import zipfile

import numpy as np
import pytest

import nerve
from nerve import saving
from nerve.callbacks import EarlyStopping, ReduceLROnPlateau
from nerve.saving import ArchiveError


@pytest.fixture
def checkpoint(tmp_path, make_sequential, seq_data):
    m = make_sequential()
    m.fit(*seq_data, epochs=1, verbose=0)
    es, rl = EarlyStopping(monitor="loss", restore_best_weights=True), ReduceLROnPlateau(monitor="loss")
    for cb in (es, rl):
        cb.set_model(m)
        cb.on_train_begin()
        cb.on_epoch_end(0, {"loss": 1.5})
    p = str(tmp_path / "ck.zip")
    saving.save_checkpoint(p, m, epoch=1, callbacks=[es, rl])
    return p, m


def test_checkpoint_layout(checkpoint):
    p, m = checkpoint
    with zipfile.ZipFile(p) as z:
        assert sorted(z.namelist()) == ["callbacks.npz", "checkpoint.json", "model.weights.npz", "optimizer.npz"]
        head = json.loads(z.read("checkpoint.json"))
    assert head["format"] == "nerve.checkpoint" and head["epoch"] == 1 and head["step"] is None
    assert head["rng_state"] == nerve.backend.get_rng_state()
    assert head["optimizer"]["iterations"] == m.optimizer.iterations
    assert head["callbacks"]["ReduceLROnPlateau"] == {"wait": 0, "best": 1.5, "cooldown_counter": 0}
    assert head["callbacks"]["EarlyStopping"]["best_weights"][0] == {"__array__": "EarlyStopping/best_weights/0"}
    ck = saving.load_checkpoint(p)
    np.testing.assert_array_equal(ck.callback_states["EarlyStopping"]["best_weights"][0], m.get_weights()[0])


def rewrite(path, **changes):
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members.update(changes)
    with zipfile.ZipFile(path, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    return members


class Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_crafted_checkpoints_are_refused(checkpoint, tmp_path, make_sequential):
    p, _ = checkpoint
    sentinel = tmp_path / "PWNED"
    buf = io.BytesIO()
    np.savez(buf, **{"EarlyStopping/best_weights/0": np.array([Touch(str(sentinel))], dtype=object)})
    rewrite(p, **{"callbacks.npz": buf.getvalue()})
    with pytest.raises(ArchiveError, match="pickles are refused"):
        saving.load_checkpoint(p)
    rewrite(p, **{"callbacks.npz": b"", "../PWNED": b"x"})
    with pytest.raises(ArchiveError, match="unsafe member name"):
        saving.load_checkpoint(p)
    assert not sentinel.exists()


def test_bad_header_fields(checkpoint, make_sequential):
    p, m = checkpoint
    with zipfile.ZipFile(p) as z:
        head = json.loads(z.read("checkpoint.json"))
    for field, value, msg in [("format", "other", "not a nerve checkpoint"), ("epoch", -1, "epoch"),
                              ("step", "3", "step"), ("rng_state", [1], "rng_state"),
                              ("format_version", 99, "format_version")]:
        rewrite(p, **{"checkpoint.json": json.dumps(dict(head, **{field: value}))})
        with pytest.raises(ArchiveError, match=msg):
            saving.load_checkpoint(p)
    rewrite(p, **{"checkpoint.json": json.dumps(dict(head, rng_state={"bit_generator": "MT19937", "state": 1}))})
    with pytest.raises(ArchiveError, match="RNG state"):
        saving.restore_checkpoint(p, m)
    bad_opt = dict(head["optimizer"], iterations="many")
    rewrite(p, **{"checkpoint.json": json.dumps(dict(head, optimizer=bad_opt))})
    with pytest.raises(ArchiveError, match="iterations"):
        saving.restore_checkpoint(p, m)


def test_checkpoint_into_another_architecture(checkpoint, make_functional):
    p, _ = checkpoint
    with pytest.raises(ValueError, match="do not match"):
        saving.restore_checkpoint(p, make_functional())
