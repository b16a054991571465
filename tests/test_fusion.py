"""shendu/fusion.py: the table of fused patterns and the pass that plans them.

For every pattern in the table, in a Sequential and a Functional model: fusion on and off
give the same outputs, gradients and generator draws (float32, normwise). A layer whose
``call`` a user has replaced is never fused. The plan is made once and made again when
the switches change; compile's jit_compile/run_eagerly/steps_per_execution.
"""
import numpy as np
import pytest

import shendu
import shendu.ops as ops
from shendu import fusion, layers


def close(a, b, tol=1e-5):
    """Normwise: float32 sums in another order."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    return np.linalg.norm(a - b) <= tol * max(np.linalg.norm(b), 1e-30)


@pytest.fixture
def fusion_switch():
    """Restores the config switch after a test that flips it."""
    before = shendu.config.fusion_enabled()
    yield shendu.config.set_fusion_enabled
    shendu.config.set_fusion_enabled(before)


def _spy_on_fused_op(monkeypatch):
    """A list that gets each call of ops.conv_bias_relu_max_pool (its dropout_rate, 0
    when none) while the op still runs."""
    calls, real = [], ops.conv_bias_relu_max_pool
    monkeypatch.setattr(ops, "conv_bias_relu_max_pool",
                        lambda *a, **k: calls.append(k.get("dropout_rate", 0)) or real(*a, **k))
    return calls


# --- one model per pattern of the table, Sequential and Functional --------------------------

def _pattern_layers(name, seed=None):
    shendu.utils.set_random_seed(3)
    run = [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2)]
    if name == "conv_relu_max_pool_dropout":
        run.append(layers.Dropout(0.5, seed=seed))
    return run + [layers.Flatten(), layers.Dense(3)]


def _model(name, kind, seed=None):
    run = _pattern_layers(name, seed)
    if kind == "sequential":
        return shendu.Sequential([shendu.Input((12, 12, 2))] + run)
    inp = shendu.Input((12, 12, 2))
    x = inp
    for layer in run:
        x = layer(x)
    return shendu.Model(inp, x)


def _step(model, x, training, dropout_seed):
    """Outputs, gradients and the next draws of the generators a dropout reads."""
    for v in model.trainable_weights:
        v.grad = None
    shendu.utils.set_random_seed(11)  # the global generator, for a seedless Dropout
    drops = [l for l in model.layers if isinstance(l, layers.Dropout)]
    for d in drops:
        if dropout_seed is not None:
            d._generator = np.random.default_rng(dropout_seed)
    y = model(x, training=training)
    ops.sum(ops.square(y)).backward()
    draws = [ops.random.default_generator().integers(1 << 30)]
    draws += [d._generator.integers(1 << 30) for d in drops if d._generator is not None]
    return y.numpy(), [np.array(v.grad) for v in model.trainable_weights], draws


# every pattern; a Dropout with its own seed or the global generator
PATTERN_CASES = [(p.name, seed) for p in fusion.PATTERNS
                 for seed in ([None, 7] if p.name.endswith("dropout") else [None])]


@pytest.mark.parametrize("pattern, dropout_seed", PATTERN_CASES)
@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("switch", ["config", "compile"])
def test_fused_and_unfused_agree(pattern, kind, training, dropout_seed, switch, rng, monkeypatch,
                                 fusion_switch):
    calls = _spy_on_fused_op(monkeypatch)
    model = _model(pattern, kind, dropout_seed)
    assert [s.pattern.name for s in _planned(model)] == [pattern]
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    y, grads, draws = _step(model, x, training, dropout_seed)
    dropped = pattern.endswith("dropout") and training
    assert calls == [0.5 if dropped else 0]
    if switch == "config":
        fusion_switch(False)
    else:
        model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    y0, grads0, draws0 = _step(model, x, training, dropout_seed)
    assert len(calls) == 1  # off: the layers ran one by one
    assert draws == draws0  # the generators advanced alike
    assert close(y, y0)
    for g, g0 in zip(grads, grads0):
        assert close(g, g0, 1e-4)
    if dropped:  # the dropout did drop
        assert not np.allclose(y, model(x, training=False).numpy())


def _planned(model):
    steps = model._fused_steps().values()
    return [s[0] if isinstance(s, tuple) else s for s in steps]


# --- what is never fused ------------------------------------------------------------------

class DoubledConv(layers.Conv2D):
    """A user's Conv2D whose call doubles the output."""
    calls = 0

    def call(self, inputs):
        DoubledConv.calls += 1
        return super().call(inputs) * 2.0


class PassThroughPool(layers.MaxPooling2D):
    def call(self, inputs):
        return super().call(inputs) + 1.0


