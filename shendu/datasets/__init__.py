"""Keras-compatible datasets, loaded from verified files: ``mnist.load_data()`` and friends.

Each ``load_data`` looks for its files in an explicit ``path=``, the cache folder
``$SHENDU_HOME/datasets/<name>`` (default ``~/.shendu/datasets``), known system
locations, and finally downloads them (unless ``SHENDU_OFFLINE=1``); every file's
SHA-256 is checked before use. ``mnist.load_sample()`` needs no network at all.
"""
from . import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist,  # noqa: F401
               imdb, mnist, reuters)
from ._formats import DatasetFormatError  # noqa: F401
from ._loader import ChecksumError, DatasetNotFoundError  # noqa: F401
