"""Fusion: built-in layers that run as one op, planned once per model.

A convnet's conv -> ReLU -> max-pool writes its largest array (the activation) only for
the pool to read it back; run as one op (``ops.conv_bias_relu_max_pool``) the batch is
taken a few samples at a time from the columns to the pool, and the activation is never
stored. Deciding where that applies is a small compiler pass, done here and nowhere
else: layers and models carry no fusion code.

``PATTERNS`` is the table: each entry says which run of consecutive layers it matches
(every layer but the last read by the next one alone) and which fused op serves it.
``plan_sequential`` / ``plan_graph`` match it once, when a model is built or compiled,
and the model keeps the plan: {position of a run's first layer: a ``Fused`` step}. A
model's ``call`` asks the step to run; a step returns None where a call-time condition
rules it out (a mask on the input), and the model then runs the layers one by one.

A layer is matched only when it runs exactly the built-in ``call`` (not a subclass that
overrides ``call`` or ``__call__``, nor an instance with either replaced): fusing would
silently skip the user's code. Fusion is off for a model compiled with
``jit_compile=False`` (or ``run_eagerly=True``), and everywhere under
``shendu.config.set_fusion_enabled(False)`` or ``SHENDU_FUSION=0``; off and on give the
same outputs, gradients and generator draws (tests/test_fusion.py, every pattern).

Example:
    >>> import shendu
    >>> from shendu import layers
    >>> model = shendu.Sequential([shendu.Input((8, 8, 1)), layers.Conv2D(2, 3, activation="relu"),
    ...                            layers.MaxPooling2D(), layers.Flatten()])
    >>> [(i, step.pattern.name) for i, step in plan_sequential(model.layers).items()]
    [(0, 'conv_relu_max_pool')]
"""
from dataclasses import dataclass

from . import activations, config, ops
from .layers.convolutional import Conv2D
from .layers.layer import KerasTensor, Layer
from .layers.pooling import MaxPooling2D
from .layers.regularization import Dropout


def runs_builtin_call(layer, cls):
    """Whether ``layer`` is a ``cls`` whose ``call`` and ``__call__`` are the built-in ones."""
    kind = type(layer)
    return (isinstance(layer, cls) and kind.call is cls.call and kind.__call__ is Layer.__call__
            and "call" not in vars(layer) and "__call__" not in vars(layer))


# --- the patterns -------------------------------------------------------------------------


def _conv_relu(layer):
    return (runs_builtin_call(layer, Conv2D) and layer.groups == 1 and layer.use_bias
            and layer.activation is activations.relu and layer.activity_regularizer is None
            and layer.data_format == "channels_last")


def _valid_max_pool(layer):
    return (runs_builtin_call(layer, MaxPooling2D) and layer.padding == "valid"
            and layer.data_format == "channels_last")


def _counter_dropout(layer):
    # A mask the counter hash draws (no noise_shape): the fused op can apply it per chunk.
    return runs_builtin_call(layer, Dropout) and layer.noise_shape is None and layer.rate > 0


def _run_conv_relu_max_pool(layers, x, training):
    """(y, layers used): conv -> pool, and the dropout after it when training."""
    conv, pool = layers[0], layers[1]
    drop = layers[2] if len(layers) > 2 and training else None
    x = conv._convert_input(x)
    shape = tuple(x.shape)
    conv._maybe_build(shape)
    conv._check_input_shape(shape)
    a_shape = conv.compute_output_shape(shape)
    pool._maybe_build(a_shape)
    pool._check_input_shape(a_shape)
    # The seed is drawn from the Dropout's generator exactly as its call would draw it.
    extra = {} if drop is None else dict(dropout_rate=drop.rate,
                                         dropout_seed=ops.random.dropout_seed(drop._generator))
    y = ops.conv_bias_relu_max_pool(x, conv.kernel, conv.bias, strides=conv.strides,
                                    padding=conv.padding, dilation_rate=conv.dilation_rate,
                                    pool_size=pool.pool_size, pool_strides=pool.strides, **extra)
    return y, 2 if drop is None else 3


@dataclass(frozen=True)
class Pattern:
    """A run of layers (one predicate per layer, in order) and the op that runs them.

    ``run(layers, x, training)`` -> (output, how many of the layers it covered): a
    pattern may cover fewer than it matched (a dropout only while training)."""
    name: str
    description: str
    matches: tuple
    run: object


