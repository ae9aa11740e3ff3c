"""``CSVLogger``: stream epoch results to a CSV file (Keras 3 semantics)."""
import collections
import csv
import os

import numpy as np

from ..saving.registry import register
from .callback import Callback


@register("callbacks")
class CSVLogger(Callback):
    """One row per epoch: ``epoch`` (0-based) then the logs' keys in sorted order. As in Keras, when the
    first epoch has no ``val_`` keys, ``val_``-prefixed columns are added (filled with ``NA``) so later
    epochs with validation (``validation_freq > 1``) fit. ``append=True`` continues an existing file."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

        self._resumed = False
        self._rows = 0

    def on_train_begin(self, logs=None):
        self.writer = None
        self.keys = None
        self._resumed = False

    def _open(self):
        # opened at the first row, so a resumed run (set_state by BackupAndRestore, which runs after the
        # other callbacks' on_train_begin) appends to the rows of the interrupted run instead of truncating
        if self._resumed and os.path.exists(self.filename):
            self._drop_rows_after_checkpoint()
        if self.append or self._resumed:
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            self.append_header = True
            mode = "w"
        os.makedirs(os.path.dirname(os.path.abspath(self.filename)), exist_ok=True)
        self.csv_file = open(self.filename, mode, newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            is_zero_dim = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim:
                return f"\"[{', '.join(map(str, k))}]\""
            return k

        if self.csv_file is None:
            self._open()
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None

    def _drop_rows_after_checkpoint(self):
        """Rows written after the checkpoint belong to epochs that will run again: remove them."""
        with open(self.filename, "r", newline="") as f:
            lines = f.readlines()
        keep = self._rows
        if len(lines) > keep:
            with open(self.filename, "w", newline="") as f:
                f.writelines(lines[:keep])

    def get_state(self):
        lines = 0
        if os.path.exists(self.filename):
            with open(self.filename, "r", newline="") as f:
                lines = sum(1 for _ in f)
        return {"file_lines": lines}

    def set_state(self, state):
        self._resumed = True
        self._rows = int(state.get("file_lines", 0))
