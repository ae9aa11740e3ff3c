"""``TerminateOnNaN``: stop training as soon as a batch loss is NaN or infinite (Keras 3)."""
import math

from ..saving.registry import register
from .callback import Callback


@register("callbacks")
class TerminateOnNaN(Callback):
    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
