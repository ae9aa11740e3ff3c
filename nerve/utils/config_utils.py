"""``nerve.utils.Config`` (Keras 3's ``keras.utils.Config``): a dict of named values with attribute access,
freezing and JSON export."""
import copy
import difflib
import json


class Config:
    """``Config(learning_rate=0.1)``; ``config.seed = 1`` and ``config["seed"] = 1`` both set an entry;
    ``freeze()`` makes every later change raise; ``as_dict()``, ``to_json()``; iteration yields the keys
    in sorted order, as Keras."""

    __attrs__ = None

    def __init__(self, **kwargs):
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))  # the class's own names; anything else is an entry

    @property
    def frozen(self):
        return self._frozen

    def freeze(self):
        self._frozen = True

    def unfreeze(self):
        self._frozen = False

    def _raise_if_frozen(self):
        if self._frozen:
            raise ValueError("Config: cannot change a frozen config; call unfreeze() first")

    def as_dict(self):
        return copy.copy(self._config)

    def to_json(self):
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def __setattr__(self, name, value):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            object.__setattr__(self, name, value)
        else:
            self._raise_if_frozen()
            self._config[name] = value

    def __getattr__(self, name):  # only called for names that are not the class's own
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.7)
        raise AttributeError(f"Config: unknown attribute {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""))

    def __setitem__(self, key, value):
        self._raise_if_frozen()
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):
        return iter(sorted(self._config))

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
