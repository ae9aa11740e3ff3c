"""``BackupAndRestore``: resume an interrupted ``fit`` exactly where its last backup left it.

Each backup is one checkpoint file (nerve.saving.checkpoint: weights, optimizer slots and iterations,
learning rate, RNG state, epoch, the state of the other stateful callbacks), written atomically, so a
kill during a write leaves the previous backup intact. On ``on_train_begin``, if a backup exists,
everything is restored and ``model._initial_epoch`` is set: the fit loop starts at that epoch.

Contract with the fit loop (nerve.training): the CallbackList calls ``_set_sibling_callbacks(list)`` on
callbacks that have it and runs callbacks with ``_run_last = True`` after the others, so this callback
restores after the others reset themselves in ``on_train_begin`` and saves after they updated in
``on_epoch_end``; after ``on_train_begin`` the loop reads ``model._initial_epoch`` (None = no resume).
"""
import glob
import os

from ..saving import checkpoint as ckpt
from ..saving.file_io import ArchiveError
from ..saving.registry import register
from .callback import Callback, batch_save_due

LATEST, PREVIOUS = "latest.checkpoint.zip", "previous.checkpoint.zip"


@register("callbacks")
class BackupAndRestore(Callback):
    """Back up training state to ``backup_dir`` every epoch (``save_freq='epoch'``) or every ``save_freq``
    batches; restore it when ``fit`` starts again. Epoch backups resume bit-exactly (the next epoch starts
    as it would have); batch backups resume at the start of the interrupted epoch (as Keras).
    ``double_checkpoint`` keeps the previous backup too, used if the latest cannot be read.
    ``delete_checkpoint`` removes the backups when training ends normally."""

    _run_last = True

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq!r}. Expected either 'epoch' or a positive integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._latest = os.path.join(self.backup_dir, LATEST)
        self._previous = os.path.join(self.backup_dir, PREVIOUS)
        self._siblings = None
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self.restored = None  # the Checkpoint restored by the last on_train_begin, if any

    def _set_sibling_callbacks(self, callbacks):
        self._siblings = [cb for cb in callbacks if cb is not self]

    def _stateful(self):
        return [cb for cb in (self._siblings or []) if not isinstance(cb, BackupAndRestore)]

    def on_train_begin(self, logs=None):
        self.restored = None
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        for stale in glob.glob(os.path.join(glob.escape(self.backup_dir), ".*.checkpoint.zip.*.tmp")):
            try:  # temporary files of a write that was killed
                os.remove(stale)
            except OSError:
                pass
        path = self._readable_backup()
        if path is None:
            return
        ck = ckpt.restore_checkpoint(path, self.model, callbacks=self._stateful())
        self.restored = ck
        self._current_epoch = ck.epoch
        self.model._initial_epoch = ck.epoch

    def _readable_backup(self):
        candidates = [p for p in (self._latest, self._previous) if os.path.exists(p)]
        if not candidates:
            return None
        errors = []
        for p in candidates:
            try:
                ckpt.load_checkpoint(p)
                return p
            except ArchiveError as e:
                errors.append(str(e))
                if not self.double_checkpoint:
                    break
        raise ArchiveError(f"BackupAndRestore: the backup in {self.backup_dir!r} cannot be read: "
                           f"{'; '.join(errors)}")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        if batch_save_due(self, batch):
            self._save(self._current_epoch, step=batch + 1)

    def _save(self, epoch, step=None):
        if self.double_checkpoint and os.path.exists(self._latest):
            os.replace(self._latest, self._previous)
        ckpt.save_checkpoint(self._latest, self.model, epoch, callbacks=self._stateful(), step=step)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for p in (self._latest, self._previous):
                if os.path.exists(p):
                    os.remove(p)
            try:
                os.rmdir(self.backup_dir)  # only if empty: never delete files nerve did not write
            except OSError:
                pass
