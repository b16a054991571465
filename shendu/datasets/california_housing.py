"""California housing (Pace & Barry, 1997): 20,640 districts, 8 features, the median house
value. Read from Keras's ``california_housing.npz`` (SHA-256 checked)."""
from ._regression import load_split


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: features (n, 8) and values (n,), shuffled with
    ``seed``, the last ``test_split`` for testing; ``version='small'`` keeps the first 600."""
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. "
                         f"Received: version={version}")
    return load_split("california_housing", "california_housing.npz", path, test_split, seed,
                      limit=600 if version == "small" else None)
