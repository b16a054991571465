"""Boston housing prices (Harrison & Rubinfeld, 1978): 506 houses, 13 features, the median
value in $1000s. Read from Keras's ``boston_housing.npz`` (SHA-256 checked).

The data set has an ethical problem (a feature built on race); Keras keeps it for
reproducibility, and so does shendu, for the same programs."""
from ._regression import load_split


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float64 features (n, 13) and prices (n,),
    shuffled with ``seed``, the last ``test_split`` for testing."""
    return load_split("boston_housing", "boston_housing.npz", path, test_split, seed)
