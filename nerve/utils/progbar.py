"""``nerve.utils.Progbar`` (Keras 3's ``keras.utils.Progbar``): the progress bar of ``fit``, with Keras'
averaging of the values passed to ``update`` / ``add``."""
import logging

from .. import backend
from ..training.progbar import Progbar as _Bar

log = logging.getLogger("nerve")


class Progbar(_Bar):
    """A progress bar for ``target`` steps (None: unknown).

    ``update(current, values=None, finalize=None)``: ``values`` is a list of ``(name, value_for_last_step)``;
    a name in ``stateful_metrics`` is shown as given, any other is averaged over the steps so far (weighted by
    the steps each update covers). ``stateless_metrics`` inverts the rule: only the names it lists are
    averaged. ``add(n, values)`` advances by ``n`` steps. ``verbose``: 0 silent, 1 a bar, 2 one line at the end.
    With ``nerve.config.disable_interactive_logging()`` the lines go to the 'nerve' logger instead of stdout.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: pass at most one of 'stateful_metrics' (names shown as given, the others "
                             "averaged) and 'stateless_metrics' (names averaged, the others shown as given)")
        super().__init__(target, width=width, verbose=verbose, interval=interval, unit_name=unit_name)
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self.stateful_metrics = set(stateful_metrics or ()) if self.stateless_metrics is None else None
        self._sums = {}  # name -> [weighted sum, weight]
        if not backend.config.interactive_logging:  # a log gets whole lines, never \r redraws
            self._dynamic = self._color = False

    def _averaged(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        shown = []
        for name, value in values or []:
            if self._averaged(name) and not finalize:
                weight = max(current - self._seen, 1)
                total = self._sums.setdefault(name, [0.0, 0])
                total[0] += value * weight
                total[1] += weight
            else:  # as Keras: a stateful value, or the final value of an averaged one, replaces the sum
                self._sums[name] = [value, 1]
            total = self._sums[name]
            shown.append((name, total[0] / total[1]))
        super().update(current, shown, finalize)

    def _write(self, text):
        if backend.config.interactive_logging:
            super()._write(text)
        elif text.strip():
            log.info(text.strip("\r\n"))
