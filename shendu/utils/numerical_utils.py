"""Label and vector helpers: ``to_categorical`` and ``normalize``."""
import numpy as np


def _as_array(x):
    # A shendu Tensor converts through __array__; this keeps utils free of autograd.
    return np.asarray(x)


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels.

    A trailing dimension of size 1 (labels shaped ``(n, 1)``) is dropped first,
    so ``(n,)`` and ``(n, 1)`` both give ``(n, num_classes)``.

    Args:
        y: integer labels in ``[0, num_classes)``, any shape (integral floats
            such as ``2.0`` are accepted).
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result.

    Returns:
        A NumPy array of shape ``y.shape + (num_classes,)``.

    Raises:
        ValueError: for labels that are not integers, negative, or not below
            ``num_classes``.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    y = _as_array(y)
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise ValueError(f"to_categorical expected integer class labels; received dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            bad = y[~(np.isfinite(y) & (y == np.round(y)))].ravel()[0]
            raise ValueError(f"to_categorical expected integer class labels; received label {bad}")
    labels = y.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from empty labels; "
                             "pass num_classes")
        num_classes = int(labels.max()) + 1
    else:
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
            raise ValueError("to_categorical expected num_classes to be a positive integer; "
                             f"received num_classes={num_classes!r}")
        num_classes = int(num_classes)
    if labels.size:
        out_of_range = (labels < 0) | (labels >= num_classes)
        if out_of_range.any():
            bad = labels[out_of_range][0]
            raise ValueError(f"to_categorical received label {bad}, outside [0, {num_classes}) "
                             f"for num_classes={num_classes}")
    categorical = np.zeros((labels.size, num_classes), dtype=dtype)
    categorical[np.arange(labels.size), labels] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit norm along ``axis``; all-zero slices stay zero.

    Args:
        x: array-like.
        axis: the axis along which to normalize.
        order: the norm order (2 for L2, 1 for L1, ...), as in ``np.linalg.norm``.

    Returns:
        A NumPy array of the same shape (float).

    Example:
        >>> normalize([[3.0, 4.0]])
        array([[0.6, 0.8]])
    """
    x = _as_array(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm = np.where(norm == 0, 1, norm).astype(x.dtype, copy=False)
    return x / norm
