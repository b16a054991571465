"""``get_source_inputs``: the ``Input`` tensors a symbolic tensor is computed from."""
from ..layers.layer import KerasTensor


def get_source_inputs(tensor):
    """The list of ``Input`` tensors needed to compute ``tensor`` (``keras.utils``).

    Walks the graph back from ``tensor`` through the layers that made it; an ``Input``
    tensor is its own source. Each source appears once, in the order first reached.

    Example:
        >>> import shendu as keras
        >>> a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
        >>> y = keras.layers.Add()([keras.layers.Dense(2)(a), b])
        >>> [t.name for t in get_source_inputs(y)]
        ['a', 'b']
    """
    if not isinstance(tensor, KerasTensor):
        raise ValueError("get_source_inputs expects a symbolic tensor (from shendu.Input or a "
                         f"layer called on one); received {type(tensor).__name__}: {tensor!r}")
    sources, seen_nodes, seen_inputs = [], set(), set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        if t.node is None:
            if id(t) not in seen_inputs:
                seen_inputs.add(id(t))
                sources.append(t)
            continue
        if id(t.node) in seen_nodes:
            continue
        seen_nodes.add(id(t.node))
        stack.extend(reversed(t.node.parent_tensors))  # visit the first argument first
    return sources
