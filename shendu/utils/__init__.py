"""Utilities (``keras.utils``): the progress bar, label and sequence helpers, seeding,
``PyDataset``, file download, image files, datasets from folders and arrays, model
plotting, and the serialization helpers of ``shendu.saving``."""
from ..backend import clear_session, is_keras_tensor, standardize_dtype  # noqa: F401
from ..config import (disable_interactive_logging, enable_interactive_logging,  # noqa: F401
                      is_interactive_logging_enabled)
from ..saving.registry import (CustomObjectScope, custom_object_scope,  # noqa: F401
                               get_custom_objects, get_registered_name, get_registered_object,
                               register_keras_serializable, register_serializable)
from ..saving.serialization_lib import (deserialize_keras_object,  # noqa: F401
                                        serialize_keras_object)
from .data_utils import Config, pack_x_y_sample_weight, unpack_x_y_sample_weight  # noqa: F401
from .dataset_utils import (audio_dataset_from_directory,  # noqa: F401
                            image_dataset_from_directory, split_dataset,
                            text_dataset_from_directory, timeseries_dataset_from_array)
from .file_utils import get_file  # noqa: F401
from .image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401
from .model_visualization import model_to_dot, plot_model  # noqa: F401
from .numerical_utils import normalize, to_categorical  # noqa: F401
from .plotting import plot_history  # noqa: F401
from .progbar import Progbar  # noqa: F401
from .py_dataset import PyDataset, Sequence  # noqa: F401
from .rng_utils import set_random_seed  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401
