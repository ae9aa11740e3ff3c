"""The progress bar of ``fit`` / ``evaluate`` / ``predict`` (Keras 3 look), right in three places:

- a terminal (stdout is a TTY) or a notebook (ipykernel): one line redrawn in place with ``\\r``, at most
  every ``interval`` seconds (throttled), then finalised with the epoch's metrics;
- a log file or pipe: no redraws at all, one line per epoch (verbose 1 and 2 alike).

Format: ``469/469 ━━━━━━━━━━━━━━━━━━━━ 2s 4ms/step - accuracy: 0.8765 - loss: 0.4388``; verbose=2 prints
``469/469 - 2s - 4ms/step - accuracy: ... - loss: ...`` once per epoch.
"""
import math
import os
import re
import sys
import time

from ._callback_base import Callback


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _stdout():
    return sys.stdout


def is_dynamic_display(stream=None):
    """True in a terminal or a Jupyter/IPython kernel (where ``\\r`` redraws a line)."""
    stream = stream or _stdout()
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def _bar_chars(stream):
    enc = getattr(stream, "encoding", None) or "ascii"
    try:
        "━".encode(enc)
        return "━"
    except (UnicodeEncodeError, LookupError):
        return "="


def format_time_per_unit(t, unit_name="step"):
    if t >= 1 or t == 0:
        return f"{t:.0f}s/{unit_name}"
    if t >= 1e-3:
        return f"{t * 1e3:.0f}ms/{unit_name}"
    return f"{t * 1e6:.0f}us/{unit_name}"


def format_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600) // 60:02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"


def format_value(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return f" {v}"
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


class Progbar:
    """A progress bar for ``target`` steps (None = unknown). ``update(current, values, finalize)`` with
    ``values`` a list of (name, value) pairs; values are shown as given (the logs are running means)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream
        self._dynamic = is_dynamic_display(self.stream)
        self._color = self._dynamic and os.environ.get("NO_COLOR") is None
        self._char = _bar_chars(self.stream or _stdout())
        self._values = {}
        self._start = time.time()
        self._last_update = 0.0
        self._prev_width = 0
        self._seen = 0

    def _write(self, text):
        s = self.stream or _stdout()
        s.write(text)
        s.flush()

    def _bar(self, current):
        target = self.target
        if target is None:
            return f"{current:>7}/Unknown"
        digits = int(math.log10(max(target, 1))) + 1
        done = int(self.width * min(current, target) / target) if target else self.width
        bar = f"{current:>{digits}}/{target} "
        if self._color:
            bar += "\x1b[32m" + self._char * done + "\x1b[0m" + "\x1b[2m" + self._char * (self.width - done) + "\x1b[0m"
        else:
            bar += self._char * done + (self._char if self._char == "━" else ".") * (self.width - done)
        return bar

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            self._values[k] = v
        self._seen = current
        now = time.time()
        if self.verbose == 0:
            return
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        metrics = "".join(f" - {k}:{format_value(v)}" for k, v in self._values.items())
        if self.verbose == 1:
            if not finalize and (not self._dynamic or now - self._last_update < self.interval):
                return
            line = self._bar(current)
            if finalize:
                line += f" {elapsed:.0f}s {format_time_per_unit(per_unit, self.unit_name)}"
            elif self.target is not None:
                eta = format_eta(per_unit * (self.target - current))
                line += f" {eta} {format_time_per_unit(per_unit, self.unit_name)}"
            else:
                line += f" {elapsed:.0f}s {format_time_per_unit(per_unit, self.unit_name)}"
            line += metrics
            if self._dynamic:
                width = len(_ANSI.sub("", line))  # visible characters: pad over a longer previous line
                pad = max(0, self._prev_width - width)
                self._prev_width = width
                self._write("\r" + line + " " * pad + ("\n" if finalize else ""))
            else:
                self._write(line + "\n")
            self._last_update = now
        elif self.verbose == 2 and finalize:
            target = self.target if self.target is not None else current
            digits = int(math.log10(max(target, 1))) + 1
            self._write(f"{current:>{digits}}/{target} - {elapsed:.0f}s - "
                        f"{format_time_per_unit(per_unit, self.unit_name)}{metrics}\n")

    def add(self, n, values=None):
        self.update(self._seen + n, values)


class ProgbarLogger(Callback):
    """Prints the progress of fit / evaluate / predict according to ``params['verbose']``."""

    def __init__(self, count_mode="steps"):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self):
        self.progbar = None
        self.seen = 0

    def _maybe_init(self):
        if self.progbar is None:
            self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()
            self._maybe_init()

    def on_predict_begin(self, logs=None):
        self._reset()
        self._maybe_init()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        self._maybe_init()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def _update(self, batch, logs):
        self._maybe_init()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def _finalize(self, logs):
        self._maybe_init()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(None)

    def on_train_end(self, logs=None):
        self._called_in_fit = False
