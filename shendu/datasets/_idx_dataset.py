"""The loader shared by MNIST and Fashion-MNIST: four IDX files, Keras's return shape."""
from . import _loader
from ._formats import DatasetFormatError, read_idx


def load_idx_pair(images_path, labels_path):
    """Read one images/labels pair of IDX files and check that they belong together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetFormatError(
            f"{images_path} and {labels_path}: expected images (n, rows, cols) and labels (n,), "
            f"found {images.shape} and {labels.shape}")
    return images, labels


def load_idx_dataset(name, path=None):
    files = _loader.fetch(name, path)
    train = load_idx_pair(files["train-images-idx3-ubyte.gz"], files["train-labels-idx1-ubyte.gz"])
    test = load_idx_pair(files["t10k-images-idx3-ubyte.gz"], files["t10k-labels-idx1-ubyte.gz"])
    return train, test
