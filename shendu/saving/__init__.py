"""Saving and loading (``keras.saving``): one zip format, safe to open from a stranger.

    model.save("model.keras")                      # architecture, weights, compile, training state
    model = shendu.models.load_model("model.keras")
    model.save_weights("w.weights.h5"); model.load_weights("w.weights.h5")

Keras's own files are read and written (``keras_files``, with h5py): a real Keras 3
``.keras`` archive, ``.weights.h5`` weights and legacy Keras 2 ``.h5`` models load; a
``.keras`` file shendu writes holds Keras's members (real Keras loads it) beside
shendu's checkpoint (a JSON document and a safetensors block: optimizer, generators,
epoch and step, for an exact resume), and ``save_weights("w.weights.h5")`` writes
Keras's layout. Files are recognised by their bytes. Loading never runs code from the
file: classes come only from shendu's registry, ``register_serializable`` and
``custom_objects``; Lambda layers need the caller's ``safe_mode=False`` (and Keras's
Lambda bytecode is never unmarshalled); no pickle.
"""
from .file_format import FORMAT_VERSION  # noqa: F401
from .registry import (CustomObjectScope, custom_object_scope,  # noqa: F401
                       get_custom_objects, get_registered_name, get_registered_object,
                       register_keras_serializable, register_serializable)
from .serialization_lib import deserialize_keras_object, serialize_keras_object  # noqa: F401
from .safe_tensors import UnsafeFileError  # noqa: F401
from .saving_lib import load_model, load_weights, save_model, save_weights  # noqa: F401
