"""``nerve.recipes``: one runnable recipe per worked example of the seeds.

Each recipe names its seed file and section, the data set, the architecture and the book's result, and
writes a run directory (nerve.workbench) with our result next to the book's. ``--quick`` mode (tiny
subsets, one epoch) finishes in seconds and is run by the test suite; the full mode follows the book.

    nerve recipes                      # the list, with seed references
    nerve run fashion_cnn --quick      # or: nerve.recipes.run_recipe("fashion_cnn", quick=True)

Modules: islr (seed-000-003-004), text (sentiment RNNs, char-level generation), generative (autoencoders,
VAE, RBM, GANs), rivas (seed-001: perceptron, two-spirals layer search, wide/deep/sparse, CIFAR CNN),
spirals (seed-002: initialisation, optimisers, regularisation).
"""
from ._base import REGISTRY, Context, Recipe, RecipeUnavailable, recipe, run_recipe  # noqa: F401
from . import islr  # noqa: F401  (registers)

_MODULES = ("text", "generative", "rivas", "spirals")
for _m in _MODULES:  # modules are light to import: models are built inside the recipe functions
    __import__(f"{__name__}.{_m}")


def available():
    return list(REGISTRY)


def get(name):
    if name not in REGISTRY:
        raise KeyError(f"unknown recipe {name!r}; available: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def table():
    """Rows (name, seed + section, data set, book) for `nerve recipes`."""
    return [(r.name, f"{r.seed} {r.section}", r.dataset, r.book) for r in REGISTRY.values()]


def _headline(ours):
    """The one number a results table shows for a run (accuracy first, then the recipe's main figure)."""
    for key in ("test_accuracy", "test_mse", "best_mean_accuracy", "best_test_acc", "he_test_acc",
                "adam_batch64_test_acc", "pocket_accuracy", "train_accuracy", "best_cv_accuracy", "test_mse",
                "final_loss", "final_d_acc"):
        if isinstance(ours.get(key), (int, float)):
            return f"{key} {ours[key]:.4g}"
    return ""


def results_markdown(run_dirs):
    """A README results table (recipe | seed | book | ours | command) from full-mode run directories."""
    import json
    import os
    rows = ["| recipe | seed, section | book | ours (full mode) | command |", "|---|---|---|---|---|"]
    for d in run_dirs:
        with open(os.path.join(d, "metrics.json"), encoding="utf-8") as f:
            m = json.load(f)
        r = REGISTRY.get(m.get("recipe"))
        if r is None or m.get("status") != "ok":
            continue
        src = f" ({m['data_source']})" if m.get("data_source") else ""
        rows.append(f"| {r.name} | {r.seed} {r.section} | {r.book} | {_headline(m.get('ours', {}))}{src} | "
                    f"`nerve run {r.name} --out {d}` |")
    return "\n".join(rows)
