"""Keras 3.16 public names that shendu leaves out on purpose, each with its reason.

The coverage test (test_api_coverage.py) does not count these, and checks that each one
is a real in-scope Keras name. Add a name here only with a reason a user would accept;
a name that is merely not written yet stays counted as missing.
"""
EXCLUDED = {
    "keras.config.is_nnx_enabled":
        "Flax NNX integration exists only on the JAX backend; shendu has no Flax modules.",
    "keras.config.set_backend":
        "Keras reloads itself on another backend (jax, tensorflow, torch); shendu is its own "
        "single backend, so there is nothing to switch to.",
    "keras.callbacks.OrbaxCheckpoint":
        "Orbax is JAX's checkpoint library; shendu checkpoints with ModelCheckpoint and "
        "BackupAndRestore in its own file format.",
    "keras.config.enable_traceback_filtering":
        "Keras hides its own frames (backend dispatch, tf.function/jit tracing) from tracebacks; "
        "shendu runs eagerly in readable Python and shows every frame, so there is no filter "
        "to switch.",
    "keras.config.disable_traceback_filtering":
        "See keras.config.enable_traceback_filtering: shendu never filters tracebacks.",
    "keras.config.is_traceback_filtering_enabled":
        "See keras.config.enable_traceback_filtering: shendu never filters tracebacks.",
}
