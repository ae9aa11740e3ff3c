"""``ModelCheckpoint``: save the model or its weights during training (Keras 3 semantics)."""
import os
import warnings

import numpy as np

from ..saving.registry import register
from .callback import Callback, batch_save_due, monitor_mode


def save_model_or_weights(model, filepath, weights_only):
    """Call ``model.save_weights`` / ``model.save`` (overridable, as Keras does), else nerve.saving's."""
    from .. import saving
    if weights_only:
        if hasattr(model, "save_weights"):
            model.save_weights(filepath, overwrite=True)
        else:
            saving.save_weights(model, filepath, overwrite=True)
    elif hasattr(model, "save"):
        model.save(filepath, overwrite=True)
    else:
        saving.save_model(model, filepath, overwrite=True)


@register("callbacks")
class ModelCheckpoint(Callback):
    """Save after every epoch (or every ``save_freq`` batches) to ``filepath``, which may contain
    ``{epoch:02d}`` (1-based) and log keys such as ``{val_loss:.2f}``. ``save_best_only`` saves only when
    ``monitor`` improves (beating ``initial_value_threshold`` if given). Paths end in ``.keras`` (whole
    model) or, with ``save_weights_only=True``, ``.weights.npz``."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self.best = initial_value_threshold
        auto_max = "acc" in monitor or monitor.startswith("fmeasure")
        self.mode, self.monitor_op, best = monitor_mode(mode, "ModelCheckpoint mode '{mode}' is unknown, fallback "
                                                        "to auto mode.", auto_max)
        if self.best is None:
            self.best = best
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' "
                             f"or a positive integer number of batches")
        base = self.filepath
        if save_weights_only:
            if base.endswith((".h5", ".hdf5")):
                raise ValueError(f"ModelCheckpoint: HDF5 weights files are not supported (no h5py); with "
                                 f"save_weights_only=True the filepath must end in '.weights.npz'. Received: "
                                 f"filepath={base}")
            if not base.endswith(".weights.npz"):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided "
                                 f"must end in `.weights.npz` (nerve weights format). Received: filepath={base}")
        elif not base.endswith(".keras"):
            raise ValueError("The filepath provided must end in `.keras` (nerve model format). Received: "
                             f"filepath={base}")

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        return batch_save_due(self, batch)

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if os.path.isdir(filepath):
            raise IOError(f"ModelCheckpoint: please specify a non-directory filepath; {filepath!r} is a directory")
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", stacklevel=2)
                return
            if np.ndim(current) > 0:
                warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                              f"Skipping.", stacklevel=2)
                return
            if self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                          f"saving model to {filepath}")
                self.best = float(current)
                save_model_or_weights(self.model, filepath, self.save_weights_only)
            elif self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
        else:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            save_model_or_weights(self.model, filepath, self.save_weights_only)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e} is not in the '
                           f'logs (available: {sorted(logs)})') from None

    def get_state(self):
        return {"best": float(self.best), "batches_since_save": self._batches_seen_since_last_saving,
                "last_batch_seen": self._last_batch_seen}

    def set_state(self, state):
        self.best = float(state.get("best", self.best))
        self._batches_seen_since_last_saving = int(state.get("batches_since_save", 0))
        self._last_batch_seen = int(state.get("last_batch_seen", 0))
