"""Training checkpoints for exact resume: weights, optimizer state, RNG state, epoch and callback states.

One zip file, written atomically (temporary file + ``os.replace``), so a crash during a write leaves the
previous checkpoint intact:
  checkpoint.json    {"format": "nerve.checkpoint", "format_version", "nerve_version", "date_saved",
                      "epoch": the next epoch to run, "step": batches already done in it (null at an epoch
                      boundary), "rng_state": backend.get_rng_state(), "optimizer": optimizer.get_state()[0]
                      or null, "callbacks": {"EarlyStopping": state, ...}, "extra": {...}}
  model.weights.npz  the model's variables (keys as in weights.py)
  optimizer.npz      the optimizer's slot arrays (get_state()[1])
  callbacks.npz      arrays inside callback states (EarlyStopping's best weights), referenced from the
                     JSON as {"__array__": key}
Reading validates it like a model archive (allow-listed members, JSON, numeric npz, matching shapes).

By hand: ``ck = restore_checkpoint(path, model, callbacks=[...])`` then
``model.fit(..., initial_epoch=ck.epoch, callbacks=[...])`` continues exactly; ``BackupAndRestore`` does
both itself (it sets ``model._initial_epoch``, which the fit loop reads after ``on_train_begin``).
"""
import datetime

import numpy as np

from .. import backend
from . import file_io
from .archive import _rebuild_errors, restore_optimizer
from .file_io import ArchiveError
from .weights import (WEIGHTS_MEMBER, assign_arrays, optimizer_state_for_loading, optimizer_state_for_saving,
                      weights_to_arrays)

FORMAT = "nerve.checkpoint"
FORMAT_VERSION = 1
CKPT_JSON, OPT_NPZ, CB_NPZ = "checkpoint.json", "optimizer.npz", "callbacks.npz"
ALLOWED = (CKPT_JSON, WEIGHTS_MEMBER, OPT_NPZ, CB_NPZ)


def callback_key_map(callbacks):
    """``{key: callback}`` for the callbacks that have state: class name, ``_1``-suffixed when repeated."""
    out, counts = {}, {}
    for cb in callbacks or ():
        if not hasattr(cb, "get_state"):
            continue
        base = type(cb).__name__
        n = counts.get(base, 0)
        counts[base] = n + 1
        out[base if n == 0 else f"{base}_{n}"] = cb
    return out


