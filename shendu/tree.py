"""Keras's ``keras.tree``: functions over nested structures of lists, tuples, namedtuples
and dicts, written small on plain Python (no optree needed).

The rules are Keras's (which uses optree): lists, tuples, namedtuples and dicts
(``dict``, ``OrderedDict``, ``defaultdict``) are nested; everything else, ``None``
included, is a leaf. A ``dict``'s children are visited in sorted key order (insertion
order for an ``OrderedDict``), while a rebuilt dict keeps its original key order. Two
structures match when every node has the same type and the same keys or length.

    >>> from shendu import tree
    >>> tree.flatten({"b": [1, 2], "a": (3, None)})
    [3, None, 1, 2]
    >>> tree.map_structure(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)])
    [11, (22, 33)]
"""
import collections


class MAP_TO_NONE:  # noqa: N801 (Keras's name)
    """Return this from a ``traverse`` function to put ``None`` in place of a sub-tree."""


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure):
    """Whether ``structure`` is a list, tuple, namedtuple or dict (not a leaf)."""
    return isinstance(structure, (list, tuple, dict))


def _keys(d):
    if isinstance(d, collections.OrderedDict):
        return list(d)
    try:
        return sorted(d)
    except TypeError:  # keys of mixed types: insertion order
        return list(d)


def _children(x):
    """(keys, values) of a node in visiting order; keys are indices for sequences."""
    if isinstance(x, dict):
        keys = _keys(x)
        return keys, [x[k] for k in keys]
    return list(range(len(x))), list(x)


def _rebuild(node, keys, values):
    """A node of ``node``'s type holding ``values`` (in ``keys`` order)."""
    if isinstance(node, dict):
        by_key = dict(zip(keys, values))
        if isinstance(node, collections.defaultdict):
            out = collections.defaultdict(node.default_factory)
            out.update((k, by_key[k]) for k in node)
            return out
        return type(node)((k, by_key[k]) for k in node)
    if _is_namedtuple(node):
        return type(node)(*values)
    return type(node)(values) if isinstance(node, (list, tuple)) else values


def _check_same_node(a, b):
    # The dict family (dict, OrderedDict, defaultdict) matches itself on the keys, as in optree.
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        raise ValueError("The two structures don't have the same nested structure: "
                         f"{type(a).__name__} vs {type(b).__name__}. First: {a!r}; second: {b!r}")
    ka, kb = (sorted(a, key=repr), sorted(b, key=repr)) if isinstance(a, dict) else (len(a), len(b))
    if ka != kb:
        raise ValueError("The two structures don't have the same nested structure: "
                         f"{'keys' if isinstance(a, dict) else 'lengths'} {ka} vs {kb}. "
                         f"First: {a!r}; second: {b!r}")


def _map(func, first, others, is_leaf, exact=False):
    """Map over ``first``'s nodes; the other structures must match it down to its leaves
    (and, when ``exact``, have leaves there too)."""
    if is_leaf(first):
        if exact and any(is_nested(o) for o in others):
            raise ValueError("The two structures don't have the same nested structure: "
                             f"a leaf {first!r} in the first meets a nested value in another: "
                             f"{[o for o in others if is_nested(o)][0]!r}")
        return func(first, *others)
    for other in others:
        _check_same_node(first, other)
    keys, values = _children(first)
    other_values = [[o[k] for k in keys] if isinstance(o, dict) else list(o) for o in others]
    mapped = [_map(func, v, [ov[i] for ov in other_values], is_leaf, exact)
              for i, v in enumerate(values)]
    return _rebuild(first, keys, mapped)


def _leaf(x):
    return not is_nested(x)


def flatten(structure):
    """The leaves of ``structure``, in order (``flatten(None) == [None]``)."""
    out = []
    _map(out.append, structure, [], _leaf)
    return out


