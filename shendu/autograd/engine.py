"""Reverse-mode automatic differentiation: walk the recorded graph backwards.

Given a scalar loss L and the graph of Functions that computed it, backward
visits every node after all the nodes that consume its output (reverse
topological order), so that when a node runs, the gradient of L with respect
to its output, gy = dL/dy, is complete. The node turns gy into one gradient
per input (the chain rule, dL/dx = dL/dy * dy/dx), and where a tensor feeds
several consumers their contributions are added (the multivariate chain rule).
"""
import contextlib

import numpy as np


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each element of x was used
    2*4 times, so its gradient is the sum of the gradient over those copies:
    sum over the added leading axes and over the axes where x had size 1.
    """
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != tuple(shape):  # pragma: no cover - would be an op bug
        raise RuntimeError(f"gradient of shape {g.shape} cannot be reduced to {tuple(shape)}")
    return g


def _topological_order(root_fn):
    """Nodes reachable from ``root_fn``, each after every node that uses its output."""
    order, visited = [], set()
    stack = [(root_fn, False)]
    while stack:  # iterative DFS: deep graphs (long RNNs) must not hit the recursion limit
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        for t in fn.inputs:
            if t._ctx is not None and id(t._ctx) not in visited:
                stack.append((t._ctx, False))
    order.reverse()
    return order


def backward(root, grad=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            "backward() called on a tensor that does not require grad: none of its inputs "
            "had requires_grad=True, or it was computed under no_grad()")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() of a non-scalar tensor of shape {root.shape} needs an explicit "
                "seed gradient of the same shape: t.backward(grad)")
        g = np.ones_like(root.data)
    else:
        g = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=root.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward(): seed gradient has shape {g.shape}, "
                             f"the tensor has shape {root.shape}")
    hooks = tuple(_grad_ready_hooks)
    if root._ctx is None:
        root._accumulate(g)
        for hook in hooks:
            hook(root)
        return
    if root._ctx.released:
        raise RuntimeError(_RELEASED)

    order = _topological_order(root._ctx)
    final = _last_uses(order) if hooks else {}
    grads = {id(root._ctx): g}
    for i, fn in enumerate(order):
        gy = grads.pop(id(fn), None)
        if gy is not None:
            _backward_node(fn, gy, grads, retain_graph)
        for leaf in final.get(i, ()):  # no node left uses these leaves: their .grad is final
            for hook in hooks:
                hook(leaf)


def _backward_node(fn, gy, grads, retain_graph):
    """Run one node: its inputs' gradients go to leaves' .grad or into ``grads`` for their nodes."""
    if fn.released:
        raise RuntimeError(_RELEASED)
    if fn.saved_versions:
        fn.check_saved_versions()
    gxs = fn.backward(gy)
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    for t, gx, need in zip(fn.inputs, gxs, fn.needs_input_grad):
        if not need or gx is None:
            continue
        gx = unbroadcast(np.asarray(gx), t.data.shape)
        if gx.dtype != t.data.dtype:
            gx = gx.astype(t.data.dtype)
        if t._ctx is None:
            t._accumulate(gx)
        else:
            key = id(t._ctx)
            prev = grads.get(key)
            grads[key] = gx if prev is None else prev + gx
    if not retain_graph:
        fn.release()


# ---- gradient-ready hooks ----------------------------------------------------------------------
_grad_ready_hooks = []


@contextlib.contextmanager
def gradient_ready_hook(hook):
    """Call ``hook(leaf)`` during every ``backward()`` in this block as soon as a leaf's
    ``.grad`` is final (the last node that uses the leaf has run), while backward goes on.

    This lets data-parallel training start reducing the last layers' gradients while the
    first layers' are still being computed. Every leaf of the graph is reported once per
    backward, in the order its gradient completes; a leaf that got no gradient is reported
    with ``grad`` unchanged (None after zeroing).
    """
    _grad_ready_hooks.append(hook)
    try:
        yield hook
    finally:
        _grad_ready_hooks.remove(hook)


def _last_uses(order):
    """{position in ``order``: [leaves whose last consumer is that node]}, for the hooks."""
    last = {}
    for i, fn in enumerate(order):
        for t in fn.inputs:
            if t._ctx is None and t.requires_grad:
                last[id(t)] = (i, t)
    final = {}
    for i, t in last.values():
        final.setdefault(i, []).append(t)
    return final


_RELEASED = ("Trying to backward through the graph a second time: its saved arrays were "
             "freed by the first backward(). Call backward(retain_graph=True) the first "
             "time if you need to backpropagate twice.")
