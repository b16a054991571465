"""Small helpers for data in Keras's (x, y, sample_weight) convention, and ``Config``."""
from ..trainers.data_adapters import unpack


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (a list is read as a tuple); missing parts are None.

    Example:
        >>> unpack_x_y_sample_weight(([1], [2]))
        ([1], [2], None)
    """
    if isinstance(data, (list, tuple)) and len(data) > 3:
        raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                         f"`(x, y, sample_weight)`, found: {data}")
    x, y, sw = unpack(data)
    return x, y, sw


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The inverse: ``x`` alone (a tuple or list ``x`` is wrapped as ``(x,)`` so it is not
    read as (x, y)), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


class Config:
    """A dict whose keys are also attributes, that can be frozen (``keras.utils.Config``).

    Example:
        >>> c = Config(lr=0.1); c.epochs = 3
        >>> c.lr, c["epochs"], c.as_dict()
        (0.1, 3, {'lr': 0.1, 'epochs': 3})
        >>> c.freeze(); c.frozen
        True
    """

    __frozen = False

    def __init__(self, **kwargs):
        self._config = dict(kwargs)

    def freeze(self):
        """Refuse any change from now on."""
        self.__frozen = True

    def unfreeze(self):
        self.__frozen = False

    @property
    def frozen(self):
        return self.__frozen

    def _check(self, name):
        if self.__frozen:
            raise ValueError(f"Cannot mutate attribute(s) because the config is frozen. "
                             f"Received: {name!r}")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __setattr__(self, name, value):
        if name in ("_config", "_Config__frozen"):
            object.__setattr__(self, name, value)
            return
        self._check(name)
        self._config[name] = value

    def __delattr__(self, name):
        self._check(name)
        try:
            del self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self._check(key)
        self._config[key] = value

    def __delitem__(self, key):
        self._check(key)
        del self._config[key]

    def __contains__(self, item):
        return item in self._config

    def __len__(self):
        return len(self._config)

    def __iter__(self):
        return iter(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, default=None):
        return self._config.get(key, default)

    def update(self, *args, **kwargs):
        self._check("update")
        self._config.update(*args, **kwargs)

    def pop(self, *args):
        self._check("pop")
        return self._config.pop(*args)

    def as_dict(self):
        return dict(self._config)

    def to_json(self):
        import json
        return json.dumps(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
