"""Crafted archives raise a clear error and execute nothing: each payload would create a sentinel file,
and the test checks that the file does not exist afterwards."""
import base64
import io
import json
import marshal
import os
import pickle
import zipfile

import numpy as np
import pytest

from nerve import saving
from nerve.saving import ArchiveError, UnknownObjectError


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data.encode() if isinstance(data, str) else data)
    return str(path)


def meta():
    return json.dumps({"keras_version": "3.0.0", "nerve_version": "0.1.0", "format_version": 1})


def empty_npz():
    buf = io.BytesIO()
    np.savez(buf)
    return buf.getvalue()


def archive_of(path, config, weights=None, **extra):
    members = {"config.json": json.dumps(config), "metadata.json": meta(),
               "model.weights.npz": empty_npz() if weights is None else weights}
    members.update(extra)
    return write_zip(path, members)


class Touch:
    """Unpickling this would create the sentinel file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def sentinel(tmp_path):
    p = tmp_path / "PWNED"
    yield str(p)
    assert not p.exists(), "a crafted archive executed code"


@pytest.fixture
def valid_archive(tmp_path, make_sequential):
    m = make_sequential()
    p = str(tmp_path / "good.keras")
    m.save(p)
    with zipfile.ZipFile(p) as z:
        members = {n: z.read(n) for n in z.namelist()}
    return p, members


@pytest.mark.parametrize("module,class_name,config", [
    ("os", "system", {"command": "touch {s}"}),
    ("subprocess", "Popen", {"args": ["touch", "{s}"]}),
    ("builtins", "eval", {"source": "open('{s}', 'w')"}),
    ("builtins", "__import__", {"name": "os"}),
    ("posix", "system", {"command": "touch {s}"}),
])
def test_class_path_into_os_subprocess_builtins(tmp_path, sentinel, module, class_name, config):
    cfg = {k: (v.format(s=sentinel) if isinstance(v, str) else [a.format(s=sentinel) for a in v])
           if not isinstance(v, dict) else v for k, v in config.items()}
    p = archive_of(tmp_path / "evil.keras", {"module": module, "class_name": class_name, "config": cfg,
                                             "registered_name": f"{module}.{class_name}"})
    with pytest.raises(UnknownObjectError, match="not a registered nerve"):
        saving.load_model(p)


def test_nested_layer_naming_os_system(tmp_path, sentinel, valid_archive):
    _, members = valid_archive
    cfg = json.loads(members["config.json"])
    layer = next(d for d in cfg["config"]["layers"] if d.get("class_name") == "Dense")
    layer.update({"module": "os", "class_name": "system", "registered_name": "system",
                  "config": {"command": f"touch {sentinel}"}})
    members["config.json"] = json.dumps(cfg)
    p = write_zip(tmp_path / "nested.keras", members)
    with pytest.raises(UnknownObjectError, match="system"):
        saving.load_model(p)


def test_compile_config_naming_eval(tmp_path, sentinel, valid_archive):
    _, members = valid_archive
    cfg = json.loads(members["config.json"])
    cfg["compile_config"]["loss"] = {"module": "builtins", "class_name": "eval", "registered_name": "eval",
                                     "config": {"source": f"open({sentinel!r}, 'w')"}}
    members["config.json"] = json.dumps(cfg)
    p = write_zip(tmp_path / "compile.keras", members)
    with pytest.raises(UnknownObjectError, match="eval"):
        saving.load_model(p)


def test_keras2_marshalled_lambda_is_refused(tmp_path, sentinel, valid_archive):
    code = compile(f"open({sentinel!r}, 'w').close()", "<payload>", "exec")
    payload = base64.b64encode(marshal.dumps(code)).decode()
    lam = {"module": "nerve.layers", "class_name": "Lambda", "registered_name": "Lambda",
           "config": {"name": "lambda", "function": [payload, None, None], "function_type": "lambda",
                      "arguments": {}}}
    # as the whole model: a Lambda is not a model class
    with pytest.raises(ArchiveError, match="not a Model class"):
        saving.load_model(archive_of(tmp_path / "lambda0.keras", lam))
    # inside a Sequential (Keras 2 style bytecode in the config)
    _, members = valid_archive
    cfg = json.loads(members["config.json"])
    layers = cfg["config"]["layers"]
    i = next(i for i, d in enumerate(layers) if d.get("class_name") == "Dense")
    layers[i] = lam
    members["config.json"] = json.dumps(cfg)
    with pytest.raises(ValueError, match="Lambda|function|class_name"):
        saving.load_model(write_zip(tmp_path / "lambda1.keras", members))
    # the payload as a "registered function" name resolves nothing either
    lam["config"]["function"] = {"class_name": "function", "config": payload, "registered_name": payload}
    members["config.json"] = json.dumps(cfg)
    with pytest.raises(UnknownObjectError):
        saving.load_model(write_zip(tmp_path / "lambda2.keras", members))


def test_pickled_object_inside_the_npz(tmp_path, sentinel, valid_archive, make_sequential):
    _, members = valid_archive
    buf = io.BytesIO()
    np.savez(buf, **{"dense/kernel": np.array([Touch(sentinel)], dtype=object)})
    members["model.weights.npz"] = buf.getvalue()
    p = write_zip(tmp_path / "pickle.keras", members)
    with pytest.raises(ArchiveError, match="object arrays and pickles are refused"):
        saving.load_model(p)
    # the same through load_weights and through a weights file
    wp = tmp_path / "w.weights.npz"
    wp.write_bytes(members["model.weights.npz"])
    with pytest.raises(ArchiveError):
        make_sequential().load_weights(str(wp))


def test_raw_pickle_instead_of_npz(tmp_path, sentinel, valid_archive, make_sequential):
    _, members = valid_archive
    members["model.weights.npz"] = pickle.dumps(Touch(sentinel))
    p = write_zip(tmp_path / "rawpickle.keras", members)
    with pytest.raises(ArchiveError, match="not an npz"):
        saving.load_model(p)
    wp = tmp_path / "w.weights.npz"
    wp.write_bytes(pickle.dumps(Touch(sentinel)))
    with pytest.raises(ArchiveError):
        make_sequential().load_weights(str(wp))


def test_marshalled_code_object_as_array_member(tmp_path, sentinel, valid_archive):
    _, members = valid_archive
    code = compile(f"open({sentinel!r}, 'w').close()", "<payload>", "exec")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("dense/kernel.npy", marshal.dumps(code))
    members["model.weights.npz"] = buf.getvalue()
    p = write_zip(tmp_path / "marshal.keras", members)
    with pytest.raises(ArchiveError, match="not a numeric array"):
        saving.load_model(p)


@pytest.mark.parametrize("name", ["../PWNED", "/tmp/PWNED_abs", "a/../../PWNED", "..\\PWNED", "C:/PWNED"])
def test_path_traversal_member_names(tmp_path, sentinel, valid_archive, name):
    _, members = valid_archive
    members[name.replace("PWNED", os.path.basename(sentinel))] = b"x"
    sub = tmp_path / "sub"
    sub.mkdir()
    p = write_zip(sub / "traversal.keras", members)
    with pytest.raises(ArchiveError, match="unsafe member name"):
        saving.load_model(p)
    assert not os.path.exists("/tmp/PWNED_abs")


def test_unexpected_member(tmp_path, sentinel, valid_archive):
    _, members = valid_archive
    members["__init__.py"] = f"open({sentinel!r}, 'w')"
    p = write_zip(tmp_path / "extra.keras", members)
    with pytest.raises(ArchiveError, match="unexpected members"):
        saving.load_model(p)


def test_truncated_and_corrupt_zips(tmp_path, sentinel, valid_archive):
    good, _ = valid_archive
    data = open(good, "rb").read()
    for cut in (len(data) // 2, len(data) - 10, 30, 0):
        p = tmp_path / f"cut{cut}.keras"
        p.write_bytes(data[:cut])
        with pytest.raises(ArchiveError, match="truncated or corrupt|not a valid zip|missing"):
            saving.load_model(str(p))
    p = tmp_path / "garbage.keras"
    p.write_bytes(b"\x00" * 100 + data[100:])
    with pytest.raises(ArchiveError):
        saving.load_model(str(p))


def test_weights_of_the_wrong_shape(tmp_path, valid_archive, make_sequential):
    _, members = valid_archive
    with np.load(io.BytesIO(members["model.weights.npz"])) as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.endswith("kernel"))
    expected = arrays[key].shape
    arrays[key] = np.zeros((7, 7), "float32")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    members["model.weights.npz"] = buf.getvalue()
    p = write_zip(tmp_path / "shape.keras", members)
    with pytest.raises(ValueError, match=rf"{key}.*expected shape \({expected[0]}, {expected[1]}\), got \(7, 7\)"):
        saving.load_model(p)


def test_config_must_be_json_with_expected_keys(tmp_path, valid_archive):
    _, members = valid_archive
    for bad, msg in [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
                     (json.dumps({"class_name": "Sequential"}).encode(), "dict 'config'"),
                     (json.dumps({"class_name": 3, "config": {}}).encode(), "string 'class_name'"),
                     (json.dumps({"class_name": "Sequential", "config": {}, "exec": "x"}).encode(), "unexpected keys")]:
        p = write_zip(tmp_path / "cfg.keras", dict(members, **{"config.json": bad}))
        with pytest.raises(ArchiveError, match=msg):
            saving.load_model(p)


def test_size_limits(tmp_path, valid_archive, monkeypatch):
    good, _ = valid_archive
    from nerve.saving import file_io
    monkeypatch.setattr(file_io, "MAX_JSON_BYTES", 16)
    with pytest.raises(ArchiveError, match="limit"):
        saving.load_model(good)


def test_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        saving.load_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ArchiveError, match="directory"):
        saving.load_model(str(tmp_path))


def test_an_array_header_that_claims_billions_of_values_is_refused_without_allocating_them():
    """A .npy header saying (3000000000,) over 16 bytes of data: an ArchiveError naming the truncation, read
    in chunks (no 12 GB allocation)."""
    from nerve.saving.file_io import load_npz
    b = io.BytesIO()
    np.save(b, np.zeros(4, np.float32))
    raw = b.getvalue()
    n = int.from_bytes(raw[8:10], "little")
    head = raw[10:10 + n].decode().replace("(4,)", "(3000000000,)").rstrip(" \n")
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("w.npy", raw[:10] + (head + " " * (n - 1 - len(head)) + "\n").encode() + raw[10 + n:])
    with pytest.raises(ArchiveError, match="array 'w' in 'weights.npz' cannot be loaded safely.*truncated or corrupt"):
        load_npz(z.getvalue(), "weights.npz", "model.keras")
