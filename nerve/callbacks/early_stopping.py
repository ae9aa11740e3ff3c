"""``EarlyStopping``: stop when the monitored quantity stops improving (Keras 3 semantics)."""
import warnings

import numpy as np

from ..saving.registry import register
from .callback import Callback, monitor_direction, monitor_mode


@register("callbacks")
class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Improvement: ``current - min_delta > best`` (mode max) or ``current + min_delta < best`` (mode min).
    ``baseline``: wait is only reset by values that also beat the baseline. ``start_from_epoch``: epochs
    before it are ignored (warm-up). ``restore_best_weights``: at the end of training the weights of the
    best epoch are put back (those of the first monitored epoch if nothing improved).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(patience, (int, np.integer)) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: argument 'patience' expected a non-negative int, got {patience!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        self.mode = monitor_mode(mode, "EarlyStopping mode {mode} is unknown, fallback to auto mode.")[0]
        self.monitor_op = None  # chosen on the first epoch end (mode 'auto' asks the model's metrics)
        self.best = None
        self.best_epoch = 0

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else monitor_direction(self.monitor, self.model,
                                                                            "EarlyStopping")
        self.monitor_op = np.less if direction == "min" else np.greater

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # if best weights were never set, the current weights are the best
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = float(current)
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # only restart wait if we beat both the baseline and our previous best
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=2)
        return value

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        delta = -self.min_delta if self.monitor_op is np.less else self.min_delta
        return bool(self.monitor_op(monitor_value - delta, reference_value))

    def get_state(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch,
                "best_weights": None if self.best_weights is None else [np.asarray(w) for w in self.best_weights]}

    def set_state(self, state):
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        self.best = state.get("best")
        self.best_epoch = int(state.get("best_epoch", 0))
        bw = state.get("best_weights")
        self.best_weights = None if bw is None else [np.array(w) for w in bw]

    def get_config(self):
        return {"monitor": self.monitor, "min_delta": self.min_delta, "patience": self.patience,
                "verbose": self.verbose, "mode": self.mode, "baseline": self.baseline,
                "restore_best_weights": self.restore_best_weights, "start_from_epoch": self.start_from_epoch}
