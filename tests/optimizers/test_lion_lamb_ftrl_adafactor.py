"""Lion, Lamb, Ftrl, Adafactor, ScheduleFreeAdamW and Muon: step by step against real Keras on the same weights and
gradients, plus configs, state round trips, names and argument errors."""
import numpy as np
import pytest

import shendu
from shendu import optimizers

SHAPES = [(3, 4), (5,), (2, 3, 2), (6, 2)]  # Muon: 2-D ones wide and tall, AdamW the rest
STEPS = 12

CASES = [
    ("Lion", {}), ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("Lion", {"weight_decay": 0.1}),
    ("Lamb", {}), ("Lamb", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-5}),
    ("Ftrl", {}), ("Ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
                            "l2_regularization_strength": 0.02, "beta": 0.1}),
    ("Ftrl", {"learning_rate_power": -0.3, "l2_shrinkage_regularization_strength": 0.05,
              "initial_accumulator_value": 0.5}),
    ("Adafactor", {}), ("Adafactor", {"learning_rate": 0.1, "relative_step": False,
                                      "clip_threshold": 0.5}),
    ("Adafactor", {"learning_rate": 0.01, "beta_2_decay": -0.5, "epsilon_2": 1e-2}),
    ("ScheduleFreeAdamW", {}), ("ScheduleFreeAdamW", {"learning_rate": 0.01, "warmup_steps": 5,
                                                      "beta_1": 0.8, "weight_decay": 0.01}),
    ("Muon", {}), ("Muon", {"learning_rate": 0.01, "nesterov": False, "rms_rate": None,
                            "ns_steps": 3, "adam_lr_ratio": 0.5, "exclude_layers": ["w3"]}),
]


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    grads = [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


@pytest.mark.parametrize("name, kw", CASES)
def test_steps_match_keras(name, kw):
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    w0, grads = _problem()
    ours = getattr(optimizers, name)(**kw)
    ref = getattr(keras.optimizers, name)(**kw)
    ws = [shendu.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(w0)]
    kws = [keras.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(w0)]
    for step, gs in enumerate(grads):
        ours.apply([g.copy() for g in gs], ws)
        ref.apply(gs, kws)
        for a, b in zip(ws, kws):
            b = np.asarray(b)
            assert a.data.dtype == np.float32
            assert np.linalg.norm(a.data - b) <= 2e-6 * max(np.linalg.norm(b), 1.0), (name, step)
    assert int(ours.iterations) == STEPS
    cfg = ours.get_config()
    for key, value in ref.get_config().items():
        if key in kw or key in ("beta_1", "beta_2", "epsilon", "learning_rate_power", "beta",
                                "initial_accumulator_value", "beta_2_decay", "epsilon_1",
                                "epsilon_2", "clip_threshold", "relative_step",
                                "warmup_steps", "momentum", "ns_steps", "rms_rate",
                                "adam_weight_decay", "exclude_layers"):
            assert cfg[key] == pytest.approx(value), (name, key)


@pytest.mark.parametrize("name, kw", CASES[::2])
def test_config_and_state_round_trip(name, kw):
    w0, grads = _problem(1)
    opt = getattr(optimizers, name)(**kw)
    ws = [shendu.Variable(w.copy()) for w in w0]
    for gs in grads[:3]:
        opt.apply([g.copy() for g in gs], ws)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert type(clone) is type(opt) and clone.get_config() == opt.get_config()
    ws2 = [shendu.Variable(w.data.copy()) for w in ws]
    clone.build(ws2)
    clone.set_state(opt.get_state())
    opt.apply([g.copy() for g in grads[3]], ws)
    clone.apply([g.copy() for g in grads[3]], ws2)
    for a, b in zip(ws, ws2):
        np.testing.assert_array_equal(a.data, b.data)
    assert optimizers.get(name.lower()).__class__ is type(opt)


def test_lion_moves_every_coordinate_by_the_learning_rate():
    w = shendu.Variable(np.zeros(4))
    optimizers.Lion(learning_rate=0.25).apply([np.array([1e-8, -3.0, 5.0, -1e-9])], [w])
    np.testing.assert_array_equal(w.data, [-0.25, 0.25, -0.25, 0.25])


def test_ftrl_l1_gives_exact_zeros():
    w = shendu.Variable(np.array([0.5, -0.5, 0.5]))
    opt = optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=10.0)
    opt.apply([np.array([0.1, -0.1, 0.2])], [w])
    np.testing.assert_array_equal(w.data, 0.0)


def test_adafactor_keeps_factored_state():
    opt = optimizers.Adafactor()
    opt.build([shendu.Variable(np.zeros((30, 20))), shendu.Variable(np.zeros(7))])
    shapes = {k: v.shape for k, v in opt.get_state().items()}
    assert shapes["0/r"] == (30,) and shapes["0/c"] == (20,) and "1/r" not in shapes


@pytest.mark.parametrize("cls, kw, match", [
    (optimizers.Lion, {"beta_1": 0.0}, r"Lion.*Received: beta_1=0.0"),
    (optimizers.Ftrl, {"learning_rate_power": 0.5}, r"Ftrl.*Received: learning_rate_power=0.5"),
    (optimizers.Ftrl, {"l1_regularization_strength": -1},
     r"Ftrl.*Received: l1_regularization_strength=-1"),
    (optimizers.ScheduleFreeAdamW, {"warmup_steps": -1}, r"Received: warmup_steps=-1"),
    (optimizers.Ftrl, {"initial_accumulator_value": -0.1},
     r"Ftrl.*Received: initial_accumulator_value=-0.1"),
])
def test_bad_arguments(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_loss_scale_optimizer_is_exported():
    from shendu.mixed_precision import LossScaleOptimizer
    assert optimizers.LossScaleOptimizer is LossScaleOptimizer
