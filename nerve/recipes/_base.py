"""The recipe registry and runner: ``@recipe(...)`` registers a worked example; ``run_recipe`` runs it into a
run directory (nerve.workbench) with its config, history, metrics (ours next to the book's) and report."""
import dataclasses
import os
import time

import numpy as np

import nerve
from .. import workbench

REGISTRY = {}


class RecipeUnavailable(RuntimeError):
    """A recipe cannot run here: a component is not available yet or its data set is missing offline."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    seed: str          # seed file, e.g. "seed-000-003-004.md"
    section: str       # section / worked example, e.g. "§1.3 M2, R3"
    dataset: str
    architecture: str
    book: str          # the book's result, as text
    func: object = None
    needs: tuple = ()  # data a full run needs ("hitters", "twitter", ...), for the tests' skips

    def describe(self):
        return {"recipe": self.name, "title": self.title, "seed": f"{self.seed} {self.section}",
                "dataset": self.dataset, "architecture": self.architecture, "book": self.book}


def recipe(name, title, seed, section, dataset, architecture, book, needs=()):
    """Decorator: register ``func(ctx) -> dict of our metrics`` as a recipe."""
    def wrap(func):
        if name in REGISTRY:
            raise ValueError(f"recipe {name!r} registered twice")
        REGISTRY[name] = Recipe(name, title, seed, section, dataset, architecture, book, func, tuple(needs))
        return func
    return wrap


class Context:
    """What a recipe sees: the mode, the run directory, the config being recorded, and helpers."""

    def __init__(self, rec, quick, epochs, run_dir, seed, verbose, log=print, resumable=False):
        self.recipe, self.quick, self.epochs_override = rec, quick, epochs
        self.resumable, self._fits = resumable, 0
        self.run_dir, self.seed, self.verbose, self.log = run_dir, seed, verbose, log
        self.config = {**rec.describe(), "mode": "quick" if quick else "full", "random_seed": seed}
        self.notes = []
        self.history = None

    def epochs(self, full, quick=1):
        """The number of epochs: --epochs if given, else the quick or the book's full value."""
        n = self.epochs_override or (quick if self.quick else full)
        self.config["epochs"] = n
        return n

    def pick(self, full, quick):
        return quick if self.quick else full

    def note(self, text):
        """A remark for the output and the report (stand-in data sets, deviations from the book)."""
        self.notes.append(text)
        self.log(f"note: {text}")

    def set(self, **kw):
        self.config.update(kw)

    # training helpers -------------------------------------------------------------------------------
    def fit(self, model, x, y=None, **kw):
        """model.fit with the run directory's history writer and the progress bar (verbose)."""
        kw.setdefault("verbose", self.verbose)
        self._fits += 1
        backup = self.run_dir.file(f"backup-{self._fits}")
        resumed = self.resumable and os.path.isdir(backup)  # this fit was interrupted: it continues there
        writer = workbench.HistoryWriter(self.run_dir, resume=resumed)
        cbs = list(kw.pop("callbacks", None) or []) + [writer]
        if self.resumable:  # one backup per fit call; a finished fit deletes its backup (BackupAndRestore)
            from ..callbacks import BackupAndRestore
            cbs.append(BackupAndRestore(backup))
        x, y, kw = _data_on_device(model, x, y, kw)
        hist = model.fit(x, y, callbacks=cbs, **kw)
        if resumed:  # the History of a continued fit holds its new epochs only: give it every epoch
            hist.history = writer.history
            hist.epoch = list(range(len(next(iter(hist.history.values()), []))))
        self.history = hist
        return hist

    def classification(self, y_true, y_pred, class_names=None, plot=True):
        """caret-style statistics (and a confusion-matrix plot) for class predictions."""
        y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
        labels = list(range(len(class_names))) if class_names is not None else None
        try:
            from ..evaluation import ConfusionMatrix
            cm = ConfusionMatrix(y_true, y_pred, labels=labels)
        except ImportError:  # SciPy (nerve[sklearn]) computes the exact interval; without it: accuracy, kappa
            k = int(max(y_true.max(), y_pred.max())) + 1 if labels is None else len(labels)
            m = np.zeros((k, k))
            np.add.at(m, (y_true.astype(int), y_pred.astype(int)), 1)
            po, pe = np.trace(m) / m.sum(), (m.sum(0) @ m.sum(1)) / m.sum() ** 2
            return {"test_accuracy": float(po), "kappa": float((po - pe) / (1 - pe)), "n_test": int(m.sum())}
        o = cm.overall
        out = {"test_accuracy": float(o["Accuracy"]), "kappa": float(o["Kappa"]),
               "accuracy_ci95": [float(o["AccuracyLower"]), float(o["AccuracyUpper"])],
               "n_test": int(cm.n)}
        if plot:
            try:
                from ..evaluation import plot_confusion_matrix
            except ImportError as e:
                self.log(f"note: no plots ({e})")
                return out
            self.run_dir.plot("confusion_matrix.png", plot_confusion_matrix, cm,
                              labels=list(class_names) if class_names is not None and len(class_names) <= 10
                              else None, title=f"{self.recipe.name}: confusion matrix (test)")
        return out


