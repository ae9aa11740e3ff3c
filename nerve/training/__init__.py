"""``nerve.training``: the fit / evaluate / predict machinery behind ``nerve.Model`` (data adapter, epoch loop,
CallbackList, History, progress bar)."""
from .callback_list import CallbackList
from .data_adapter import pack_x_y_sample_weight, train_validation_split, unpack_x_y_sample_weight
from .history import History
from .progbar import Progbar, ProgbarLogger
from .trainer import Trainer

__all__ = ["CallbackList", "History", "Progbar", "ProgbarLogger", "Trainer", "pack_x_y_sample_weight",
           "train_validation_split", "unpack_x_y_sample_weight"]
