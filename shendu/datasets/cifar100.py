"""CIFAR-100: 60,000 32 x 32 colour images in 100 classes grouped into 20 (A. Krizhevsky)."""
from ._cifar import load_cifar

ARCHIVE_DIR = "cifar-100-binary"
TRAIN_MEMBERS = (f"{ARCHIVE_DIR}/train.bin",)
TEST_MEMBERS = (f"{ARCHIVE_DIR}/test.bin",)
# Each record starts with the coarse label, then the fine label.
_LABEL_COLUMN = {"coarse": 0, "fine": 1}


def load_data(label_mode="fine", path=None):
    """Load CIFAR-100 from its binary archive (never the pickled Python version).

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        path: optional ``cifar-100-binary.tar.gz``, or a folder holding it. Without it
            the cache folder ``$SHENDU_HOME/datasets/cifar100`` is used, and filled by a
            download when empty.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (50000, 32, 32, 3)
        and (10000, 32, 32, 3), channels last; uint8 labels of shape (50000, 1) and
        (10000, 1).
    """
    if label_mode not in _LABEL_COLUMN:
        raise ValueError(
            f"cifar100.load_data: label_mode must be 'fine' or 'coarse'. "
            f"Received: label_mode={label_mode!r}")
    col = _LABEL_COLUMN[label_mode]
    (x_train, y_train), (x_test, y_test) = load_cifar(
        "cifar100", TRAIN_MEMBERS, TEST_MEMBERS, label_bytes=2, path=path)
    return (x_train, y_train[:, col:col + 1].copy()), (x_test, y_test[:, col:col + 1].copy())
