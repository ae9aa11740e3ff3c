"""``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when the monitor plateaus (Keras 3)."""
import warnings

import numpy as np

from ..saving.registry import register
from .callback import Callback, monitor_mode


@register("callbacks")
class ReduceLROnPlateau(Callback):
    """After ``patience`` epochs without improvement (by more than ``min_delta``), set
    ``lr = max(lr * factor, min_lr)``, then wait ``cooldown`` epochs before counting again.
    Adds ``learning_rate`` (the rate used in the epoch) to the epoch logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2 name
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self):
        self.mode, op, self.best = monitor_mode(self.mode, "Learning rate reduction mode {mode} is unknown, "
                                                "fallback to auto mode.", "acc" in self.monitor)
        if op is np.less:
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _optimizer(self):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not hasattr(opt, "learning_rate"):
            raise ValueError("ReduceLROnPlateau: the model has no optimizer with a 'learning_rate'; compile it first")
        return opt

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        opt = self._optimizer()
        logs["learning_rate"] = float(opt.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs.keys())}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = float(current)
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(opt.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    opt.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def get_state(self):
        return {"wait": self.wait, "best": float(self.best), "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.wait = int(state.get("wait", 0))
        self.best = float(state.get("best", self.best))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))

    def get_config(self):
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience, "verbose": self.verbose,
                "mode": self.mode, "min_delta": self.min_delta, "cooldown": self.cooldown, "min_lr": self.min_lr}
