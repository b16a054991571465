"""pack/unpack_x_y_sample_weight and Config, against real Keras."""
import pytest

from shendu.utils import Config, pack_x_y_sample_weight, unpack_x_y_sample_weight


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras", reason="real Keras is the reference")


@pytest.mark.parametrize("data", [1, (1,), (1, 2), (1, 2, 3), [1, 2], [1]], ids=str)
def test_unpack_matches_keras(keras, data):
    assert unpack_x_y_sample_weight(data) == keras.utils.unpack_x_y_sample_weight(data)


@pytest.mark.parametrize("args", [(1,), (1, 2), (1, 2, 3), ((1, 2),), ([1, 2],), (1, None, 3)],
                         ids=str)
def test_pack_matches_keras(keras, args):
    assert pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)


def test_unpack_refuses_four_parts():
    with pytest.raises(ValueError, match=r"found: \(1, 2, 3, 4\)"):
        unpack_x_y_sample_weight((1, 2, 3, 4))


def test_config_behaves_like_keras(keras):
    for cls in (Config, keras.utils.Config):
        c = cls(a=1)
        c.b = 2
        c["c"] = 3
        assert c.as_dict() == {"a": 1, "b": 2, "c": 3} and len(c) == 3 and "a" in c
        assert c.b == 2 and c["a"] == 1 and list(c) == ["a", "b", "c"]
        c.freeze()
        assert c.frozen
        with pytest.raises(ValueError, match="frozen"):
            c.a = 5
        with pytest.raises(ValueError, match="frozen"):
            c["a"] = 5
        with pytest.raises(AttributeError, match="Unknown attribute: 'zz'"):
            c.zz
        c.unfreeze()
        c.a = 5
        assert c.a == 5
