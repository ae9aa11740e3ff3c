"""Run directories for recipes and ``nerve demo``: what ran, how it went, and a self-contained report.

A run directory holds
    config.json    the resolved configuration (recipe, seed, data source, architecture, hyper-parameters)
    history.csv    one row per epoch (``epoch`` then the History keys), rewritten after every epoch
    metrics.json   the final metrics ("ours"), the book's figure ("book") and the run's status
    *.png          plots (training history, confusion matrix, ...)
    report.html    one HTML file with the tables and every PNG inlined as base64 (no external files)
``nerve report DIR`` regenerates report.html from the other files.
"""
import base64
import csv
import datetime
import html
import json
import math
import os

import numpy as np

from .callbacks import Callback

REPORT = "report.html"


def _jsonable(obj):
    """Plain JSON types for numpy scalars/arrays, tuples and anything else (as its str)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def default_run_dir(name, base="runs"):
    """``runs/<name>-YYYYmmdd-HHMMSS`` (a numeric suffix is added if that exists already)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(base, f"{name}-{stamp}")
    k = 1
    while os.path.exists(path):
        k += 1
        path = os.path.join(base, f"{name}-{stamp}-{k}")
    return path


class RunDir:
    """Writer for one run directory (created on construction)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        os.makedirs(self.path, exist_ok=True)

    def file(self, name):
        return os.path.join(self.path, name)

    def _write_json(self, name, obj):
        tmp = self.file(name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(_jsonable(obj), f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, self.file(name))

    def write_config(self, config):
        self._write_json("config.json", config)

    def write_metrics(self, metrics):
        self._write_json("metrics.json", metrics)

    def write_history(self, history):
        """history: a History or a dict {key: per-epoch list}; writes ``history.csv`` (epoch starts at 1)."""
        write_history_csv(self.file("history.csv"), getattr(history, "history", history))

    def plot(self, name, fn, *args, **kwargs):
        """Call a plot function with ``path=<dir>/<name>``; a failing plot is reported, not fatal."""
        try:
            fn(*args, path=self.file(name), **kwargs)
        except Exception as e:  # a broken figure must not lose the run's numbers
            print(f"workbench: could not draw {name}: {type(e).__name__}: {e}")
            return None
        return self.file(name)

    def write_report(self, title=None):
        return write_report(self.path, title=title)


def write_history_csv(path, history):
    keys = list(history)
    n = max((len(history[k]) for k in keys), default=0)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["epoch", *keys])
        for i in range(n):
            w.writerow([i + 1, *(_fmt_cell(history[k][i]) if i < len(history[k]) else "" for k in keys)])
    os.replace(tmp, path)


def _fmt_cell(v):
    v = float(np.asarray(v))
    return "" if v != v else repr(v)  # NaN: a key this epoch did not log


def read_history_csv(path, rows=False):
    """{key: list of floats} from a history.csv (the epoch column is dropped); with ``rows=True`` one
    {key: float} per epoch instead (empty cells left out)."""
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    if not table:
        return [] if rows else {}
    keys = table[0][1:]
    if rows:
        return [{k: float(c) for k, c in zip(keys, row[1:]) if c != ""} for row in table[1:]]
    out = {k: [] for k in keys}
    for row in table[1:]:
        for k, cell in zip(keys, row[1:]):
            if cell != "":
                out[k].append(float(cell))
    return out


class HistoryWriter(Callback):
    """Rewrites history.csv after every epoch, so an interrupted run still leaves its curves behind. Rows are
    kept by epoch number: with ``resume=True`` the rows already in history.csv are read first, and a fit that
    continues at epoch k (BackupAndRestore) rewrites the rows from k on, so the file keeps every epoch once."""

    def __init__(self, run_dir, resume=False):
        super().__init__()
        self.run_dir = run_dir
        self.rows = {}  # epoch index (0-based) -> {key: value}
        path = run_dir.file("history.csv")
        if resume and os.path.exists(path):
            old = read_history_csv(path, rows=True)
            self.rows = {i: r for i, r in enumerate(old)}

    @property
    def history(self):
        """{key: per-epoch list} over every epoch so far (NaN where an epoch lacks a key)."""
        keys = list(dict.fromkeys(k for e in sorted(self.rows) for k in self.rows[e]))
        return {k: [self.rows[e].get(k, float("nan")) for e in sorted(self.rows)] for k in keys}

    def on_epoch_end(self, epoch, logs=None):
        for e in [e for e in self.rows if e >= epoch]:  # rows of an interrupted run that this one recomputes
            del self.rows[e]
        self.rows[epoch] = {k: float(np.asarray(v)) for k, v in (logs or {}).items()}
        self.run_dir.write_history(self.history)


# ------------------------------------------------------------------------------------------------ report

def _table(rows, header=None):
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(_show(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _show(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def _flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _load_json(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
         "text-align:left;font-size:90%}th{background:#eee}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"
         "pre{background:#f6f6f6;padding:0.6em;overflow-x:auto}")


def write_report(run_dir, title=None):
    """(Re)generate ``report.html`` in ``run_dir`` from config.json, metrics.json, history.csv and the PNGs."""
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"nerve report: '{run_dir}' is not a directory (expected a run directory "
                                f"with config.json / metrics.json / history.csv)")
    config = _load_json(os.path.join(run_dir, "config.json"))
    metrics = _load_json(os.path.join(run_dir, "metrics.json"))
    if not config and not metrics:
        raise FileNotFoundError(f"nerve report: '{run_dir}' has neither config.json nor metrics.json; "
                                f"is it a run directory?")
    title = title or config.get("title") or config.get("recipe") or os.path.basename(os.path.abspath(run_dir))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for key in ("seed", "dataset", "data_source", "architecture"):
        if key in config:
            parts.append(f"<p><b>{key.replace('_', ' ')}:</b> {html.escape(_show(config[key]))}</p>")
    if metrics:
        parts.append("<h2>Results</h2>")
        book, ours = metrics.get("book"), metrics.get("ours", {})
        if book is not None:
            parts.append(f"<p><b>book:</b> {html.escape(_show(book))}</p>")
        if isinstance(ours, dict) and ours:
            parts.append(_table(list(_flatten(ours)), header=("metric", "ours")))
        rest = {k: v for k, v in metrics.items() if k not in ("book", "ours", "text")}
        if rest:
            parts.append(_table(list(_flatten(rest)), header=("field", "value")))
        if metrics.get("text"):
            parts.append(f"<pre>{html.escape(str(metrics['text']))}</pre>")
    hist_path = os.path.join(run_dir, "history.csv")
    if os.path.exists(hist_path):
        hist = read_history_csv(hist_path)
        if hist:
            n = max(len(v) for v in hist.values())
            rows = [[i + 1, *(hist[k][i] if i < len(hist[k]) else "" for k in hist)] for i in range(n)]
            parts.append("<h2>History</h2>" + _table(rows, header=("epoch", *hist)))
    pngs = sorted(f for f in os.listdir(run_dir) if f.lower().endswith(".png"))
    if pngs:
        parts.append("<h2>Plots</h2>")
    for name in pngs:
        with open(os.path.join(run_dir, name), "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        parts.append(f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    if config:
        parts.append("<h2>Configuration</h2>" + _table(list(_flatten(config)), header=("key", "value")))
    parts.append("</body></html>\n")
    path = os.path.join(run_dir, REPORT)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(path + ".tmp", path)
    return path


def report_main(argv=None):
    """``nerve report DIR``: regenerate DIR/report.html; returns an exit code."""
    import argparse

    p = argparse.ArgumentParser(prog="nerve report", description="Regenerate report.html of a run directory.")
    p.add_argument("dir", help="run directory (with config.json, metrics.json, history.csv, *.png)")
    args = p.parse_args(argv)
    try:
        path = write_report(args.dir)
    except FileNotFoundError as e:
        print(str(e))
        return 1
    print(f"wrote {path}")
    return 0
