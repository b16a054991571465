"""Datasets from arrays and folders, as ``shendu.data.Dataset`` objects that ``fit`` takes:
``split_dataset``, ``timeseries_dataset_from_array``, and ``image_``/``text_``/
``audio_dataset_from_directory`` over a folder with one sub-folder per class::

    main_directory/
        class_a/  a_1.jpg  a_2.jpg ...
        class_b/  b_1.jpg ...
"""
import os

import numpy as np

from .. import config as _config
from ..data import Dataset

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


# ---- splitting ---------------------------------------------------------------------------
def _split_sizes(n, left_size, right_size):
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(v)}.")
    if left_size is None and right_size is None:
        left_size = 0.5
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the split "
                         "sizes must be non-zero.")
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if v is not None and ((isinstance(v, int) and not 0 < v < n)
                              or (isinstance(v, float) and not 0 < v < 1)):
            raise ValueError(f"`{name}` should be either a positive integer smaller than {n}, or "
                             f"a float within the range `[0, 1]`. Received: {name}={v}")
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be "
                         "less than or equal to 1.")
    left = round(left_size * n) if isinstance(left_size, float) else left_size
    right = round(right_size * n) if isinstance(right_size, float) else right_size
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{n}. Received: left_size + right_size = {left + right}")
    if left == 0 or right == 0:
        raise ValueError(f"With `dataset` of length={n}, `left_size`={left} and `right_size`="
                         f"{right}, one side of the split would be empty.")
    return int(left), int(right)


def _as_arrays(dataset):
    """A dataset (arrays, a tuple/list/dict of arrays, or a finite Dataset) as a structure of
    arrays of the same length."""
    if isinstance(dataset, Dataset):
        elements = list(dataset)
        if not elements:
            raise ValueError("split_dataset: the dataset is empty")
        first = elements[0]
        if isinstance(first, tuple):
            return tuple(np.stack([e[i] for e in elements]) for i in range(len(first)))
        if isinstance(first, dict):
            return {k: np.stack([e[k] for e in elements]) for k in first}
        return np.stack(elements)
    if isinstance(dataset, (list, tuple)):
        arrays = tuple(np.asarray(a) for a in dataset)
        if len({len(a) for a in arrays}) != 1:
            raise ValueError("split_dataset: the arrays of a tuple must have the same length. "
                             f"Received shapes {[a.shape for a in arrays]}")
        return arrays
    if isinstance(dataset, dict):
        return {k: np.asarray(v) for k, v in dataset.items()}
    return np.asarray(dataset)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Split a dataset into two: the first ``left_size`` samples and the last ``right_size``.

    Args:
        dataset: an array, a tuple or list of arrays of the same length (such as (x, y)), a
            dict of arrays, or a finite ``shendu.data.Dataset`` of unbatched elements.
        left_size, right_size: a fraction in (0, 1) or a number of samples; one may be None
            (the rest); both None splits in half.
        shuffle: shuffle the samples before splitting (with ``seed``).
        preferred_backend: accepted for compatibility; shendu always returns its Datasets.

    Returns:
        ``(left, right)``: two ``shendu.data.Dataset`` of single samples.

    Example:
        >>> left, right = split_dataset(np.arange(10), left_size=0.8)
        >>> len(left), len(right)
        (8, 2)
    """
    arrays = _as_arrays(dataset)
    leaves = list(arrays.values()) if isinstance(arrays, dict) else \
        list(arrays) if isinstance(arrays, tuple) else [arrays]
    n = len(leaves[0])
    left, right = _split_sizes(n, left_size, right_size)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)

    def take(rows):
        if isinstance(arrays, dict):
            return {k: v[rows] for k, v in arrays.items()}
        if isinstance(arrays, tuple):
            return tuple(a[rows] for a in arrays)
        return arrays[rows]
    return (Dataset.from_tensor_slices(take(order[:left])),
            Dataset.from_tensor_slices(take(order[n - right:])))


# ---- time series -------------------------------------------------------------------------
def _check_positive(name, value, n):
    if value <= 0:
        raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
    if value >= n:
        raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                         f"{name}={value}, for data of length {n}")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Sliding windows over a time series: window i holds
    ``data[start_index + p_i + k * sampling_rate]`` for k < ``sequence_length``, with
    ``p_i = i * sequence_stride``, and its target is ``targets[start_index + p_i]``.

    Args:
        data: an array whose first axis is time.
        targets: an array aligned with ``data``, or None for windows alone.
        sequence_length: timesteps per window.
        sequence_stride: steps between the starts of successive windows.
        sampling_rate: steps between the timesteps inside a window.
        batch_size: windows per batch (None: single windows).
        shuffle, seed: shuffle the windows (reproducibly with ``seed``).
        start_index, end_index: use only ``data[start_index:end_index]``.
        format: accepted for compatibility (Keras's 'tf' or 'grain'); shendu returns its
            own Dataset.

    Returns:
        A ``shendu.data.Dataset`` of ``(windows, targets)`` batches (or windows alone).

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10), 3, batch_size=None)
        >>> x, y = next(iter(ds)); x.tolist(), int(y)
        ([0, 1, 2], 0)
    """
    _check_format(format)
    data = np.asarray(getattr(data, "data", data))
    n = len(data)
    if start_index is not None:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
    if end_index is not None:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    _check_positive("sampling_rate", sampling_rate, n)
    _check_positive("sequence_stride", sequence_stride, n)
    start = start_index or 0
    end = n if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(getattr(targets, "data", targets))
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(positions)
    window = positions[:, None] + np.arange(sequence_length) * sampling_rate
    windows = data[start:end][window] if len(positions) else \
        np.zeros((0, sequence_length) + data.shape[1:], data.dtype)
    if targets is not None:
        ds = Dataset.from_tensor_slices((windows, targets[start:][positions]))
    else:
        ds = Dataset.from_tensor_slices(windows)
    return ds if batch_size is None else ds.batch(batch_size)


