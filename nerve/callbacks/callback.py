"""``Callback``: the Keras 3 hook interface. The fit loop's CallbackList calls ``set_params``,
``set_model`` and the hooks; ``self.model`` is the model being trained (``model.stop_training = True``
ends training after the current epoch)."""
import warnings

import numpy as np


class Callback:
    """Base class of every callback (``keras.callbacks.Callback``).

    Stateful callbacks also implement ``get_state()`` (a JSON-friendly dict; NumPy arrays allowed) and
    ``set_state(state)`` so that checkpoints (``BackupAndRestore``) resume them exactly.
    """

    _run_last = False  # CallbackList runs callbacks with this flag after the others (BackupAndRestore)

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    @model.setter
    def model(self, model):
        self._model = model

    # state for checkpoints (stateless by default)
    def get_state(self):
        return {}

    def set_state(self, state):
        pass

    # batch hooks: the train variants call the legacy on_batch_* names, as in Keras
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


def monitor_mode(mode, warning, auto_max=None):
    """Keras' ``mode`` handling shared by ModelCheckpoint, ReduceLROnPlateau and EarlyStopping.

    An unknown mode warns (``warning`` formatted with ``mode``, pointing at the callback's caller) and falls
    back to 'auto'. Returns ``(mode, np.greater, -inf)`` when maximising, ``(mode, np.less, inf)`` when
    minimising; 'auto' maximises when ``auto_max`` (the callback's own rule) is true, and stays undecided,
    ``(mode, None, None)``, when ``auto_max`` is None.
    """
    if mode not in ("auto", "min", "max"):
        warnings.warn(warning.format(mode=mode), stacklevel=3)
        mode = "auto"
    if mode == "auto" and auto_max is None:
        return mode, None, None
    if mode == "max" or (mode == "auto" and auto_max):
        return mode, np.greater, -np.inf
    return mode, np.less, np.inf


def batch_save_due(callback, batch):
    """Keras' ``save_freq`` counter shared by ModelCheckpoint and BackupAndRestore: add the batches since the
    last one seen (a batch index not above it starts a new epoch) and, when ``callback.save_freq`` batches
    have passed since the last save, reset the count and return True. Always False for save_freq='epoch'."""
    if callback.save_freq == "epoch":
        return False
    if batch <= callback._last_batch_seen:  # a new epoch
        add = batch + 1
    else:
        add = batch - callback._last_batch_seen
    callback._batches_seen_since_last_saving += add
    callback._last_batch_seen = batch
    if callback._batches_seen_since_last_saving >= callback.save_freq:
        callback._batches_seen_since_last_saving = 0
        return True
    return False


def monitor_direction(monitor, model=None, owner="callback"):
    """'min' or 'max' for ``mode='auto'``: losses go down; accuracy-like metrics go up (Keras 3 reads the
    metric's ``_direction``; the name is used when the metric object is not found)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for m in _model_metrics(model):
        if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
            return "max" if m._direction == "up" else "min"
    low = name.lower()
    if any(t in low for t in ("acc", "auc", "precision", "recall", "f1", "fbeta", "fmeasure", "r2", "iou",
                              "true_positives", "true_negatives", "cosine_similarity")):
        return "max"
    if any(t in low for t in ("error", "mse", "mae", "mape", "msle", "rmse", "crossentropy", "hinge", "poisson",
                              "divergence", "false_positives", "false_negatives", "log_cosh", "huber")):
        return "min"
    raise ValueError(f"{owner} received monitor={monitor!r} but nerve cannot tell whether that metric should be "
                     f"maximized or minimized. Pass mode='max' to use the highest value, or mode='min' to use "
                     f"the lowest value")


def _model_metrics(model):
    try:
        ms = list(getattr(model, "metrics", None) or [])
    except Exception:  # metrics not available before compile/fit
        return []
    out = []
    for m in ms:
        out.append(m)
        out.extend(getattr(m, "metrics", None) or [])  # container metrics (compile metrics)
    return out
