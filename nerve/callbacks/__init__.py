"""``nerve.callbacks`` (Keras 3 names). History, ProgbarLogger and CallbackList live with the fit loop
in ``nerve.training`` and are re-exported here lazily."""
from .callback import Callback
from .backup_and_restore import BackupAndRestore
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .remote_monitor import RemoteMonitor
from .swap_ema_weights import SwapEMAWeights
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

_FROM_TRAINING = ("History", "ProgbarLogger", "CallbackList")


def __getattr__(name):  # lazy: nerve.training imports this package
    if name in _FROM_TRAINING:
        from .. import training
        obj = getattr(training, name, None)
        if obj is None:
            import importlib
            for mod in ("callbacks", "callback_list", "history", "progbar", "progress"):
                try:
                    obj = getattr(importlib.import_module(f"nerve.training.{mod}"), name, None)
                except ImportError:
                    continue
                if obj is not None:
                    break
        if obj is not None:
            return obj
    raise AttributeError(f"module 'nerve.callbacks' has no attribute {name!r}")


__all__ = ["Callback", "BackupAndRestore", "CSVLogger", "EarlyStopping", "LambdaCallback", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
           *_FROM_TRAINING]