# ---- folders -----------------------------------------------------------------------------
def _list_files(folder, formats, follow_links):
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(formats):
                found.append(os.path.join(root, name))
    return found


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """(file paths, integer labels or None, class names) of the files under ``directory``.

    With ``labels='inferred'`` each sub-folder (sorted by name, or ``class_names``) is a
    class; with ``labels`` a list, files are taken from the whole tree in sorted order and
    get those labels; with None, no labels.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"The directory {directory!r} does not exist or is not a folder.")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if sorted(class_names) != sorted(subdirs) and not set(class_names) <= set(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: {subdirs} "
                                 f"(or a subset), but received: class_names={class_names}")
            subdirs = list(class_names)
        paths, label_list = [], []
        for index, sub in enumerate(subdirs):
            files = _list_files(os.path.join(directory, sub), formats, follow_links)
            paths += files
            label_list += [index] * len(files)
        label_array, names = np.asarray(label_list, np.int32), subdirs
    else:
        paths = _list_files(directory, formats, follow_links)
        names = None
        label_array = None
        if labels is not None:
            label_array = np.asarray(labels, dtype=np.int32)
            if len(label_array) != len(paths):
                raise ValueError("Expected the lengths of `labels` to match the number of files "
                                 f"in the target directory. len(labels) is {len(label_array)} "
                                 f"while we found {len(paths)} files in directory {directory}.")
            names = [str(i) for i in range(int(label_array.max()) + 1)] if len(label_array) else []
    if verbose:
        if names is not None and labels == "inferred":
            _config.print_msg(f"Found {len(paths)} files belonging to {len(names)} classes.")
        else:
            _config.print_msg(f"Found {len(paths)} files.")
    paths = np.asarray(paths, dtype=str)
    if shuffle and len(paths):
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = paths[order]
        label_array = None if label_array is None else label_array[order]
    return paths, label_array, names


def _check_split(validation_split, subset, shuffle, seed):
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if (validation_split is None) != (subset is None):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely. "
                         f"Received: validation_split={validation_split}, subset={subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide "
                         "a `seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def _subsets(paths, labels, validation_split, subset, verbose):
    """[(paths, labels, which)] for the subset(s) asked for; the validation part is the last
    ``validation_split`` of the (shuffled) files, as in Keras."""
    if subset is None:
        return [(paths, labels)]
    n_val = int(validation_split * len(paths))
    parts = {"training": slice(0, len(paths) - n_val), "validation": slice(len(paths) - n_val, None)}
    wanted = ["training", "validation"] if subset == "both" else [subset]
    out = []
    for which in wanted:
        rows = parts[which]
        if verbose:
            _config.print_msg(f"Using {len(paths[rows])} files for {which}.")
        out.append((paths[rows], None if labels is None else labels[rows]))
    return out


def _encode_labels(labels, label_mode, num_classes):
    if label_mode == "int":
        return labels.astype(np.int32)
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    eye = np.eye(num_classes, dtype=np.float32)
    return eye[labels]


def _check_label_mode(label_mode, labels, class_names):
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        return
    if label_mode == "binary" and class_names is not None and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")


def _from_directory(directory, labels, label_mode, class_names, formats, batch_size, shuffle,
                    seed, validation_split, subset, follow_links, verbose, load, what):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same "
                         'size as the number of files in the target directory. If you wish to '
                         f'infer the labels from the subdirectory names, set `labels="inferred"`. '
                         f"If you wish to get a dataset that only contains {what}s (no labels), "
                         f"pass `labels=None`. Received: labels={labels!r}")
    if class_names is not None and labels != "inferred":
        raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                         f"Received: labels={labels!r}, and class_names={class_names}")
    if labels is None:
        label_mode = None
    _check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1_000_000))
    paths, label_array, names = index_directory(directory, labels, formats, class_names,
                                                shuffle, seed, follow_links, verbose)
    _check_label_mode(label_mode, labels, names)
    if label_mode == "binary" and names is not None and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={names}")
    if not len(paths):
        raise ValueError(f"No {what}s found in directory {directory}. Allowed formats: {formats}")
    datasets = []
    for part_paths, part_labels in _subsets(paths, label_array, validation_split, subset, verbose):
        ds = load(part_paths, None if label_mode is None else
                  _encode_labels(part_labels, label_mode, len(names)), batch_size, shuffle, seed)
        ds.class_names = names
        ds.file_paths = [str(p) for p in part_paths]
        datasets.append(ds)
    return datasets if subset == "both" else datasets[0]


def _slices_dataset(paths, labels, element, batch_size, shuffle, seed):
    """A Dataset that reads each file with ``element(path)`` when it is iterated."""
    if labels is None:
        ds = Dataset.from_tensor_slices(paths)
    else:
        ds = Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed)
    ds = ds.map(element if labels is None else (lambda p, y: (element(p), y)))
    return ds if batch_size is None else ds.batch(batch_size)


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """A Dataset of images read from a folder (.bmp, .gif, .jpeg, .jpg, .png; pillow needed).

    Each batch is ``(images, labels)``: float32 images (batch, height, width, channels)
    (channels first with ``data_format='channels_first'``), labels int32 (batch,) for
    ``label_mode='int'``, float32 one-hot for ``'categorical'``, float32 (batch, 1) for
    ``'binary'``, or images alone with ``labels=None``/``label_mode=None``. The dataset has
    ``class_names`` and ``file_paths``. With ``validation_split`` and ``subset`` ('training',
    'validation' or 'both', which returns both) the shuffled files are split reproducibly
    by ``seed``. Images load when the dataset is iterated, resized to ``image_size``
    (keeping the aspect ratio by a central crop with ``crop_to_aspect_ratio``, or by
    padding with ``pad_to_aspect_ratio``).
    """
    from .image_utils import img_to_array, load_img
    _check_format(format)
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}
    if color_mode not in channels:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be "
                         "set to `True`.")
    data_format = data_format or _config.image_data_format()
    height, width = int(image_size[0]), int(image_size[1])

    def read(path):
        if pad_to_aspect_ratio:
            img = load_img(str(path), color_mode=color_mode)
            x = img_to_array(img, "channels_last", "float32")
            x = _pad_to_aspect(x, height / width)
            from .image_utils import smart_resize
            x = smart_resize(x, (height, width), interpolation)
        else:
            img = load_img(str(path), color_mode=color_mode, target_size=(height, width),
                           interpolation=interpolation, keep_aspect_ratio=crop_to_aspect_ratio)
            x = img_to_array(img, "channels_last", "float32")
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x

    def load(paths, labels, batch_size, shuffle, seed):
        return _slices_dataset(paths, labels, read, batch_size, shuffle, seed)
    return _from_directory(directory, labels, label_mode, class_names, IMAGE_FORMATS, batch_size,
                           shuffle, seed, validation_split, subset, follow_links, verbose, load,
                           "image")


def _check_format(format):
    # Keras returns a tf.data or a grain dataset; shendu returns its own Dataset either way.
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')


def _pad_to_aspect(x, ratio):
    """Pad an (h, w, c) image with zeros, centred, to height / width == ratio."""
    h, w = x.shape[:2]
    target_h, target_w = max(h, int(round(w * ratio))), max(w, int(round(h / ratio)))
    out = np.zeros((target_h, target_w, x.shape[2]), x.dtype)
    top, left = (target_h - h) // 2, (target_w - w) // 2
    out[top:top + h, left:left + w] = x
    return out


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A Dataset of texts read from the ``.txt`` files of a folder (UTF-8), with labels as in
    ``image_dataset_from_directory``. Texts are NumPy strings; ``max_length`` keeps only the
    first ``max_length`` characters of each."""
    _check_format(format)

    def read(path):
        with open(str(path), encoding="utf-8") as f:
            text = f.read()
        return np.str_(text if max_length is None else text[:max_length])

    def load(paths, labels, batch_size, shuffle, seed):
        return _slices_dataset(paths, labels, read, batch_size, shuffle, seed)
    return _from_directory(directory, labels, label_mode, class_names, (".txt",), batch_size,
                           shuffle, seed, validation_split, subset, follow_links, verbose, load,
                           "text file")