PATTERNS = (
    Pattern("conv_relu_max_pool_dropout",
            "Conv2D(activation='relu', bias, groups=1) -> MaxPooling2D('valid') -> Dropout "
            "(no noise_shape): one op from the columns to the pool, the dropout's mask applied "
            "per chunk in training (ops.conv_bias_relu_max_pool with dropout_rate)",
            (_conv_relu, _valid_max_pool, _counter_dropout), _run_conv_relu_max_pool),
    Pattern("conv_relu_max_pool",
            "Conv2D(activation='relu', bias, groups=1) -> MaxPooling2D('valid'): one op that "
            "never stores the activation (ops.conv_bias_relu_max_pool)",
            (_conv_relu, _valid_max_pool), _run_conv_relu_max_pool),
)


class Fused:
    """One planned step: ``layers`` (a matched run) served by ``pattern``."""

    __slots__ = ("pattern", "layers")

    def __init__(self, pattern, layers):
        self.pattern, self.layers = pattern, tuple(layers)

    def __call__(self, x, training=None):
        """(output, how many layers it covered), or None where the layers must run one by
        one: a symbolic input, or a Keras mask (which the fused op does not carry)."""
        if isinstance(x, KerasTensor) or getattr(x, "_keras_mask", None) is not None:
            return None
        return self.pattern.run(self.layers, x, training)

    def __repr__(self):
        return f"Fused({self.pattern.name}: {', '.join(l.name for l in self.layers)})"


# --- the pass -----------------------------------------------------------------------------


def _match_at(layers, i, linked):
    """The first pattern matching layers[i:], as a Fused step, or None. ``linked(j)`` says
    whether layer j's output is read by layer j + 1 alone (and by nothing else)."""
    for pattern in PATTERNS:
        n = len(pattern.matches)
        if i + n <= len(layers) and all(m(layers[i + k]) for k, m in enumerate(pattern.matches)) \
                and all(linked(i + k) for k in range(n - 1)):
            return Fused(pattern, layers[i:i + n])
    return None


def _plan(layers, linked):
    plan, i = {}, 0
    while i < len(layers):
        step = _match_at(layers, i, linked)
        if step is None:
            i += 1
        else:
            plan[i] = step
            i += len(step.layers)
    return plan


def plan_sequential(layers):
    """{index of a run's first layer: Fused} for a stack of layers (each reads the last)."""
    return _plan(list(layers), lambda j: True)


def plan_graph(nodes, outputs):
    """{position in ``nodes`` of a run's first node: (Fused, positions of the run's nodes,
    their output KerasTensors)} for a Functional model's nodes in run order. A run is a
    chain of nodes, each the only reader of the one before, called on one tensor with no
    keyword argument but ``training`` (the first) or none, whose inner outputs are not
    model outputs."""
    readers = {}
    for node in nodes:
        for t in node.parent_tensors:
            readers.setdefault(id(t), []).append(node)
    out_ids = {id(t) for t in outputs}
    pos = {id(n): i for i, n in enumerate(nodes)}
    plan, seen = {}, set()
    for node in nodes:
        if id(node) in seen:
            continue
        chain = [node]
        while True:
            outs = _single_output(chain[-1])
            if outs is None or id(outs) in out_ids:
                break
            users = readers.get(id(outs), [])
            if len(users) != 1 or users[0].inputs is not outs or users[0].kwargs:
                break
            chain.append(users[0])
        seen.update(id(n) for n in chain)
        if not (isinstance(chain[0].inputs, KerasTensor) and set(chain[0].kwargs) <= {"training"}):
            chain = chain[1:]
        for i, step in _plan([n.layer for n in chain], lambda j: True).items():
            run = chain[i:i + len(step.layers)]
            plan[pos[id(run[0])]] = (step, tuple(pos[id(n)] for n in run),
                                     tuple(_single_output(n) for n in run))
    return plan


def _single_output(node):
    outs = node.outputs
    if isinstance(outs, (list, tuple)):
        return outs[0] if len(outs) == 1 else None
    return outs


def enabled(model):
    """Whether fusion is on for ``model``: the config switch, and the model's
    ``jit_compile`` (False when compiled with ``jit_compile=False`` or ``run_eagerly=True``)."""
    return config.fusion_enabled() and getattr(model, "jit_compile", True) is not False
