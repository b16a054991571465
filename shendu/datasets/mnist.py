"""MNIST handwritten digits (Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0)."""
from pathlib import Path

from . import _loader
from ._idx_dataset import load_idx_dataset, load_idx_pair

_SAMPLE_DIR = Path(__file__).parent / "data"
_SAMPLE_FILES = {
    "train-10k-images-idx3-ubyte.gz":
        "78213bd144dfe4877a2cacdcc92aa9091627a3041a54247dc9c7978175d3fa8a",
    "train-10k-labels-idx1-ubyte.gz":
        "094027e5c85b2d25a05a8849d6314dea4c0c4817463f2960b118fb6771c44877",
}
_SAMPLE_TRAIN = 8000


def load_data(path=None):
    """Load MNIST: 60,000 training and 10,000 test digits, 28 x 28 grayscale.

    Args:
        path: optional folder holding ``train-images-idx3-ubyte.gz``,
            ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
            ``t10k-labels-idx1-ubyte.gz``. Without it the cache folder
            ``$SHENDU_HOME/datasets/mnist`` is used, and filled by a download when empty.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (60000, 28, 28)
        and (10000, 28, 28), uint8 labels 0-9 of shape (60000,) and (10000,).
    """
    return load_idx_dataset("mnist", path)


def load_sample():
    """Load the MNIST sample bundled with shendu: no download, no network.

    The first 10,000 digits of the MNIST training set, split in order into 8,000 for
    training and 2,000 held out.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (8000, 28, 28) and
        (2000, 28, 28), uint8 labels (8000,) and (2000,).

    Example:
        >>> from shendu.datasets import mnist
        >>> (x_train, y_train), (x_test, y_test) = mnist.load_sample()
        >>> x_train.shape, x_test.shape
        ((8000, 28, 28), (2000, 28, 28))
    """
    paths = [_SAMPLE_DIR / name for name in _SAMPLE_FILES]
    for p, digest in zip(paths, _SAMPLE_FILES.values()):
        _loader.verify(p, (digest,))
    x, y = load_idx_pair(*paths)
    n = _SAMPLE_TRAIN
    return (x[:n], y[:n]), (x[n:], y[n:])