def read_wav(path):
    """A PCM WAV file as float32 (frames, channels) in [-1, 1], and its sampling rate
    (read with the standard library's ``wave``; 8/16/24/32-bit integer samples)."""
    import wave
    with wave.open(str(path), "rb") as f:
        width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
        raw = f.readframes(f.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    elif width in (2, 4):
        dtype = np.int16 if width == 2 else np.int32
        x = np.frombuffer(raw, "<" + np.dtype(dtype).str[1:]).astype(np.float32) / \
            float(np.iinfo(dtype).max + 1)
    else:
        raise ValueError(f"{path}: unsupported WAV sample width of {width} bytes")
    return x.reshape(-1, channels), rate


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, verbose=True):
    """A Dataset of audio read from the ``.wav`` files of a folder, with labels as in
    ``image_dataset_from_directory``.

    Each batch of audio is float32 (batch, frames, channels) in [-1, 1]: cut or zero-padded
    to ``output_sequence_length``, or zero-padded to the longest clip of the batch.
    ``sampling_rate``, when given, must be the files' rate (shendu does not resample).
    """
    if ragged:
        raise ValueError("audio_dataset_from_directory: `ragged=True` needs ragged tensors, "
                         "which shendu does not have; use output_sequence_length or padding "
                         "(the default)")
    if sampling_rate is not None and (not isinstance(sampling_rate, int) or sampling_rate <= 0):
        raise ValueError("`sampling_rate` should be a positive integer. "
                         f"Received: sampling_rate={sampling_rate}")

    def read(path):
        audio, rate = read_wav(path)
        if sampling_rate is not None and rate != sampling_rate:
            raise ValueError(f"{path}: sampled at {rate} Hz, but sampling_rate={sampling_rate}; "
                             "shendu does not resample audio")
        if output_sequence_length is not None:
            audio = audio[:output_sequence_length]
            if len(audio) < output_sequence_length:
                pad = np.zeros((output_sequence_length - len(audio), audio.shape[1]), np.float32)
                audio = np.concatenate([audio, pad])
        return audio

    def padded(clips):
        longest = max(len(c) for c in clips)
        out = np.zeros((len(clips), longest, clips[0].shape[1]), np.float32)
        for i, c in enumerate(clips):
            out[i, :len(c)] = c
        return out

    def load(paths, labels, batch_size, shuffle, seed):
        rng = np.random.default_rng(seed)
        size = batch_size or 1

        def batches():
            order = rng.permutation(len(paths)) if shuffle else np.arange(len(paths))
            for start in range(0, len(paths), size):
                rows = order[start:start + size]
                audio = padded([read(paths[i]) for i in rows])
                if batch_size is None:
                    audio = audio[0]
                if labels is None:
                    yield audio
                else:
                    y = labels[rows]
                    yield audio, (y if batch_size is not None else y[0])
        return Dataset.from_generator(batches)
    return _from_directory(directory, labels, label_mode, class_names, (".wav",), batch_size,
                           shuffle, seed, validation_split, subset, follow_links, verbose, load,
                           "audio file")
