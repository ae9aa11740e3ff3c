"""``keras.StatelessScope`` and ``keras.SymbolicScope`` (Keras 3 names and semantics).

StatelessScope: inside ``with StatelessScope(state_mapping=[(variable, value), ...]) as scope:`` a mapped
variable reads as its value, and ``variable.assign(...)`` (assign_add / assign_sub too) is recorded in the
scope instead of changing the variable: ``scope.get_current_value(variable)`` gives the recorded value and
later reads in the scope see it. On exit every variable holds exactly what it held before.

nerve's ops read a variable's array directly, so the scope swaps the variable's array for the mapped one on
entry (a copy: the caller's arrays are never written) and puts the original back on exit. Consequences:
gradients of reads inside the scope go to the variable itself (its ``.grad``), and a nested scope starts from
the values its enclosing scope gave. ``initialize_variables`` is accepted for Keras compatibility: nerve's
variables are initialized when created, so there is nothing to defer.

SymbolicScope: a flag marking the symbolic stage; ``in_symbolic_scope()`` tells whether one is active.
"""
import threading

from . import backend

__all__ = ["StatelessScope", "SymbolicScope", "in_stateless_scope", "get_stateless_scope", "in_symbolic_scope",
           "get_symbolic_scope"]

_state = threading.local()


def _get(name):
    return getattr(_state, name, None)


def get_stateless_scope():
    """The innermost active StatelessScope, or None."""
    return _get("stateless_scope")


def in_stateless_scope():
    return _get("stateless_scope") is not None


def get_symbolic_scope():
    """The innermost active SymbolicScope, or None."""
    return _get("symbolic_scope")


def in_symbolic_scope():
    return _get("symbolic_scope") is not None


class StatelessScope:
    """Scope in which variables read as ``state_mapping`` says and assignments are recorded, not applied.

    ``state_mapping``: (Variable, value) pairs (a list, or a dict Variable -> value); each value must have the
    variable's shape and is cast to its dtype. ``collect_losses``: losses added by layers inside the scope
    (``layer.add_loss``) are collected in ``scope.losses`` instead of the layers (without it they are dropped,
    as in Keras)."""

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        from .variables import Variable
        self.collect_losses = bool(collect_losses)
        self.initialize_variables = bool(initialize_variables)
        self.losses = []
        self.state_mapping = {}  # id(variable) -> Tensor (the value the variable reads as in the scope)
        self._variables = {}  # id(variable) -> variable, for every variable the scope swaps
        self._saved = {}  # id(variable) -> its own array, put back on exit
        self._entered = False
        pairs = state_mapping.items() if isinstance(state_mapping, dict) else (state_mapping or ())
        for pair in pairs:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(f"StatelessScope: argument 'state_mapping' expected (Variable, value) pairs, "
                                 f"got an entry {pair!r}")
            k, v = pair
            if not isinstance(k, Variable):
                raise ValueError(f"StatelessScope: argument 'state_mapping' expected Variable keys, got a key of "
                                 f"type {type(k).__name__}")
            self._record(k, v)

    def _record(self, variable, value):
        from .autograd.tensor import Tensor
        data = variable.data
        xp = backend.get_array_module(data)
        v = value.data if isinstance(value, Tensor) else value
        try:
            arr = xp.array(v, dtype=data.dtype)  # a copy: in-place writes in the scope never reach the caller's
        except (TypeError, ValueError) as e:
            raise ValueError(f"StatelessScope: the value for variable {variable.path!r} cannot be converted to "
                             f"dtype {data.dtype}: {e}") from None
        if arr.shape != data.shape:
            raise ValueError(f"StatelessScope: the value for variable {variable.path!r} has shape "
                             f"{tuple(arr.shape)}, expected the variable's shape {tuple(data.shape)}")
        key = id(variable)
        self._variables[key] = variable
        self.state_mapping[key] = Tensor._make(arr, None, 0)
        if self._entered:
            self._swap_in(variable, arr)

    def _swap_in(self, variable, arr):
        self._saved.setdefault(id(variable), variable.data)
        variable.data = arr

    def add_update(self, update):
        """Record ``(variable, value)``: the variable reads as ``value`` until the scope ends."""
        variable, value = update
        self._record(variable, value)

    def add_loss(self, loss):
        self.losses.append(loss)

    def get_current_value(self, variable):
        """The value ``variable`` has in this scope (mapped or assigned), or None when it has none."""
        return self.state_mapping.get(id(variable))

    def __enter__(self):
        if self._entered:
            raise RuntimeError("StatelessScope: this scope is already active; create a new one to nest")
        self._original = get_stateless_scope()
        _state.stateless_scope = self
        self._entered = True
        for key, variable in self._variables.items():
            self._swap_in(variable, self.state_mapping[key].data)
        return self

    def __exit__(self, *exc):
        for key, data in self._saved.items():
            self._variables[key].data = data
        self._saved = {}
        self._entered = False
        _state.stateless_scope = self._original
        return False


class SymbolicScope:
    """Marks the symbolic stage (Keras' ``keras.SymbolicScope``); ``in_symbolic_scope()`` is true inside."""

    def __enter__(self):
        self.original_scope = get_symbolic_scope()
        _state.symbolic_scope = self
        return self

    def __exit__(self, *exc):
        _state.symbolic_scope = self.original_scope
        return False
