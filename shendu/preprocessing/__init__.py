"""``keras.preprocessing``: the older names of the data utilities in ``shendu.utils``."""
from ..utils.dataset_utils import (image_dataset_from_directory,  # noqa: F401
                                   text_dataset_from_directory, timeseries_dataset_from_array)
from . import image, sequence  # noqa: F401
