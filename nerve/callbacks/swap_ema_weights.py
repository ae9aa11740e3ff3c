"""``SwapEMAWeights``: evaluate (and predict, and optionally checkpoint) with the optimizer's moving average
of the weights (Polyak averaging; Keras 3 ``keras.callbacks.SwapEMAWeights``).

The optimizer must be created with ``use_ema=True``: it keeps average ← m·average + (1 − m)·w after every
update (the base class, nerve/optimizers/base.py). This callback swaps the model's weights and those averages
in place before evaluation / prediction and swaps them back afterwards. With ``swap_on_epoch=True`` the swap
also happens at each epoch end (so callbacks after this one, e.g. ModelCheckpoint, see the EMA weights) and is
undone at the next epoch begin. One difference from Keras 3.15: its ``on_predict_end`` tests the flag the wrong
way round and leaves the EMA weights in the model; here prediction swaps back as evaluation does.
"""
from ..saving.registry import register
from .callback import Callback


@register("callbacks")
class SwapEMAWeights(Callback):
    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)  # LossScaleOptimizer
        if not getattr(opt, "use_ema", False):
            raise ValueError(f"SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                             f"Received: use_ema={getattr(opt, 'use_ema', None)}")
        return opt

    def _pairs(self):
        """(model variable, its average) pairs; none before the optimizer's first update built them."""
        opt = self._optimizer()
        return zip(opt._trainable_variables, getattr(opt, "_ema_averages", ()))

    def _swap_variables(self):
        for var, average in self._pairs():
            weights = var.data.copy()  # on the variable's device
            var.data[...] = average
            average[...] = weights

    def _finalize_ema_values(self):
        # the model holds the EMA weights: make the averages equal to them, so that fit's closing
        # finalize_variable_values (weights <- averages) leaves the EMA weights in the model
        for var, average in self._pairs():
            average[...] = var.data

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == (self.params or {}).get("epochs", 0) - 1:
                self._finalize_ema_values()

    def _swap_in(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def _swap_out(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    on_test_begin = on_predict_begin = _swap_in
    on_test_end = on_predict_end = _swap_out

    # a backup taken while the EMA weights are in the model (swap_on_epoch) resumes with them swapped back
    def get_state(self):
        return {"ema_weights_in_model": self._ema_weights_in_model}

    def set_state(self, state):
        self._ema_weights_in_model = bool(state.get("ema_weights_in_model", False))