class ScaledDropout(layers.Dropout):
    def call(self, inputs, training=None):
        return super().call(inputs, training=training) * 3.0


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_a_conv_subclass_overriding_call_runs_its_call(kind, rng, monkeypatch):
    calls = _spy_on_fused_op(monkeypatch)
    shendu.utils.set_random_seed(3)
    conv, pool = DoubledConv(4, 3, activation="relu"), layers.MaxPooling2D(2)
    if kind == "sequential":
        model = shendu.Sequential([shendu.Input((12, 12, 2)), conv, pool])
    else:
        inp = shendu.Input((12, 12, 2))
        model = shendu.Model(inp, pool(conv(inp)))
    assert _planned(model) == []
    x = rng.standard_normal((2, 12, 12, 2)).astype(np.float32)
    before = DoubledConv.calls
    y = model(x).numpy()
    assert DoubledConv.calls == before + 1 and calls == []
    plain = layers.Conv2D(4, 3, activation="relu")
    plain.build(x.shape)
    plain.set_weights(conv.get_weights())
    want = ops.max_pool(plain(x), 2).numpy() * 2.0  # relu(z) * 2, pooled: the user's call
    assert close(y, want)


def test_other_overrides_and_instance_hooks_are_never_fused(rng, monkeypatch):
    """A pool or dropout subclass that overrides call, and a layer whose call was replaced
    on the instance, run their own code."""
    calls = _spy_on_fused_op(monkeypatch)
    x = rng.standard_normal((2, 12, 12, 2)).astype(np.float32)
    model = shendu.Sequential([shendu.Input((12, 12, 2)), layers.Conv2D(4, 3, activation="relu"),
                               PassThroughPool(2)])
    assert _planned(model) == []
    assert (model(x).numpy() >= 1.0).all() and calls == []  # the pool's +1 ran
    # a Dropout subclass: the conv and pool still fuse, the dropout runs itself
    model = shendu.Sequential([shendu.Input((12, 12, 2)), layers.Conv2D(4, 3, activation="relu"),
                               layers.MaxPooling2D(2), ScaledDropout(0.5)])
    assert [len(s.layers) for s in _planned(model)] == [2]
    shendu.utils.set_random_seed(5)
    y = model(x, training=True).numpy()
    assert calls == [0]  # the op ran without the dropout
    shendu.utils.set_random_seed(5)
    with_layers = x
    for layer in model.layers:
        with_layers = layer(with_layers, training=True)
    assert close(y, with_layers.numpy()) and (y == 0).any()  # ScaledDropout's call ran
    # a hook put on one instance: its call is replaced, so that layer is not fused
    conv = layers.Conv2D(4, 3, activation="relu")
    seen = []
    real_call = conv.call
    conv.call = lambda inputs: seen.append(1) or real_call(inputs)
    model = shendu.Sequential([shendu.Input((12, 12, 2)), conv, layers.MaxPooling2D(2)])
    assert _planned(model) == []
    model(x)
    assert seen == [1] and calls == [0]


@pytest.mark.parametrize("conv_kw, pool_kw, drop_kw", [
    (dict(activation="tanh"), {}, None), ({}, dict(padding="same"), None),
    (dict(use_bias=False), {}, None), (dict(groups=2), {}, None),
    (dict(activity_regularizer="l2"), {}, None),
    ({}, {}, dict(noise_shape=(None, 1, 1, None))), ({}, {}, dict(rate=0.0))])
def test_what_the_table_does_not_match(conv_kw, pool_kw, drop_kw):
    conv_kw = {"activation": "relu", **conv_kw}
    run = [layers.Conv2D(4, 3, **conv_kw), layers.MaxPooling2D(2, **pool_kw)]
    if drop_kw is not None:
        run.append(layers.Dropout(**{"rate": 0.5, **drop_kw}))
    planned = fusion.plan_sequential(run)
    want = [2] if drop_kw is not None else []  # a dropout that cannot fuse: conv + pool only
    assert [len(s.layers) for s in planned.values()] == want


@pytest.mark.parametrize("shape, fused", [("pool", True), ("output", False), ("branch", False)])
def test_functional_fuses_a_conv_read_only_by_its_pool(shape, fused, rng, monkeypatch,
                                                       fusion_switch):
    calls = _spy_on_fused_op(monkeypatch)
    shendu.utils.set_random_seed(3)
    inp = shendu.Input((12, 12, 2))
    a = layers.Conv2D(4, 3, activation="relu")(inp)
    p = layers.MaxPooling2D(2)(a)
    y = layers.Dense(3)(layers.Flatten()(p))
    if shape == "output":
        model = shendu.Model(inp, [y, a])
    else:
        if shape == "branch":
            y = layers.Concatenate()([y, layers.Dense(3)(layers.GlobalMaxPooling2D()(a))])
        model = shendu.Model(inp, y)
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    got = model(x)
    assert bool(calls) == fused
    fusion_switch(False)
    want = model(x)
    as_list = lambda out: out if isinstance(out, list) else [out]  # noqa: E731
    for g, e in zip(as_list(got), as_list(want)):
        assert close(g.numpy(), e.numpy())


