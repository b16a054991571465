"""``keras.preprocessing.image``: image file helpers under their older names."""
from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize  # noqa: F401,E501
