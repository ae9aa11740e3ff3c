"""TensorBoard (Keras 3 ``keras.callbacks.TensorBoard``): event files that ``tensorboard --logdir`` reads.

Written with tensorboardX (the ``tensorboard`` extra: ``pip install tensorboardX``; protobuf is its only
heavy dependency), as Keras lays them out: ``<log_dir>/train`` gets ``epoch_<metric>`` (and
``epoch_learning_rate``, ``epoch_steps_per_second``) at step = epoch, ``<log_dir>/validation`` gets the
``val_`` metrics under the same tags; ``update_freq='batch'`` or N adds ``batch_<metric>`` every N batches
at step = global batch; ``histogram_freq=N`` writes every weight's histogram every N epochs. There is no
TensorFlow graph to write: ``write_graph`` is accepted and writes nothing, as on Keras' JAX and torch
backends. Images, profiling and embeddings are not supported (a clear error).
"""
import os
import time

import numpy as np

from .callback import Callback


def _writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("TensorBoard: writing event files needs tensorboardX (pip install tensorboardX, or "
                          "pip install 'nerve[tensorboard]')") from None
    return SummaryWriter


class TensorBoard(Callback):
    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        for arg, v in (("write_images", write_images), ("profile_batch", profile_batch),
                       ("embeddings_freq", embeddings_freq), ("embeddings_metadata", embeddings_metadata)):
            if v:
                raise ValueError(f"TensorBoard: argument '{arg}' is not supported (expected its default), got {v!r}")
        if not (update_freq in ("epoch", "batch") or (isinstance(update_freq, int) and update_freq > 0)):
            raise ValueError(f"TensorBoard: argument 'update_freq' expected 'epoch', 'batch' or a positive int, got "
                             f"{update_freq!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: argument 'histogram_freq' expected an int >= 0, got {histogram_freq!r}")
        self._writer_cls = _writer_class()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_steps_per_second, self.update_freq = write_steps_per_second, update_freq
        self._writers = {}
        self._global_batch = 0

    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = self._writer_cls(os.path.join(self.log_dir, which))
        return self._writers[which]

    def on_train_begin(self, logs=None):
        self._global_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start, self._epoch_batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        self._epoch_batches = getattr(self, "_epoch_batches", 0) + 1
        every = 1 if self.update_freq == "batch" else self.update_freq
        if self.update_freq != "epoch" and self._global_batch % every == 0:
            w = self._writer("train")
            for k, v in (logs or {}).items():
                if np.ndim(v) == 0:
                    w.add_scalar(f"batch_{k}", float(v), self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train, val = self._writer("train"), None
        for k, v in logs.items():
            if np.ndim(v) != 0:
                continue
            if k.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{k[4:]}", float(v), epoch)
            else:
                train.add_scalar(f"epoch_{k}", float(v), epoch)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            try:
                train.add_scalar("epoch_learning_rate", float(np.asarray(opt.learning_rate)), epoch)
            except (TypeError, ValueError):
                pass
        if self.write_steps_per_second and getattr(self, "_epoch_batches", 0):
            train.add_scalar("epoch_steps_per_second",
                             self._epoch_batches / max(time.perf_counter() - self._epoch_start, 1e-9), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for wv in self.model.weights:
                train.add_histogram(wv.path, np.asarray(wv.numpy(), np.float64), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}