def _data_on_device(model, x, y, kw, limit=4 << 30):
    """For a model on the GPU: NumPy training and validation arrays copied there once (up to ``limit`` bytes
    together), so that an epoch neither gathers its shuffled batches on the host nor copies them over."""
    xp = model._array_module() if hasattr(model, "_array_module") else np
    if xp is np:
        return x, y, kw
    val = kw.get("validation_data")
    arrays = [a for a in (x, y, *(val if isinstance(val, tuple) else ())) if type(a) is np.ndarray]
    if type(x) is not np.ndarray or sum(a.nbytes for a in arrays) > limit:
        return x, y, kw
    on = (lambda a: xp.asarray(a) if type(a) is np.ndarray else a)
    if isinstance(val, tuple):
        kw = dict(kw, validation_data=tuple(on(a) for a in val))
    return on(x), on(y), kw


def run_recipe(name, quick=False, epochs=None, out=None, seed=0, verbose=1, log=print, resumable=False):
    """Run recipe ``name`` into directory ``out`` (default ``runs/<name>-<time>``); return metrics.json's dict.
    ``resumable``: back up each fit's state every epoch (``out/backup-K``) so that running again with the same
    ``out`` continues an interrupted run from its last finished epoch (callbacks such as EarlyStopping start
    their counts afresh)."""
    if name not in REGISTRY:
        from . import available
        raise KeyError(f"nerve run: unknown recipe {name!r}; available: {', '.join(available())}")
    rec = REGISTRY[name]
    run_dir = workbench.RunDir(out or workbench.default_run_dir(name))
    ctx = Context(rec, quick, epochs, run_dir, seed, verbose, log, resumable)
    log(f"recipe {name}: {rec.title}  [{rec.seed} {rec.section}]" + ("  (quick mode)" if quick else ""))
    log(f"  data: {rec.dataset}; model: {rec.architecture}")
    run_dir.write_config({**ctx.config, "status": "running"})
    nerve.set_random_seed(seed)
    start = time.perf_counter()
    try:
        ours = rec.func(ctx) or {}
    except RecipeUnavailable as e:
        run_dir.write_config({**ctx.config, "status": "unavailable"})
        run_dir.write_metrics({"recipe": name, "status": "unavailable", "reason": str(e), "book": rec.book})
        raise
    seconds = time.perf_counter() - start
    ctx.config["status"] = "done"
    metrics = {"recipe": name, "mode": ctx.config["mode"], "status": "ok", "book": rec.book,
               "ours": ours, "notes": ctx.notes, "seconds": round(seconds, 2),
               "data_source": ctx.config.get("data_source")}
    run_dir.write_config(ctx.config)
    run_dir.write_metrics(metrics)
    if ctx.history is not None and getattr(ctx.history, "history", None):
        run_dir.write_history(ctx.history)
        try:
            from ..evaluation import plot_history
        except ImportError as e:  # matplotlib is the nerve[plot] extra
            log(f"note: no plots ({e})")
        else:
            run_dir.plot("history.png", plot_history, ctx.history, title=f"{name}: training history")
    run_dir.write_report(title=f"{name}: {rec.title}")
    log(f"book: {rec.book}")
    log("ours: " + ", ".join(f"{k}={_short(v)}" for k, v in ours.items() if not isinstance(v, (dict, list))
                             or k == "accuracy_ci95"))
    log(f"run directory: {run_dir.path} ({seconds:.1f} s)")
    return metrics


def _short(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)
