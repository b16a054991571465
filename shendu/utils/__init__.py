"""Utilities (``keras.utils``): the progress bar, label and sequence helpers, seeding,
``PyDataset``, file download, image files, datasets from folders and arrays, model
plotting, and the serialization helpers of ``shendu.saving``.

The larger helpers load on first use (``shendu.utils.get_file`` imports ``file_utils``
then), so that ``import shendu`` stays fast.
"""
from ..backend import clear_session, is_keras_tensor, standardize_dtype  # noqa: F401
from ..config import (disable_interactive_logging, enable_interactive_logging,  # noqa: F401
                      is_interactive_logging_enabled)
from ..saving.registry import (CustomObjectScope, custom_object_scope,  # noqa: F401
                               get_custom_objects, get_registered_name, get_registered_object,
                               register_keras_serializable, register_serializable)
from .numerical_utils import normalize, to_categorical  # noqa: F401
from .plotting import plot_history  # noqa: F401
from .progbar import Progbar  # noqa: F401
from .py_dataset import PyDataset, Sequence  # noqa: F401
from .rng_utils import set_random_seed  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401

_LAZY = {
    "serialize_keras_object": "..saving.serialization_lib",
    "deserialize_keras_object": "..saving.serialization_lib",
    "Config": ".data_utils", "pack_x_y_sample_weight": ".data_utils",
    "unpack_x_y_sample_weight": ".data_utils",
    "audio_dataset_from_directory": ".dataset_utils",
    "image_dataset_from_directory": ".dataset_utils", "split_dataset": ".dataset_utils",
    "text_dataset_from_directory": ".dataset_utils",
    "timeseries_dataset_from_array": ".dataset_utils",
    "get_file": ".file_utils", "get_source_inputs": ".graph_utils",
    "array_to_img": ".image_utils", "img_to_array": ".image_utils", "load_img": ".image_utils",
    "save_img": ".image_utils",
    "model_to_dot": ".model_visualization", "plot_model": ".model_visualization",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shendu.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
