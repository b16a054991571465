"""shendu.tree: Keras's keras.tree over plain Python structures, checked against real Keras."""
import collections

import pytest

from shendu import tree

Foo = collections.namedtuple("Foo", ["a", "b"])
AlsoFoo = collections.namedtuple("Foo", ["a", "b"])
STRUCTURES = [
    [[1, 2, 3], [4, [5], [[6]]]], None, 1, "text", {100: "world!", 6: "Hello"},
    {"b": [1, 2], "a": (3, None)}, Foo(1, (2, 3)), collections.OrderedDict([("z", 1), ("a", 2)]),
    [], {}, ((), [None]),
]


@pytest.fixture(scope="module")
def ktree():
    return pytest.importorskip("keras", reason="real Keras is the reference").tree


def _same(a, b):
    return a == b and type(a) is type(b) and (list(a) == list(b) if isinstance(a, dict) else True)


@pytest.mark.parametrize("s", STRUCTURES, ids=repr)
def test_single_structure_functions_match_keras(ktree, s):
    assert tree.flatten(s) == ktree.flatten(s)
    assert tree.flatten_with_path(s) == ktree.flatten_with_path(s)
    assert tree.is_nested(s) == ktree.is_nested(s)
    assert _same(tree.lists_to_tuples(s), ktree.lists_to_tuples(s))
    f = (lambda x: None if x is None else repr(x))
    assert _same(tree.map_structure(f, s), ktree.map_structure(f, s))
    flat = list(range(len(tree.flatten(s))))
    assert _same(tree.pack_sequence_as(s, flat), ktree.pack_sequence_as(s, flat))
    for top_down in (True, False):
        seen, kseen = [], []
        assert _same(tree.traverse(seen.append, s, top_down), ktree.traverse(kseen.append, s, top_down))
        assert seen == kseen


PAIRS = [([(0, 1)], [(2, 3)]), (Foo(0, 1), Foo(2, 3)), (Foo(0, 1), AlsoFoo(2, 3)),
         ([0, 1], (2, 3)), ({"a": 1}, {"b": 1}), ([1], [[1]]), ([[1]], [1]),
         ({"a": 1}, collections.OrderedDict(a=1)), ([None], [3]), ({"a": [1]}, {"a": (1,)})]


def _outcome(fn, *args):
    try:
        fn(*args)
        return "ok"
    except (ValueError, TypeError) as e:
        return type(e).__name__


@pytest.mark.parametrize("a,b", PAIRS, ids=repr)
def test_structure_comparisons_match_keras(ktree, a, b):
    for name in ("assert_same_structure", "assert_same_paths"):
        assert _outcome(getattr(tree, name), a, b) == _outcome(getattr(ktree, name), a, b), name
    add = (lambda x, y: (x, y))
    assert _outcome(tree.map_structure, add, a, b) == _outcome(ktree.map_structure, add, a, b)


def test_map_structure_several_and_none_is_leaf(ktree):
    assert tree.map_structure(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)]) == [11, (22, 33)]
    assert tree.map_structure(lambda x: 1, [None, 2], none_is_leaf=False) == [None, 1]
    assert tree.map_structure(lambda x: 1, [None, 2]) == [1, 1]
    d = tree.map_structure(lambda a, b: a + b, {"a": 1, "b": 2},
                           collections.OrderedDict([("b", 3), ("a", 4)]))
    assert d == {"a": 5, "b": 5}
    with pytest.raises(TypeError, match="callable"):
        tree.map_structure(3, [1])
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure(lambda x, y: x, [1, 2], [1])


def test_map_structure_up_to_and_shapes(ktree):
    # Keras's documented examples (a None in the shallow structure is a leaf)
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == \
        ["[1, 1]", ["2", "2"]]
    assert tree.map_structure_up_to([0, 0], len, [[1, 1], [2, 2]]) == \
        ktree.map_structure_up_to([0, 0], len, [[1, 1], [2, 2]])
    s = {"x": (None, 3), "y": [(2,), (4, 5)]}
    assert tree.map_shape_structure(len, s) == ktree.map_shape_structure(len, s) == \
        {"x": 2, "y": [1, 2]}


def test_traverse_replaces_and_maps_to_none(ktree):
    s = [(1, 2), 3, {"k": [4]}]
    f = (lambda x: tree.MAP_TO_NONE if x == (1, 2) else None)
    kf = (lambda x: ktree.MAP_TO_NONE if x == (1, 2) else None)
    assert tree.traverse(f, s) == ktree.traverse(kf, s) == [None, 3, {"k": [4]}]
    g = (lambda x: "four" if x == 4 else None)
    assert tree.traverse(g, s, top_down=False) == ktree.traverse(g, s, top_down=False)


def test_pack_sequence_as_counts_leaves():
    assert tree.pack_sequence_as({"b": 0, "a": 0}, [1, 2]) == {"b": 2, "a": 1}
    with pytest.raises(ValueError, match="3 leaves but flat_sequence has 2"):
        tree.pack_sequence_as([0, (0, 0)], [1, 2])
