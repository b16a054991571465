"""The utility names take Keras's arguments, in Keras's order (real Keras is the reference)."""
import inspect

import pytest

import shendu

NAMES = [
    "utils.Progbar", "utils.PyDataset", "utils.normalize", "utils.set_random_seed",
    "utils.get_file", "utils.load_img", "utils.img_to_array", "utils.array_to_img",
    "utils.save_img", "utils.image_dataset_from_directory", "utils.text_dataset_from_directory",
    "utils.audio_dataset_from_directory", "utils.timeseries_dataset_from_array",
    "utils.split_dataset", "utils.plot_model", "utils.model_to_dot", "utils.pad_sequences",
    "utils.serialize_keras_object", "utils.deserialize_keras_object",
    "utils.register_keras_serializable", "utils.get_registered_object",
    "utils.get_registered_name", "utils.custom_object_scope", "utils.pack_x_y_sample_weight",
    "utils.unpack_x_y_sample_weight", "callbacks.TensorBoard", "callbacks.RemoteMonitor",
    "mixed_precision.LossScaleOptimizer", "mixed_precision.DTypePolicy",
    "mixed_precision.set_global_policy", "random.SeedGenerator", "random.normal",
    "random.uniform", "random.truncated_normal", "random.randint", "random.categorical",
    "random.dropout", "random.shuffle", "random.gamma", "random.binomial", "random.beta",
    "backend.clear_session", "backend.get_uid", "backend.standardize_dtype",
    "backend.result_type", "config.set_image_data_format", "config.set_max_epochs",
    "tree.flatten", "tree.map_structure", "tree.map_structure_up_to", "tree.traverse",
    "tree.assert_same_structure", "tree.pack_sequence_as", "datasets.imdb.load_data",
    "datasets.reuters.load_data", "datasets.boston_housing.load_data",
    "datasets.california_housing.load_data", "preprocessing.sequence.pad_sequences",
]


def _get(module, path):
    for part in path.split("."):
        module = getattr(module, part)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_same_parameters_as_keras(name):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours = inspect.signature(_get(shendu, name)).parameters
    theirs = inspect.signature(_get(keras, name)).parameters
    assert list(ours) == list(theirs)
    for p in theirs:
        if theirs[p].default is not inspect.Parameter.empty and p not in ("cache_dir",):
            assert ours[p].default == theirs[p].default, (name, p)
