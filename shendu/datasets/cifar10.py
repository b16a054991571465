"""CIFAR-10: 60,000 32 x 32 colour images in 10 classes (A. Krizhevsky, 2009)."""
from ._cifar import load_cifar

ARCHIVE_DIR = "cifar-10-batches-bin"
TRAIN_MEMBERS = tuple(f"{ARCHIVE_DIR}/data_batch_{i}.bin" for i in range(1, 6))
TEST_MEMBERS = (f"{ARCHIVE_DIR}/test_batch.bin",)


def load_data(path=None):
    """Load CIFAR-10 from its binary archive (never the pickled Python version).

    Args:
        path: optional ``cifar-10-binary.tar.gz``, or a folder holding it. Without it the
            cache folder ``$SHENDU_HOME/datasets/cifar10`` is used, and filled by a
            download when empty.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (50000, 32, 32, 3)
        and (10000, 32, 32, 3), channels last; uint8 labels 0-9 of shape (50000, 1) and
        (10000, 1).
    """
    return load_cifar("cifar10", TRAIN_MEMBERS, TEST_MEMBERS, label_bytes=1, path=path)
