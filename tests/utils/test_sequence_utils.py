"""pad_sequences (keras.utils and keras.preprocessing.sequence), against real Keras."""
import numpy as np
import pytest

import shendu
from shendu.utils import pad_sequences

CASES = [
    ([[1], [2, 3], [4, 5, 6]], {}),
    ([[1], [2, 3], [4, 5, 6]], {"maxlen": 2}),
    ([[1], [2, 3], [4, 5, 6]], {"maxlen": 2, "truncating": "post"}),
    ([[1], [2, 3], [4, 5, 6]], {"maxlen": 4, "padding": "post", "value": -1}),
    ([[1.5, 2.5], [3.0]], {"dtype": "float32"}),
    ([[], [1, 2]], {}),
    ([[], []], {}),
    ([np.ones((2, 3)), np.zeros((1, 3))], {"dtype": "float64", "maxlen": 3}),
    ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
]


@pytest.mark.parametrize("seqs,kwargs", CASES, ids=[str(k) for _, k in CASES])
def test_matches_keras(seqs, kwargs):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    ours = pad_sequences(seqs, **kwargs)
    theirs = keras.utils.pad_sequences(seqs, **kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


def test_default_result_and_old_name():
    out = shendu.preprocessing.sequence.pad_sequences([[1], [2, 3]])
    assert out.dtype == np.int32 and out.tolist() == [[0, 1], [2, 3]]
    assert shendu.preprocessing.sequence.pad_sequences is pad_sequences


def test_errors():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='Truncating type "x" not understood'):
        pad_sequences([[1]], truncating="x")
    with pytest.raises(ValueError, match="Found non-iterable: 3"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="is not compatible with `value`'s type"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match=r"Shape of sample \(2,\) of sequence at position 1"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 2))], dtype="float32")
