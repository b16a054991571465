"""A corpus of crafted, malicious or broken files: each is refused with a clear error,
nothing is executed, and loading has no side effect (no marker file, RNG untouched)."""
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import shendu as keras
from shendu.ops import random as shendu_random
from shendu.saving.safe_tensors import UnsafeFileError, encode

MARKER = "pwned_marker.txt"


class _Exploit:
    """Unpickling this runs ``os.system('touch <marker>')``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A valid saved model, split into its JSON document and tensor block."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(3, activation="relu", input_shape=(4,)),
                              keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("valid") / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("shendu.json")), zf.read("tensors.safetensors")


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)


def _shendu_file(path, doc, tensors):
    _zip(path, [("shendu.json", json.dumps(doc)), ("tensors.safetensors", tensors)])


def _raw_tensors(header, data=b""):
    head = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(head)) + head + data


def _with_arch(valid, mutate):
    doc = json.loads(json.dumps(valid[0]))
    mutate(doc["architecture"]["config"]["layers"])
    return doc


def _lambda_doc(valid):
    def mutate(layers):
        layers[1] = {"class_name": "Lambda", "registered_name": None,
                     "config": {"name": "evil", "function": "system", "arguments": {},
                                "output_shape": None}}
    doc = _with_arch(valid, mutate)
    doc["weights"] = doc["weights"][:2]
    doc["compile"] = doc["training_state"] = None
    return doc


def _tensors_only_first_two(valid):
    from shendu.saving.safe_tensors import decode
    tensors, _ = decode(valid[1])
    first_two = set(valid[0]["weights"][:2])  # the first Dense layer's kernel and bias, whatever its name
    keep = {k: v for k, v in tensors.items() if k in first_two}
    return encode(keep)


# Each case: (id, builder(tmp_path, valid, marker) -> path, loader name, expected message regex)
def case_pickle(tmp, valid, marker):
    p = tmp / "model.keras"
    p.write_bytes(pickle.dumps(_Exploit(marker)))
    return p


def case_pickle_in_zip(tmp, valid, marker):
    p = tmp / "model.keras"
    _zip(p, [("archive/data.pkl", pickle.dumps(_Exploit(marker))), ("archive/version", "3")])
    return p


def case_npz_with_pickle(tmp, valid, marker):
    p = tmp / "w.weights.h5"
    buf = io.BytesIO()
    np.savez(buf, a=np.array([_Exploit(marker)], dtype=object))
    p.write_bytes(buf.getvalue())
    return p


def _arch_case(mutate):
    def build(tmp, valid, marker):
        p = tmp / "model.keras"
        _shendu_file(p, _with_arch(valid, lambda layers: mutate(layers, marker)), valid[1])
        return p
    return build


def _set_class(name, module=None):
    def mutate(layers, marker):
        layers[0]["class_name"] = name
        if module:
            layers[0]["module"] = module
        layers[0]["config"] = {"command": f"touch {marker}"}
    return mutate


def case_lambda_safe_mode(tmp, valid, marker):
    p = tmp / "model.keras"
    _shendu_file(p, _lambda_doc(valid), _tensors_only_first_two(valid))
    return p


def case_file_turns_safe_mode_off(tmp, valid, marker):
    p = tmp / "model.keras"
    doc = _lambda_doc(valid)
    doc["safe_mode"] = False
    doc["architecture"]["config"]["safe_mode"] = False
    doc["architecture"]["config"]["layers"][1]["config"]["safe_mode"] = False
    doc["load_options"] = {"safe_mode": False, "custom_objects": {"system": "os.system"}}
    _shendu_file(p, doc, _tensors_only_first_two(valid))
    return p


def case_header_larger_than_file(tmp, valid, marker):
    p = tmp / "model.keras"
    _shendu_file(p, valid[0], struct.pack("<Q", 2 ** 40) + b"{}")
    return p


def _tensor_case(header, data=b"", weights=("weights/x",)):
    def build(tmp, valid, marker):
        p = tmp / "model.keras"
        doc = dict(valid[0], weights=list(weights))
        _shendu_file(p, doc, _raw_tensors(header, data))
        return p
    return build


def case_truncated_zip(tmp, valid, marker):
    good = tmp / "good.keras"
    _shendu_file(good, *valid)
    p = tmp / "model.keras"
    p.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return p


def case_zip_bomb(tmp, valid, marker):
    p = tmp / "model.keras"
    doc = json.dumps(valid[0]).encode()
    bomb = doc[:-1] + b" " * (70 * 2 ** 20) + b"}"  # 70 MiB that deflate to ~70 KiB
    _zip(p, [("shendu.json", bomb), ("tensors.safetensors", valid[1])], zipfile.ZIP_DEFLATED)
    return p


def case_wrong_version(tmp, valid, marker):
    p = tmp / "model.keras"
    _shendu_file(p, dict(valid[0], format_version=99), valid[1])
    return p


def case_layer_dtype_object(tmp, valid, marker):
    def mutate(layers, marker):
        layers[0]["config"]["dtype"] = "object"
    return _arch_case(mutate)(tmp, valid, marker)


def case_hdf5(tmp, valid, marker):
    p = tmp / "model.h5"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 600)
    return p


def case_keras3_archive(tmp, valid, marker):
    p = tmp / "model.keras"
    _zip(p, [("metadata.json", "{}"), ("config.json", "{}"), ("model.weights.h5", b"\x89HDF")])
    return p


def case_empty(tmp, valid, marker):
    p = tmp / "model.keras"
    p.write_bytes(b"")
    return p


def case_forged_huge_layer(tmp, valid, marker):
    def mutate(layers, marker):
        layers[0]["config"]["units"] = 200_000_000
    return _arch_case(mutate)(tmp, valid, marker)


def case_duplicate_members(tmp, valid, marker):
    p = tmp / "model.keras"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _zip(p, [("shendu.json", json.dumps(valid[0])), ("shendu.json", json.dumps(valid[0])),
                 ("tensors.safetensors", valid[1])])
    return p


def case_compressed_tensors(tmp, valid, marker):
    p = tmp / "model.keras"
    _zip(p, [("shendu.json", json.dumps(valid[0])), ("tensors.safetensors", valid[1])],
         zipfile.ZIP_DEFLATED)
    return p


def case_bad_generator(tmp, valid, marker):
    p = tmp / "model.keras"
    doc = json.loads(json.dumps(valid[0]))
    doc["training_state"]["global_generator"] = {"bit_generator": "os.system",
                                                 "state": f"touch {marker}"}
    _shendu_file(p, doc, valid[1])
    return p


def case_missing_tensor(tmp, valid, marker):
    p = tmp / "model.keras"
    _shendu_file(p, dict(valid[0], weights=valid[0]["weights"] + ["weights/ghost"]), valid[1])
    return p


def case_deep_json(tmp, valid, marker):
    p = tmp / "model.keras"
    _zip(p, [("shendu.json", '{"format": "shendu", "format_version": 1, "x": '
              + "[" * 100_000 + "]" * 100_000 + "}")])
    return p


def case_dangling_graph(tmp, valid, marker):
    p = tmp / "model.keras"
    doc = json.loads(json.dumps(valid[0]))
    doc["architecture"] = {"class_name": "Functional", "registered_name": None, "config": {
        "name": "f", "trainable": True,
        "layers": [{"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4],
                                                                       "name": "in"},
                    "inbound_nodes": []},
                   {"class_name": "Dense", "name": "d", "config": {"units": 2, "name": "d"},
                    "inbound_nodes": [{"args": {"__keras_tensor__": ["nowhere", 0, 0]},
                                       "kwargs": {}}]}],
        "input_layers": [{"__keras_tensor__": ["in", 0, 0]}],
        "output_layers": [{"__keras_tensor__": ["d", 0, 0]}]}}
    _shendu_file(p, doc, valid[1])
    return p


F32 = lambda shape, begin, end: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}  # noqa: E731

CORPUS = [
    ("pickle_payload", case_pickle, "pickle"),
    ("pickle_inside_zip", case_pickle_in_zip, "pickle"),
    ("npz_object_array", case_npz_with_pickle, "NumPy .npz|not a shendu file"),
    ("class_os_system", _arch_case(_set_class("os.system")), "Unknown class 'os.system'"),
    ("class_subprocess_popen", _arch_case(_set_class("Popen", module="subprocess")),
     "Unknown class 'Popen'"),
    ("class_builtins_eval", _arch_case(_set_class("builtins.eval", module="builtins")),
     "Unknown class 'builtins.eval'"),
    ("activation_builtins_eval", _arch_case(
        lambda layers, m: layers[0]["config"].update(activation="builtins.eval")),
     "Unknown activation"),
    ("lambda_in_safe_mode", case_lambda_safe_mode, "refused in safe mode"),
    ("file_turns_safe_mode_off", case_file_turns_safe_mode_off, "refused in safe mode"),
    ("unknown_class", _arch_case(_set_class("TotallyUnknownLayer")),
     "Unknown class 'TotallyUnknownLayer'"),
    ("header_larger_than_file", case_header_larger_than_file, "header claims"),
    ("negative_shape", _tensor_case({"weights/x": F32([-1, 4], 0, 0)}), "negative dimension"),
    ("huge_shape", _tensor_case({"weights/x": F32([2 ** 40, 2 ** 40], 0, 16)}, b"\0" * 16),
     "needs .* bytes"),
    ("offsets_past_end", _tensor_case({"weights/x": F32([4], 0, 16)}, b"\0" * 8), "outside"),
    ("overlapping_tensors", _tensor_case({"weights/x": F32([4], 0, 16), "weights/y": F32([4], 8, 24)},
                                         b"\0" * 24, ("weights/x", "weights/y")), "overlaps"),
    ("gap_between_tensors", _tensor_case({"weights/x": F32([2], 8, 16)}, b"\0" * 16),
     "unaccounted bytes"),
    ("truncated_zip", case_truncated_zip, "damaged or truncated"),
    ("zip_bomb", case_zip_bomb, "limit|zip bomb"),
    ("wrong_format_version", case_wrong_version, "format_version 99"),
    ("tensor_dtype_object", _tensor_case({"weights/x": {"dtype": "O", "shape": [1],
                                                         "data_offsets": [0, 8]}}, b"\0" * 8),
     "dtype 'O'"),
    ("layer_dtype_object", case_layer_dtype_object, "dtype 'object' is not allowed"),
    ("duplicate_tensor_names", _tensor_case(
        b'{"weights/x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"weights/x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8),
     "duplicate key"),
    ("nan_in_shape", _tensor_case(b'{"weights/x": {"dtype": "F32", "shape": [NaN], '
                                  b'"data_offsets": [0, 4]}}', b"\0" * 4), "NaN"),
    ("float_in_shape", _tensor_case({"weights/x": F32([2.5], 0, 10)}, b"\0" * 10),
     "must be an integer"),
    ("real_hdf5_file", case_hdf5, "HDF5"),
    ("keras3_archive", case_keras3_archive, "Keras 3"),
    ("empty_file", case_empty, "empty"),
    ("forged_huge_layer", case_forged_huge_layer, "would allocate"),
    ("duplicate_zip_members", case_duplicate_members, "duplicate member"),
    ("compressed_tensor_block", case_compressed_tensors, "stored uncompressed"),
    ("forged_generator_state", case_bad_generator, "generator state must name"),
    ("listed_weight_not_stored", case_missing_tensor, "listed but not stored"),
    ("deeply_nested_json", case_deep_json, "nested too deeply"),
    ("dangling_graph_reference", case_dangling_graph, "cannot be rebuilt"),
]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("builder,message", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_malicious_file_is_refused_without_side_effects(tmp_path, valid, builder, message,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER
    path = builder(tmp_path, valid, str(marker))
    before = shendu_random.default_generator().bit_generator.state
    with pytest.raises(ValueError, match=message) as info:
        keras.models.load_model(path)
    assert isinstance(info.value, UnsafeFileError) or "Unknown" in str(info.value)
    assert shendu_random.default_generator().bit_generator.state == before
    # load_weights reads through the same checks: refused, or (for attacks on the
    # architecture, which it does not read) it loads the intact tensors; never half-way.
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)])
    weights = [w.copy() for w in model.get_weights()]
    try:
        model.load_weights(path)
    except ValueError:
        assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert not marker.exists(), "loading executed code from the file"
    assert not (tmp_path / "pwned").exists()


def test_marker_would_be_created_by_unpickling(tmp_path, valid):
    """Sanity check of the corpus: the pickle payload is live (so refusing it matters)."""
    marker = tmp_path / MARKER
    payload = case_pickle(tmp_path, valid, str(marker)).read_bytes()
    pickle.loads(payload)  # what a pickle-based loader would do
    assert marker.exists()


def test_lambda_loads_only_when_caller_disables_safe_mode(tmp_path, valid):
    path = case_lambda_safe_mode(tmp_path, valid, str(tmp_path / MARKER))
    with pytest.raises(ValueError, match="needs its function"):
        keras.models.load_model(path, safe_mode=False)  # the file cannot supply code
    model = keras.models.load_model(path, safe_mode=False,
                                    custom_objects={"system": lambda x: x * 2})
    assert model.predict(np.ones((1, 4), "float32"), verbose=0).shape == (1, 3)
    assert not (tmp_path / MARKER).exists()
