"""The Callback base class used by History and ProgbarLogger: ``nerve.callbacks``' own when that module
provides one (so ``isinstance(history, nerve.callbacks.Callback)`` holds), else this minimal Keras one."""
try:  # pragma: no cover - depends on the callbacks package layout
    from ..callbacks.callback import Callback  # noqa: F401
except ImportError:  # pragma: no cover
    class Callback:
        """Keras' ``Callback``: ``self.model`` and ``self.params`` are set by the training loop; every hook is a
        no-op by default."""

        def __init__(self):
            self.params = {}
            self._model = None

        def set_params(self, params):
            self.params = params

        def set_model(self, model):
            self._model = model

        @property
        def model(self):
            return self._model

        def _noop(self, *args, **kwargs):
            pass

        on_train_begin = on_train_end = on_epoch_begin = on_epoch_end = _noop
        on_train_batch_begin = on_train_batch_end = on_batch_begin = on_batch_end = _noop
        on_test_begin = on_test_end = on_test_batch_begin = on_test_batch_end = _noop
        on_predict_begin = on_predict_end = on_predict_batch_begin = on_predict_batch_end = _noop