def _split_arrays(obj, prefix, arrays):
    """Replace ndarrays inside a JSON-like structure by {"__array__": key}, collecting them in arrays."""
    if isinstance(obj, np.ndarray):
        key = prefix
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {k: _split_arrays(v, f"{prefix}/{k}", arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split_arrays(v, f"{prefix}/{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _join_arrays(obj, arrays, what):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise ArchiveError(f"{what}: callback state refers to a missing array {key!r}")
            return arrays[key]
        return {k: _join_arrays(v, arrays, what) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_arrays(v, arrays, what) for v in obj]
    return obj


class Checkpoint:
    """The validated content of a checkpoint file (see the module docstring for the fields)."""

    def __init__(self, epoch, step, rng_state, weights, optimizer_state, optimizer_arrays, callback_states,
                 extra, metadata):
        self.epoch, self.step, self.rng_state = epoch, step, rng_state
        self.weights = weights
        self.optimizer_state, self.optimizer_arrays = optimizer_state, optimizer_arrays
        self.callback_states, self.extra, self.metadata = callback_states, extra, metadata

    def __repr__(self):
        return f"<Checkpoint epoch={self.epoch} step={self.step} callbacks={sorted(self.callback_states)}>"


def save_checkpoint(path, model, epoch, callbacks=(), step=None, extra=None, include_rng=True, optimizer=None):
    """Atomically write everything needed to continue training ``model`` at ``epoch`` (0-based, the next
    epoch to run) and, if ``step`` is given, after ``step`` batches of it. ``optimizer``: the one whose state
    to save (default ``model.optimizer``; a GAN keeps one per sub-model)."""
    opt = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    opt_state, opt_arrays = (None, None)
    if opt is not None and hasattr(opt, "get_state"):
        opt_state, opt_arrays = optimizer_state_for_saving(model, opt)
    cb_arrays, cb_states = {}, {}
    for key, cb in callback_key_map(callbacks).items():
        state = cb.get_state()
        if state:
            cb_states[key] = _split_arrays(state, key, cb_arrays)
    head = {"format": FORMAT, "format_version": FORMAT_VERSION, "nerve_version": _version(),
            "date_saved": datetime.datetime.now().isoformat(timespec="seconds"), "epoch": int(epoch),
            "step": None if step is None else int(step),
            "rng_state": backend.get_rng_state() if include_rng else None,
            "optimizer": opt_state, "callbacks": cb_states, "extra": dict(extra or {})}
    members = {CKPT_JSON: file_io.json_dumps(head), WEIGHTS_MEMBER: file_io.npz_bytes(weights_to_arrays(model))}
    if opt_state is not None:
        members[OPT_NPZ] = file_io.npz_bytes(opt_arrays)
    if cb_arrays:
        members[CB_NPZ] = file_io.npz_bytes(cb_arrays)
    file_io.write_zip(path, members)


def _version():
    import nerve
    return getattr(nerve, "__version__", "unknown")


def load_checkpoint(path):
    """Read and validate a checkpoint file; returns a ``Checkpoint`` (nothing is applied yet)."""
    what = "load_checkpoint"
    members = file_io.read_zip(path, allowed=ALLOWED, required=(CKPT_JSON, WEIGHTS_MEMBER), what=what)
    head = file_io.parse_json(members[CKPT_JSON], CKPT_JSON, what)
    if head.get("format") != FORMAT:
        raise ArchiveError(f"{what}: {path!r} is not a nerve checkpoint (format {head.get('format')!r})")
    fv = head.get("format_version")
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
        raise ArchiveError(f"{what}: {path!r} has format_version {fv!r}; this nerve reads up to {FORMAT_VERSION}")
    epoch, step = head.get("epoch"), head.get("step")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ArchiveError(f"{what}: 'epoch' must be a non-negative int, got {epoch!r}")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
        raise ArchiveError(f"{what}: 'step' must be a non-negative int or null, got {step!r}")
    rng = head.get("rng_state")
    if rng is not None and not isinstance(rng, dict):
        raise ArchiveError(f"{what}: 'rng_state' must be a dict, got {type(rng).__name__}")
    for key in ("optimizer",):
        if head.get(key) is not None and not isinstance(head[key], dict):
            raise ArchiveError(f"{what}: {key!r} must be a dict or null")
    cbs = head.get("callbacks") or {}
    if not isinstance(cbs, dict) or not all(isinstance(v, dict) for v in cbs.values()):
        raise ArchiveError(f"{what}: 'callbacks' must map names to dicts")
    weights = file_io.load_npz(members[WEIGHTS_MEMBER], WEIGHTS_MEMBER, what)
    opt_state = head.get("optimizer")
    opt_arrays = file_io.load_npz(members[OPT_NPZ], OPT_NPZ, what) if OPT_NPZ in members else {}
    if opt_state is not None and OPT_NPZ not in members:
        raise ArchiveError(f"{what}: the optimizer state has no {OPT_NPZ!r}")
    cb_arrays = file_io.load_npz(members[CB_NPZ], CB_NPZ, what) if CB_NPZ in members else {}
    cb_states = {k: _join_arrays(v, cb_arrays, what) for k, v in cbs.items()}
    extra = head.get("extra") or {}
    return Checkpoint(epoch, step, rng, weights, opt_state, opt_arrays, cb_states, extra,
                      {k: head.get(k) for k in ("format_version", "nerve_version", "date_saved")})


def restore_checkpoint(checkpoint, model, callbacks=(), restore_rng=True, optimizer=None):
    """Apply a checkpoint (a path or a ``Checkpoint``) to ``model``, its optimizer (or ``optimizer``), the
    RNG and the stateful ``callbacks``; returns the ``Checkpoint`` (its ``epoch`` is where training continues)."""
    ck = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    src = "the checkpoint"
    assign_arrays(model, ck.weights, src)
    opt = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    if ck.optimizer_state is not None and opt is not None and hasattr(opt, "set_state"):
        with _rebuild_errors("restore_checkpoint", "restore the optimizer state"):
            restore_optimizer(opt, *optimizer_state_for_loading(model, ck.optimizer_state, ck.optimizer_arrays))
    if restore_rng and ck.rng_state is not None:
        try:
            backend.set_rng_state(ck.rng_state)
        except (TypeError, ValueError, KeyError) as e:
            raise ArchiveError(f"restore_checkpoint: invalid RNG state in the checkpoint: {e}") from None
    for key, cb in callback_key_map(callbacks).items():
        if key in ck.callback_states and hasattr(cb, "set_state"):
            cb.set_state(ck.callback_states[key])
            cb._restored_state = ck.callback_states[key]  # re-applied after the next fit's on_train_begin
    return ck
