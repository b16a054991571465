"""Preprocessing and augmentation layers (channels-last images (N, H, W, C)).

Deterministic and differentiable: Rescaling, Normalization (``adapt``), CenterCrop,
Resizing. Random, active only with ``training=True``, seeded and vectorized over the
batch: RandomFlip, RandomTranslation, RandomRotation, RandomZoom, RandomContrast,
RandomCrop. ``image_ops`` holds the one sampler they all share.
"""
from .image_preprocessing import CenterCrop, Resizing  # noqa: F401
from .normalization import Normalization  # noqa: F401
from .random_transforms import (RandomContrast, RandomCrop, RandomFlip, RandomRotation,  # noqa: F401
                                RandomTranslation, RandomZoom)
from .rescaling import Rescaling  # noqa: F401
from .category_encoding import CategoryEncoding  # noqa: F401
from .discretization import Discretization  # noqa: F401
from .index_lookup import IntegerLookup, StringLookup  # noqa: F401
from .text_vectorization import TextVectorization  # noqa: F401
