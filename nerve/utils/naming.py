"""``nerve.name_scope`` (Keras 3's ``keras.name_scope``): nested name scopes on one stack.

``with nerve.name_scope("encoder"): with nerve.name_scope("block1") as s:`` gives ``s.path == "encoder/block1"``
and ``current_path() == "encoder/block1"`` inside. nerve's layers name their variables ``<layer>/<weight>``
themselves, so the scopes do not change variable paths; ``current_path()`` is there for code that builds names.
"""
_STACK = []


class name_scope:  # noqa: N801 - Keras' name
    """Enter a sub-namespace ``name`` (a string without '/').

    ``caller`` and ``deduplicate`` (Keras): re-entering the innermost scope with the same name and the same
    ``caller`` object pushes nothing. ``override_parent``: an absolute parent path that replaces the enclosing
    scopes in this scope's path."""

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope: argument 'name' expected a string without '/', got {name!r}")
        self.name, self.caller, self.deduplicate = name, caller, deduplicate
        self.override_parent = override_parent
        self.path = None  # set on entering: the full path of this scope
        self._pushed = False

    def __enter__(self):
        if self.deduplicate and _STACK and self.caller is not None:
            top = _STACK[-1]
            if top.caller is self.caller and top.name == self.name:
                self.path = top.path
                return self
        parent = current_path() if self.override_parent is None else self.override_parent.strip("/")
        self.path = f"{parent}/{self.name}" if parent else self.name
        _STACK.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc):
        if self._pushed:
            _STACK.pop()
            self._pushed = False
        return False

    def __repr__(self):
        return f"<name_scope {self.path or self.name!r}>"


def current_path():
    """The path of the innermost open scope ('' outside any)."""
    return _STACK[-1].path if _STACK else ""
