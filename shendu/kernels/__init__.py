"""Named fast kernels, each an override of a plain-NumPy reference implementation.

An op that has a hot inner loop writes it as a NumPy function and registers it as
the *reference* of a named kernel, next to the op that uses it::

    @kernels.reference("max_pool_forward")
    def max_pool_forward(x, pool, strides, pads, out): ...      # plain NumPy, documented

    y, arg = kernels.kernel("max_pool_forward")(x, pool, strides, pads, out)

``kernel(name)`` returns the fast version (Numba, ``shendu/kernels/numba_cpu.py``) when
kernels are enabled and Numba imports, else the reference. A fast kernel has the same
signature and returns the same arrays; where it only covers common cases (float32 and
float64, 2-D, ...) it calls the reference itself for the others. Every fast kernel has
a parity test against its reference (``tests/kernels/test_kernels.py``).

Numba is imported on the first ``kernel()`` call, never at ``import shendu``; its
compiled code is cached on disk (``cache=True``), so compiling is paid once per machine.
``shendu.config.set_backend_kernels(False)`` or ``SHENDU_KERNELS=numpy`` in the
environment forces the references.
"""
from .. import config

_REFERENCES = {}   # name -> NumPy reference
_FAST = None       # name -> fast kernel, filled when the Numba module is first loaded
_RESOLVED = {}     # name -> the function kernel(name) returns under the current settings
_STATE = {"enabled": config.env_kernels_enabled()}


def reference(name):
    """Decorator: register ``fn`` as the NumPy reference of kernel ``name``."""
    def register(fn):
        if name in _REFERENCES and _REFERENCES[name] is not fn:
            raise ValueError(f"kernels: a reference for kernel {name!r} is already registered "
                             f"({_REFERENCES[name].__module__}.{_REFERENCES[name].__qualname__})")
        _REFERENCES[name] = fn
        _RESOLVED.pop(name, None)
        return fn
    return register


def get_reference(name):
    """The NumPy reference of kernel ``name``."""
    try:
        return _REFERENCES[name]
    except KeyError:
        raise KeyError(f"kernels: no kernel named {name!r}; registered: "
                       f"{sorted(_REFERENCES)}") from None


def fast_kernels():
    """{name: fast kernel} of the Numba backend ({} when Numba cannot be imported)."""
    global _FAST
    if _FAST is None:
        try:
            from . import numba_cpu
        except ImportError:  # numba missing or broken: the references serve
            _FAST = {}
        else:
            _FAST = dict(numba_cpu.KERNELS)
            from .threads import _apply_to_numba
            _apply_to_numba()
    return _FAST


def kernel(name):
    """The function to call for kernel ``name``: fast when enabled and available."""
    fn = _RESOLVED.get(name)
    if fn is None:
        ref = get_reference(name)
        fn = fast_kernels().get(name, ref) if _STATE["enabled"] else ref
        _RESOLVED[name] = fn
    return fn


def set_kernels_enabled(enabled):
    """Use the fast kernels (True) or force the NumPy references (False)."""
    _STATE["enabled"] = bool(enabled)
    _RESOLVED.clear()


def kernels_enabled():
    """Whether ``kernel()`` returns fast kernels (when Numba is available)."""
    return _STATE["enabled"]


def names():
    """Names of every registered kernel."""
    return sorted(_REFERENCES)
