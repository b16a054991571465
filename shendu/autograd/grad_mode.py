"""Switching gradient recording on and off (``with shendu.no_grad():``)."""
import functools
import threading

_state = threading.local()


def is_grad_enabled():
    """True when ops record the graph for backpropagation (the default)."""
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode):
    _state.enabled = bool(mode)


class _GradMode:
    _mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator: ops inside record nothing.

    Example:
        >>> import shendu
        >>> w = shendu.tensor([1.0, 2.0], requires_grad=True)
        >>> with shendu.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    _mode = False


class enable_grad(_GradMode):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""
    _mode = True
