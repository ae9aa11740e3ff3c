"""How many of Keras 3's public names nerve has: lists the names of Keras's public modules (keras.layers,
keras.ops, ..., applications left out) with dir() in a subprocess, then looks each up in nerve the same way.

    pip install --target /tmp/kpkgs keras absl-py rich namex h5py optree ml-dtypes   # once, needs torch
    python tools/keras_coverage.py --keras-path /tmp/kpkgs [--missing]

Keras runs on its torch backend there (its NumPy backend imports JAX); nerve never imports Keras."""
import json
import os
import subprocess
import sys

MODULES = ["layers", "ops", "losses", "metrics", "optimizers", "callbacks", "activations", "initializers",
           "regularizers", "constraints", "models", "utils", "random", "config", "saving", "optimizers.schedules",
           "ops.nn", "ops.image", "ops.linalg", "ops.numpy", "tree", "mixed_precision", "dtype_policies",
           "datasets", "preprocessing", "wrappers"]

LIST = """
import json, sys, keras
out = {"version": keras.__version__, "names": []}
for m in json.loads(sys.argv[1]):
    mod = keras
    try:
        for part in m.split("."):
            mod = getattr(mod, part)
    except AttributeError:
        continue
    out["names"] += [[m, n] for n in dir(mod) if not n.startswith("_")]
out["names"] += [["", n] for n in dir(keras) if not n.startswith("_")]
print(json.dumps(out))
"""


def keras_names(keras_path):
    env = dict(os.environ, KERAS_BACKEND="torch")
    if keras_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [keras_path, env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", LIST, json.dumps(MODULES)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def missing_in_nerve(names):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import nerve
    missing = []
    for module, name in {tuple(p) for p in names}:
        obj = nerve
        try:
            for part in filter(None, module.split(".")):
                obj = getattr(obj, part)
            getattr(obj, name)
        except AttributeError:
            missing.append((module or "<top>", name))
    return sorted(missing)


def main(argv):
    path = argv[argv.index("--keras-path") + 1] if "--keras-path" in argv else None
    info = keras_names(path)
    names = {tuple(p) for p in info["names"]}
    missing = missing_in_nerve(names)
    print(f"Keras {info['version']}: {len(names) - len(missing)} of {len(names)} public names are in nerve")
    if "--missing" in argv:
        by = {}
        for m, n in missing:
            by.setdefault(m, []).append(n)
        for m, ns in by.items():
            print(f"  {m}: {' '.join(ns)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
