"""Saving and loading (``keras.saving``): one zip format, safe to open from a stranger.

    model.save("model.keras")                      # architecture, weights, compile, training state
    model = shendu.models.load_model("model.keras")
    model.save_weights("w.weights.h5"); model.load_weights("w.weights.h5")

The Keras file names are accepted but hold shendu's own format (a zip of a JSON
document and a safetensors block); files are recognised by their bytes, and a real
HDF5/Keras file gets a clear "not supported yet" error. Loading never runs code from
the file: classes come only from shendu's registry, ``register_serializable`` and
``custom_objects``; Lambda layers need the caller's ``safe_mode=False``; no pickle.
"""
from .file_format import FORMAT_VERSION  # noqa: F401
from .registry import (CustomObjectScope, custom_object_scope,  # noqa: F401
                       get_custom_objects, get_registered_name, get_registered_object,
                       register_keras_serializable, register_serializable)
from .serialization_lib import deserialize_keras_object, serialize_keras_object  # noqa: F401
from .safe_tensors import UnsafeFileError  # noqa: F401
from .saving_lib import load_model, load_weights, save_model, save_weights  # noqa: F401
