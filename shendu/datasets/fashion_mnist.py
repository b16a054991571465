"""Fashion-MNIST: Zalando's article images (H. Xiao, K. Rasul, R. Vollgraf; MIT license)."""
from ._idx_dataset import load_idx_dataset


def load_data(path=None):
    """Load Fashion-MNIST: 60,000 training and 10,000 test images, 28 x 28 grayscale.

    Found without a network where Debian's ``dataset-fashion-mnist`` package is
    installed (``/usr/share/datasets/fashion-mnist``).

    Args:
        path: optional folder holding ``train-images-idx3-ubyte.gz``,
            ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
            ``t10k-labels-idx1-ubyte.gz``. Without it the cache folder
            ``$SHENDU_HOME/datasets/fashion_mnist`` and the Debian folder are tried, then
            a download into the cache.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (60000, 28, 28)
        and (10000, 28, 28), uint8 labels 0-9 of shape (60000,) and (10000,).
    """
    return load_idx_dataset("fashion_mnist", path)
