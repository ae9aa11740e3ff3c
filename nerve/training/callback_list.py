"""CallbackList: calls the Keras hooks of every callback, in order, with a plain ``logs`` dict of floats.

Hooks (Keras 3): on_train_begin/end, on_epoch_begin/end, on_(train|test|predict)_begin/end,
on_(train|test|predict)_batch_begin/end. ``fit`` adds a History (last, so it records what other
callbacks add to the epoch logs, such as ReduceLROnPlateau's learning rate) and a ProgbarLogger (first)
unless the user passed their own.
"""
import numpy as np

from ..autograd.tensor import Tensor


def pythonify_logs(logs):
    """Keras' pythonify_logs: scalar values become Python floats; keys sorted (Keras 3 log order)."""
    out = {}
    for k, v in sorted((logs or {}).items()):
        if type(v) is float:
            out[k] = v
            continue
        if isinstance(v, dict):
            out.update(pythonify_logs(v))
            continue
        if isinstance(v, Tensor):
            v = v.data
        try:
            if np.ndim(v) == 0:
                v = float(v)
        except (TypeError, ValueError):
            pass
        out[k] = v
    return out


def _inherited(cb, name):
    """Whether ``cb.name`` is Callback's own no-op (an instance attribute, as LambdaCallback sets, is not)."""
    from ..callbacks.callback import Callback
    return getattr(getattr(cb, name, None), "__func__", None) is getattr(Callback, name)


class CallbackList:
    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        from .history import History
        from .progbar import ProgbarLogger
        if callbacks is None:
            callbacks = []
        elif not isinstance(callbacks, (list, tuple)):
            callbacks = [callbacks]
        for cb in callbacks:
            if isinstance(cb, type) or not hasattr(cb, "set_model") or not hasattr(cb, "on_epoch_end"):
                raise TypeError(f"callbacks: expected Callback instances, got {cb!r} (did you pass the "
                                f"class instead of an instance, e.g. EarlyStopping instead of EarlyStopping()?)")
        self.callbacks = list(callbacks)
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.insert(0, self._progbar)
        # callbacks flagged _run_last (BackupAndRestore) see the epoch after everything else, History included
        self.callbacks = ([c for c in self.callbacks if not getattr(c, "_run_last", False)] +
                          [c for c in self.callbacks if getattr(c, "_run_last", False)])
        for cb in self.callbacks:  # BackupAndRestore saves the state of the other callbacks
            if hasattr(cb, "_set_sibling_callbacks"):
                cb._set_sibling_callbacks(list(self.callbacks))
        self.model = None
        self.params = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model):
        self.model = model
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(*args)

    # training
    def on_train_begin(self, logs=None):
        self._call("on_train_begin", pythonify_logs(logs))
        # restore_checkpoint(...) then fit(initial_epoch=...): the callbacks have just reset themselves (Keras
        # on_train_begin), so the state the checkpoint gave them is applied again (BackupAndRestore restores
        # during this same hook, after the others: applying its state twice is harmless)
        for cb in self.callbacks:
            state = cb.__dict__.pop("_restored_state", None) if hasattr(cb, "__dict__") else None
            if state is not None and hasattr(cb, "set_state"):
                cb.set_state(state)

    def on_train_end(self, logs=None):
        self._call("on_train_end", pythonify_logs(logs))

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, pythonify_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        # one dict shared by all callbacks: what one adds (e.g. the learning rate), the next sees
        self._call("on_epoch_end", epoch, logs if logs is not None else {})

    def _batch_hooks(self, hook, legacy):
        """The callbacks whose batch ``hook`` does something (Keras skips batch hooks nobody overrides): a
        Callback keeping both the base ``hook`` and the base ``legacy`` alias that it calls is left out (train
        hooks call on_batch_begin/end; test and predict hooks pass themselves as ``legacy``)."""
        key = tuple(map(id, self.callbacks))
        cache = self.__dict__.setdefault("_hook_cache", {})
        cached = cache.get(hook)
        if cached is None or cached[0] != key:
            cached = cache[hook] = (key, [cb for cb in self.callbacks if getattr(cb, hook, None) is not None
                                         and not (_inherited(cb, hook) and _inherited(cb, legacy))])
        return cached[1]

    def _batch_call(self, hook, legacy, batch, logs, python_logs=True):
        users = self._batch_hooks(hook, legacy)
        if users:
            logs = pythonify_logs(logs) if python_logs else logs or {}
            for cb in users:
                getattr(cb, hook)(batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_call("on_train_batch_begin", "on_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._batch_call("on_train_batch_end", "on_batch_end", batch, logs)

    # evaluation
    def on_test_begin(self, logs=None):
        self._call("on_test_begin", pythonify_logs(logs))

    def on_test_end(self, logs=None):
        self._call("on_test_end", pythonify_logs(logs))

    def on_test_batch_begin(self, batch, logs=None):
        self._batch_call("on_test_batch_begin", "on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._batch_call("on_test_batch_end", "on_test_batch_end", batch, logs)

    # prediction
    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", pythonify_logs(logs))

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", pythonify_logs(logs))

    def on_predict_batch_begin(self, batch, logs=None):
        self._batch_call("on_predict_batch_begin", "on_predict_batch_begin", batch, logs, python_logs=False)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_call("on_predict_batch_end", "on_predict_batch_end", batch, logs, python_logs=False)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)
