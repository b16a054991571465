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
    g = _seed(root, grad, "backward()")
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
    for t, gx in _input_grads(fn, gy):
        if t._ctx is None:
            t._accumulate(gx)
        else:
            key = id(t._ctx)
            prev = grads.get(key)
            grads[key] = gx if prev is None else prev + gx
    if not retain_graph:
        fn.release()


def _seed(root, grad, who):
    """The seed gradient d(root)/d(root): ones for a one-element root, else ``grad`` checked."""
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            f"{who} called on a tensor that does not require grad: none of its inputs "
            "had requires_grad=True, or it was computed under no_grad()")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{who} of a non-scalar tensor of shape {root.shape} needs an explicit "
                "seed gradient of the same shape: t.backward(grad)")
        return np.ones_like(root.data)
    g = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=root.dtype)
    if g.shape != root.shape:
        raise ValueError(f"{who}: seed gradient has shape {g.shape}, "
                         f"the tensor has shape {root.shape}")
    return g


def _input_grads(fn, gy):
    """(input tensor, its gradient reduced to its shape and dtype) for each input that takes one."""
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
        yield t, gx


def grad(root, inputs, grad=None, retain_graph=False):
    """The gradients d(root)/d(t) for each tensor t of ``inputs``, returned rather than
    accumulated (``torch.autograd.grad``'s contract).

    No tensor's ``.grad`` changes: the weights that the graph also reaches keep theirs,
    so attribution and other input-gradient code can run beside training. ``inputs`` may
    be leaves or intermediate tensors (a layer's output); only the nodes that lie between
    ``root`` and some tensor of ``inputs`` run their backward. A tensor ``root`` does not
    depend on gets zeros.

    Args:
        root: the tensor to differentiate.
        inputs: a sequence of tensors from root's graph.
        grad: the seed d(loss)/d(root); required unless root has one element.
        retain_graph: keep the graph for a later backward.

    Returns:
        A list of Tensors (no graph), one per tensor of ``inputs``, shaped like it.

    Example:
        >>> import shendu
        >>> from shendu.autograd.engine import grad
        >>> x = shendu.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x * x
        >>> gx, gh = grad((h * 3.0).sum(), [x, h])
        >>> gx.numpy(), gh.numpy()
        (array([ 6., 12.], dtype=float32), array([3., 3.], dtype=float32))
    """
    from .tensor import Tensor

    inputs = list(inputs)
    g = _seed(root, grad, "grad()")
    slots = {}
    for i, t in enumerate(inputs):
        slots.setdefault(id(t), []).append(i)
    out = [None] * len(inputs)

    def add(t, gx):
        for i in slots[id(t)]:
            out[i] = gx if out[i] is None else out[i] + gx

    if id(root) in slots:
        add(root, g)
    if root._ctx is not None:
        if root._ctx.released:
            raise RuntimeError(_RELEASED)
        order = _topological_order(root._ctx)
        # A node must run when one of its inputs is wanted or comes from a node that must run;
        # inputs' nodes come later in ``order``, so one pass from the end settles it.
        needed = set()
        for fn in reversed(order):
            if any(id(t) in slots or (t._ctx is not None and id(t._ctx) in needed)
                   for t in fn.inputs):
                needed.add(id(fn))
        grads = {id(root._ctx): g}
        for fn in order:
            if id(fn) not in needed:
                continue
            gy = grads.pop(id(fn), None)
            if gy is None:
                continue
            for t, gx in _input_grads(fn, gy):
                if id(t) in slots:
                    add(t, gx)
                if t._ctx is not None and id(t._ctx) in needed:
                    key = id(t._ctx)
                    prev = grads.get(key)
                    grads[key] = gx if prev is None else prev + gx
            if not retain_graph:
                fn.release()
    # Copies: what a user holds must not alias a node's or the pool's arrays.
    return [Tensor._from_op(np.zeros_like(t.data) if o is None else
                            np.array(o, dtype=t.data.dtype, copy=True), None)
            for t, o in zip(inputs, out)]


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
