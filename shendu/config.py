"""Library-wide settings (``keras.config``): the default float type, the fuzz factor, the
image data format, logging, debugging caps, thread counts and determinism.

Kept free of heavy imports so that ``import shendu`` stays fast.
"""
import os

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_INTERACTIVE_LOGGING = True
_UNSAFE_DESERIALIZATION = False
_DTYPE_POLICY = None  # the global dtype policy's name (keras.mixed_precision); None: floatx()
_DTYPE_POLICY_WARNED = False
_FLASH_ATTENTION = None  # None: attention layers may use it where they can (Keras's default)
# Debugging caps on every fit (and steps of evaluate/predict), as Keras reads them.
_MAX_EPOCHS = int(os.environ["KERAS_MAX_EPOCHS"]) if "KERAS_MAX_EPOCHS" in os.environ else None
_MAX_STEPS_PER_EPOCH = (int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"])
                        if "KERAS_MAX_STEPS_PER_EPOCH" in os.environ else None)


def backend():
    """The name of the backend that runs the computation: always ``'shendu'``.

    Keras programs branch on ``keras.config.backend()``; shendu is its own backend
    (NumPy arrays, shendu's autograd and kernels).
    """
    return "shendu"


def floatx():
    """The default float type of weights and layer computations ('float32')."""
    return _FLOATX


def set_floatx(value):
    """Set the default float type: 'float16', 'float32' or 'float64'.

    Keras also takes 'bfloat16'; NumPy has no bfloat16 arithmetic, so shendu refuses it
    with a clear error rather than compute in another type.
    """
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(
            f"set_floatx expects 'float16', 'float32' or 'float64'. Received: value={value!r}")
    _FLOATX = str(value)


def epsilon():
    """The fuzz factor used to keep logs and divisions finite (Keras: 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Set the fuzz factor that ``epsilon()`` returns (losses and metrics read it)."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """Where image channels are by default: ``'channels_last'`` (NHWC) or ``'channels_first'``.

    Layers given ``data_format=None`` use this value.
    """
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Set the default image data format: ``'channels_last'`` or ``'channels_first'``.

    Example:
        >>> set_image_data_format("channels_first"); image_data_format()
        'channels_first'
        >>> set_image_data_format("channels_last")
    """
    global _IMAGE_DATA_FORMAT
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format!r}")
    _IMAGE_DATA_FORMAT = value


# ---- dtype policies (the classes live in shendu/mixed_precision.py) -------------------------
def dtype_policy():
    """The global dtype policy, a ``DTypePolicy`` (``keras.mixed_precision.global_policy``)."""
    from .mixed_precision import dtype_policy as _get
    return _get()


def set_dtype_policy(policy):
    """Set the global dtype policy: ``"float32"``, ``"float64"``, ``"mixed_float16"``, ...
    (see ``shendu.mixed_precision`` for what shendu computes in under each)."""
    from .mixed_precision import set_dtype_policy as _set
    _set(policy)


def layer_dtype(dtype=None):
    """The dtype a layer made with ``dtype`` keeps its weights and computes in: ``floatx()``
    or the global policy's for None; a dtype, a policy name or a ``DTypePolicy`` otherwise."""
    if dtype is None and _DTYPE_POLICY is None:
        return _FLOATX
    if isinstance(dtype, str) and not dtype.startswith("mixed_"):
        return np.dtype(dtype).name
    from .mixed_precision import layer_dtype as _resolve
    return _resolve(dtype)


# ---- logging -----------------------------------------------------------------------------
def enable_interactive_logging():
    """Progress bars and epoch lines go to stdout (the default)."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging():
    """Progress bars and epoch lines go to the ``logging`` logger ``'shendu'`` at INFO level
    instead of stdout, one finished line each (for jobs whose stdout is a log file)."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled():
    """Whether progress output goes to stdout (True) or to the ``'shendu'`` logger (False)."""
    return _INTERACTIVE_LOGGING


def print_msg(message, line_break=True):
    """Write training output where ``is_interactive_logging_enabled`` says."""
    if _INTERACTIVE_LOGGING:
        import sys
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        import logging
        logging.getLogger("shendu").info(message.strip("\r\n"))


# ---- loading ------------------------------------------------------------------------------
def enable_unsafe_deserialization():
    """Let deserialization run code a config names (``Lambda`` functions), everywhere.

    Only for files and configs you trust: it has the effect of ``safe_mode=False`` on
    every later ``deserialize_keras_object``, ``model_from_json`` and ``load_model``.
    """
    global _UNSAFE_DESERIALIZATION
    _UNSAFE_DESERIALIZATION = True