def flatten_with_path(structure):
    """``(path, leaf)`` pairs; a path is the tuple of indices and keys that reaches the leaf.

    Example:
        >>> flatten_with_path([{"foo": 42}])
        [((0, 'foo'), 42)]
    """
    out = []

    def visit(x, path):
        if _leaf(x):
            out.append((path, x))
            return
        keys, values = _children(x)
        for k, v in zip(keys, values):
            visit(v, path + (k,))
    visit(structure, ())
    return out


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied leafwise to ``structures`` of the same layout; the result has it too.

    With ``none_is_leaf=False``, ``None`` entries are kept as ``None`` and not passed to func.

    Raises:
        TypeError: no structure, or ``func`` is not callable.
        ValueError: the structures do not match.
    """
    if not callable(func):
        raise TypeError(f"map_structure: `func` must be callable. Received: func={func!r}")
    if not structures:
        raise TypeError("map_structure: at least one structure is required")
    if none_is_leaf:
        return _map(func, structures[0], list(structures[1:]), _leaf, exact=True)

    def call(first, *rest):
        return None if first is None else func(first, *rest)
    return _map(call, structures[0], list(structures[1:]), _leaf, exact=True)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like ``map_structure`` but stops at ``shallow_structure``'s leaves: ``func`` gets the
    whole sub-structures found there.

    Example:
        >>> map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]])
        ['[1, 1]', ['2', '2']]
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    return _map(lambda _, *xs: func(*xs), shallow_structure, list(structures), _leaf)


def assert_same_structure(a, b, check_types=None):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same nested structure (node types,
    dict keys and lengths); leaves may differ. ``check_types`` is accepted for compatibility
    (Keras 3 always compares types)."""
    _map(lambda x, y: None, a, [b], _leaf, exact=True)


def _paths(structure):
    return {path for path, _ in flatten_with_path(structure)}


def assert_same_paths(a, b):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (node types may
    differ: ``[0, 1]`` and ``(2, 3)`` pass)."""
    pa, pb = _paths(a), _paths(b)
    if pa != pb:
        msg = "`a` and `b` don't have the same paths."
        if pa - pb:
            msg += f"\nPaths in `a` missing in `b`:\n{pa - pb}"
        if pb - pa:
            msg += f"\nPaths in `b` missing in `a`:\n{pb - pa}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """The leaves of ``flat_sequence``, in order, put into ``structure``'s layout.

    Example:
        >>> pack_sequence_as({"b": 0, "a": 0}, [1, 2])
        {'b': 2, 'a': 1}
    """
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"pack_sequence_as: the structure has {n} leaves but flat_sequence "
                         f"has {len(flat)} elements. Structure: {structure!r}")
    it = iter(flat)
    return _map(lambda _: next(it), structure, [], _leaf)


def traverse(func, structure, top_down=True):
    """Apply ``func`` to every sub-structure (the whole, each node, each leaf).

    Top-down: a node is visited before its children; when ``func`` returns something other
    than None, that replaces the sub-tree and its children are not visited. Bottom-up: the
    children first, then ``func`` on the rebuilt node, whose non-None result replaces it.
    Return ``MAP_TO_NONE`` to put None in a sub-tree's place.
    """
    def children_done(x):
        if _leaf(x):
            return x
        keys, values = _children(x)
        return _rebuild(x, keys, [traverse(func, v, top_down) for v in values])

    if top_down:
        ret = func(structure)
        if ret is None:
            return children_done(structure)
    else:
        done = children_done(structure)
        ret = func(done)
        if ret is None:
            return done
    return None if ret is MAP_TO_NONE else ret


def lists_to_tuples(structure):
    """``structure`` with every list, at any depth, made a tuple."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure, top_down=False)


def _is_shape(x):
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func, structure):
    """``map_structure`` that treats a shape (a list or tuple of ints and Nones) as a leaf."""
    return _map(func, structure, [], lambda x: _leaf(x) or _is_shape(x))