@pytest.mark.parametrize("read_twice", [False, True])
def test_functional_fuses_the_dropout_only_when_it_alone_reads_the_pool(read_twice, rng,
                                                                       monkeypatch):
    calls = _spy_on_fused_op(monkeypatch)
    shendu.utils.set_random_seed(3)
    inp = shendu.Input((12, 12, 2))
    p = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="relu")(inp))
    y = layers.Dense(3)(layers.Flatten()(layers.Dropout(0.5)(p)))
    if read_twice:  # the pool's output also read elsewhere: the Dropout layer runs itself
        y = layers.Concatenate()([y, layers.Dense(3)(layers.Flatten()(p))])
    model = shendu.Model(inp, y)
    model(rng.standard_normal((3, 12, 12, 2)).astype(np.float32), training=True)
    assert calls == [0 if read_twice else 0.5]


def test_fused_layers_still_check_shapes():
    model = shendu.Sequential([layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(4)])
    with pytest.raises(ValueError, match="max_pooling2d|MaxPooling2D|pool"):
        model(np.zeros((1, 5, 5, 1), np.float32))  # 3x3 activation, 4x4 pool


def test_a_masked_input_runs_the_layers(rng, monkeypatch):
    """The fused op carries no Keras mask: with one on its input, the layers run."""
    calls = _spy_on_fused_op(monkeypatch)
    model = _model("conv_relu_max_pool", "sequential")
    x = shendu.Tensor(rng.standard_normal((2, 12, 12, 2)).astype(np.float32))
    x._keras_mask = np.ones((2, 12, 12), bool)
    model(x)
    assert calls == []


# --- the plan: once, and again when the switches or the layers change -----------------------

def test_the_plan_is_made_once_and_again_when_things_change(rng, monkeypatch, fusion_switch):
    made = []
    real = fusion.plan_sequential
    monkeypatch.setattr(fusion, "plan_sequential", lambda ls: made.append(1) or real(ls))
    model = _model("conv_relu_max_pool", "sequential")
    x = rng.standard_normal((2, 12, 12, 2)).astype(np.float32)
    for _ in range(3):
        model(x)
    assert len(made) == 1
    fusion_switch(False)
    model(x)
    fusion_switch(True)
    model(x)
    assert len(made) == 2  # off needs no plan; on again plans again
    model.add(layers.Dense(2))
    model(x)
    assert len(made) == 3
    model.compile(optimizer="sgd", loss="mse")
    model(x)
    model(x)
    assert len(made) == 4


def test_compile_arguments(rng):
    model = _model("conv_relu_max_pool", "sequential")
    assert model.jit_compile is True and _planned(model)  # before compile: on
    model.compile(optimizer="sgd", loss="mse")
    assert model.jit_compile is True and model.run_eagerly is False
    assert model.steps_per_execution == 1 and _planned(model)
    with pytest.warns(UserWarning, match="run_eagerly"):
        model.compile(optimizer="sgd", loss="mse", run_eagerly=True, jit_compile=True)
    assert model.jit_compile is False and _planned(model) == []
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)  # 'auto': off, silently
    assert model.jit_compile is False and model.run_eagerly is True
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=np.int64(4))
    assert model.steps_per_execution == 4 and model.jit_compile is True
    for bad in ({"jit_compile": "xla"}, {"steps_per_execution": 0},
                {"steps_per_execution": "2"}, {"steps_per_execution": True}):
        with pytest.raises(ValueError, match="Received: " + next(iter(bad))):
            model.compile(optimizer="sgd", loss="mse", **bad)
    # fit runs with every setting
    x, y = rng.standard_normal((4, 12, 12, 2)).astype(np.float32), np.zeros((4, 3), np.float32)
    for kw in ({"jit_compile": False}, {"steps_per_execution": 2}):
        model.compile(optimizer="sgd", loss="mse", **kw)
        assert np.isfinite(model.fit(x, y, batch_size=2, verbose=0).history["loss"][0])


def test_the_patterns_describe_themselves():
    for p in fusion.PATTERNS:
        assert p.name and p.description and len(p.matches) >= 2 and callable(p.run)
    assert len({p.name for p in fusion.PATTERNS}) == len(fusion.PATTERNS)