def in_safe_mode(safe_mode=True):
    """The ``safe_mode`` a loader should use: the caller's, unless
    ``enable_unsafe_deserialization()`` has switched safety off globally."""
    return bool(safe_mode) and not _UNSAFE_DESERIALIZATION


# ---- attention -----------------------------------------------------------------------------
def enable_flash_attention():
    """Let attention layers use a fused, memory-saving attention kernel where one applies
    (the default, as in Keras: ``is_flash_attention_enabled()`` is then None, "auto")."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = None


def disable_flash_attention():
    """Make attention layers use the plain softmax(QK^T)V computation."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled():
    """False when disabled; otherwise None (auto: used where a fused kernel applies)."""
    return _FLASH_ATTENTION


# ---- debugging caps on training ------------------------------------------------------------
def _optional_positive_int(value, fn):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{fn} expects a positive integer or None. Received: {value!r}")
    return int(value)


def set_max_epochs(max_epochs):
    """Cap the epochs of every ``fit`` (None: no cap); also ``$KERAS_MAX_EPOCHS``. For debugging."""
    global _MAX_EPOCHS
    _MAX_EPOCHS = _optional_positive_int(max_epochs, "set_max_epochs")


def max_epochs():
    """The cap on ``fit``'s epochs, or None."""
    return _MAX_EPOCHS


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Cap the steps of each epoch of ``fit``, ``evaluate`` and ``predict`` (None: no cap);
    also ``$KERAS_MAX_STEPS_PER_EPOCH``. For debugging."""
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = _optional_positive_int(max_steps_per_epoch, "set_max_steps_per_epoch")


def max_steps_per_epoch():
    """The cap on the steps of an epoch, or None."""
    return _MAX_STEPS_PER_EPOCH


def capped_steps(steps):
    """``steps`` (None: the whole data) limited by ``max_steps_per_epoch()``."""
    cap = _MAX_STEPS_PER_EPOCH
    if cap is not None and (steps is None or cap < steps):
        return cap
    return steps


def capped_epochs(epochs):
    """``epochs`` limited by ``max_epochs()``."""
    return epochs if _MAX_EPOCHS is None else min(epochs, _MAX_EPOCHS)


def float_dtype():
    """``floatx()`` as a NumPy dtype."""
    return np.dtype(_FLOATX)


# ---- determinism -------------------------------------------------------------------------
_DETERMINISTIC = False


def enable_determinism():
    """Ask for bit-reproducible runs: same seed, same data, same results.

    What it does: pins the BLAS library that NumPy's matrix products use to one thread
    (through threadpoolctl, until ``disable_determinism()``; ``set_num_threads`` then
    only records its value), so a product sums in the same order whatever thread count
    is set. Everything else already has a fixed order: the NumPy reference ops, and
    shendu's Numba kernels (``shendu/kernels``), whose sums do not depend on the thread
    count (serial loops, or a fixed number of blocks added in a fixed order). Every random
    draw (initializers, dropout, shuffling, augmentation) comes from generators that
    ``shendu.utils.set_random_seed`` seeds and that checkpoints save.

    What is bit-reproducible: a run repeated, or interrupted and resumed from a
    checkpoint (``BackupAndRestore``, ``ModelCheckpoint``, ``load_model`` + ``fit``), on
    the same machine with the same library versions (NumPy, its BLAS build, Numba),
    the same ``SHENDU_KERNELS`` setting, and the same data and script. With this flag on,
    also at any thread count; with it off, only at the same thread count.

    What is NOT guaranteed: results across machines or CPU models (BLAS and NumPy pick
    different SIMD kernels and blockings), across BLAS builds (OpenBLAS, MKL,
    Accelerate) or NumPy/Numba versions, between the Numba kernels and the NumPy
    references (``set_backend_kernels``), and, without this flag, across thread counts.
    Without threadpoolctl installed the flag cannot pin BLAS (it warns): set
    ``OMP_NUM_THREADS=1`` / ``OPENBLAS_NUM_THREADS=1`` before starting Python instead.
    It costs speed: large matrix products use one core.
    """
    global _DETERMINISTIC
    _DETERMINISTIC = True
    from .kernels.threads import pin_blas_to_one_thread
    if not pin_blas_to_one_thread(True):
        import warnings
        warnings.warn("enable_determinism: threadpoolctl is not installed, so BLAS threads "
                      "cannot be pinned; set OMP_NUM_THREADS=1 for thread-count-independent "
                      "matrix products", stacklevel=2)


def disable_determinism():
    """Undo ``enable_determinism()``: BLAS gets its thread limits back."""
    global _DETERMINISTIC
    _DETERMINISTIC = False
    from .kernels.threads import pin_blas_to_one_thread
    pin_blas_to_one_thread(False)


def is_determinism_enabled():
    """Whether ``enable_determinism()`` is in effect."""
    return _DETERMINISTIC


# ---- speed: fast kernels and threads (the machinery lives in shendu/kernels) -------------
def set_backend_kernels(enabled):
    """Use the fast (Numba) kernels when True, the plain NumPy references when False.

    The default is True unless the environment sets ``SHENDU_KERNELS=numpy``.
    """
    from .kernels import set_kernels_enabled
    set_kernels_enabled(enabled)


def backend_kernels_enabled():
    from .kernels import kernels_enabled
    return kernels_enabled()


def set_num_threads(n):
    """Threads for BLAS matrix products and the Numba kernels (one shared budget)."""
    from .kernels.threads import set_num_threads as _set
    _set(n)


def get_num_threads():
    from .kernels.threads import get_num_threads as _get
    return _get()


# ---- speed: switches from the environment (read here and nowhere else) --------------------
# SHENDU_KERNELS=numpy (or 0/off/reference)  start with the NumPy references (set_backend_kernels)
# SHENDU_FUSION=0                            start with fusion off (set_fusion_enabled)
# SHENDU_NUMBA_PARALLEL=1                    Numba's prange loops run in parallel (read when
#                                            the Numba kernels are first compiled)
# SHENDU_RNN_NUMBA=0                         the LSTM/GRU layers keep their NumPy loops
# SHENDU_RNN_BLAS_IN_NUMBA=0                 their Numba loops call back to Python for products
def env_kernels_enabled():
    """False when ``SHENDU_KERNELS`` asks for the NumPy references (numpy, 0, off, reference)."""
    return os.environ.get("SHENDU_KERNELS", "").lower() not in ("numpy", "0", "off", "reference")


def env_numba_parallel():
    """``SHENDU_NUMBA_PARALLEL=1``: compile the kernels' batch loops with ``parallel=True``."""
    return os.environ.get("SHENDU_NUMBA_PARALLEL", "0") == "1"


