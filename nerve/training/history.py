"""History: the callback that ``fit`` returns; ``history.history`` maps each log key to its per-epoch list."""
from ._callback_base import Callback


class History(Callback):
    """Records the epoch logs of one ``fit`` call (Keras 3 ``keras.callbacks.History``)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def plot(self, *args, **kwargs):
        """Loss/metric curves (matplotlib); provided by ``nerve.evaluation`` when available."""
        try:
            from ..evaluation.plots import plot_history
        except ImportError as e:
            raise NotImplementedError("History.plot: needs nerve.evaluation.plots.plot_history (and matplotlib)") from e
        return plot_history(self, *args, **kwargs)

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"
