"""``LearningRateScheduler``: set the learning rate at each epoch start from ``schedule`` (Keras 3)."""
import inspect
import numbers

from ..saving.registry import register
from .callback import Callback


def _takes_lr(schedule):
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(pos) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


@register("callbacks")
class LearningRateScheduler(Callback):
    """``schedule(epoch, lr) -> new_lr`` (or the old ``schedule(epoch)``), epoch 0-based; the rate used
    is written to the epoch logs as ``learning_rate``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: argument 'schedule' expected a callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not hasattr(opt, "learning_rate"):
            raise ValueError('LearningRateScheduler: optimizer must have a "learning_rate" attribute.')
        if _takes_lr(self.schedule):
            lr = self.schedule(epoch, float(opt.learning_rate))
        else:
            lr = self.schedule(epoch)
        if hasattr(lr, "item") and getattr(lr, "size", 1) == 1:
            lr = lr.item()
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise ValueError(f"LearningRateScheduler: the output of the `schedule` function should be a float. Got: "
                             f"{lr!r}")
        opt.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