def rnn_numba_enabled():
    """False under ``SHENDU_RNN_NUMBA=0`` (read at each call, so a test may set it)."""
    return os.environ.get("SHENDU_RNN_NUMBA", "1") != "0"


def rnn_blas_in_numba():
    """False under ``SHENDU_RNN_BLAS_IN_NUMBA=0`` (read at each call)."""
    return os.environ.get("SHENDU_RNN_BLAS_IN_NUMBA", "1") != "0"


_FUSION = [os.environ.get("SHENDU_FUSION", "1") != "0"]


def set_fusion_enabled(enabled):
    """Let models run runs of built-in layers as one op (True, the default) or not.

    ``shendu/fusion.py`` holds the table of fused patterns; a model plans them once and
    plans again when this switch changes. Off and on give the same results (within
    float32 rounding); off, every layer's ``call`` runs on its own. One model can opt
    out with ``compile(jit_compile=False)``.
    """
    _FUSION[0] = bool(enabled)


def fusion_enabled():
    """Whether fusion is on (``set_fusion_enabled``; ``SHENDU_FUSION=0`` starts it off)."""
    return _FUSION[0]


# ---- memory: the buffer pool (shendu/kernels/workspace.py) -------------------------------
def set_workspace_budget(nbytes):
    """Keep at most ``nbytes`` of free reusable buffers (default 256 MiB; 0 turns reuse off).

    Ops borrow their large outputs and scratch arrays from a pool, because fresh pages
    cost as much as the arithmetic that fills them. A buffer is in use while any array
    that views it is alive (yours included), and comes back to the pool afterwards;
    free buffers beyond the budget are dropped, least recently used first.

    >>> import shendu
    >>> shendu.config.set_workspace_budget(64 * 2**20)
    >>> shendu.config.get_workspace_budget()
    67108864
    >>> shendu.config.set_workspace_budget(256 * 2**20)
    """
    from .kernels.workspace import set_budget
    set_budget(nbytes)


def get_workspace_budget():
    """The buffer pool's byte budget for free buffers."""
    from .kernels.workspace import get_budget
    return get_budget()


def clear_workspace():
    """Drop every free pooled buffer now; buffers in use are dropped when their owners die."""
    from .kernels.workspace import clear
    clear()
