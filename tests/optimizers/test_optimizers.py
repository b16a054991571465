import math
import warnings

import numpy as np
import pytest

import shendu
from shendu import optimizers
from shendu.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop,
                               schedules)

SHAPES = [(3, 4), (5,)]
STEPS = 20


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def _run_shendu(opt, w0, grads):
    variables = [shendu.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(w0)]
    for gs in grads:
        opt.apply(gs, variables)
    return [v.data for v in variables]


def _max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


# ---- against PyTorch ------------------------------------------------------------------
# Each case: (shendu optimizer, torch optimizer name, torch kwargs) with hyper-parameters
# mapped so that the two compute the same update. Where the epsilon placement differs
# (Adam/AdamW/Adamax/RMSprop/Adagrad: see the docstrings), both run with a tiny epsilon,
# and the default epsilon is checked against the NumPy references of Keras's formulas
# further down.
TINY = 1e-12
TORCH_CASES = {
    "sgd": (lambda: SGD(0.1), "SGD", dict(lr=0.1)),
    "sgd_momentum": (lambda: SGD(0.1, momentum=0.9), "SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_nesterov": (lambda: SGD(0.1, momentum=0.9, nesterov=True), "SGD",
                     dict(lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (lambda: Adam(0.01, epsilon=TINY), "Adam", dict(lr=0.01, eps=TINY)),
    "adam_betas": (lambda: Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=TINY), "Adam",
                   dict(lr=0.01, betas=(0.8, 0.99), eps=TINY)),
    "adam_amsgrad": (lambda: Adam(0.01, epsilon=TINY, amsgrad=True), "Adam",
                     dict(lr=0.01, eps=TINY, amsgrad=True)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1, epsilon=TINY), "AdamW",
              dict(lr=0.01, weight_decay=0.1, eps=TINY)),
    "adamw_amsgrad": (lambda: AdamW(0.01, weight_decay=0.1, epsilon=TINY, amsgrad=True),
                      "AdamW", dict(lr=0.01, weight_decay=0.1, eps=TINY, amsgrad=True)),
    # Keras's Adam(weight_decay=...) is decoupled, i.e. AdamW.
    "adam_weight_decay": (lambda: Adam(0.01, weight_decay=0.1, epsilon=TINY), "AdamW",
                          dict(lr=0.01, weight_decay=0.1, eps=TINY)),
    "rmsprop": (lambda: RMSprop(0.01, epsilon=TINY), "RMSprop",
                dict(lr=0.01, alpha=0.9, eps=TINY)),
    "rmsprop_momentum": (lambda: RMSprop(0.01, momentum=0.9, epsilon=TINY), "RMSprop",
                         dict(lr=0.01, alpha=0.9, momentum=0.9, eps=TINY)),
    "rmsprop_centered": (lambda: RMSprop(0.01, rho=0.8, momentum=0.5, centered=True,
                                         epsilon=TINY), "RMSprop",
                         dict(lr=0.01, alpha=0.8, momentum=0.5, centered=True, eps=TINY)),
    # Keras's accumulator starts at 0.1 by default, PyTorch's at 0: pass it explicitly.
    "adagrad": (lambda: Adagrad(0.1, epsilon=TINY), "Adagrad",
                dict(lr=0.1, initial_accumulator_value=0.1, eps=TINY)),
    # Adadelta's formula is the same in both, epsilon included.
    "adadelta": (lambda: Adadelta(1.0), "Adadelta", dict(lr=1.0, rho=0.95, eps=1e-7)),
    "adadelta_eps": (lambda: Adadelta(0.5, rho=0.9, epsilon=1e-3), "Adadelta",
                     dict(lr=0.5, rho=0.9, eps=1e-3)),
    "adamax": (lambda: Adamax(0.01, epsilon=TINY), "Adamax", dict(lr=0.01, eps=TINY)),
    # Keras's momentum schedule 0.96**t is PyTorch's 0.96**(t * momentum_decay) with
    # momentum_decay=1; epsilon is placed alike, so the default epsilon maps exactly.
    "nadam": (lambda: Nadam(0.01), "NAdam", dict(lr=0.01, eps=1e-7, momentum_decay=1.0)),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_pytorch(case):
    torch = pytest.importorskip("torch", reason="PyTorch cross-check needs torch")
    make, torch_name, torch_kwargs = TORCH_CASES[case]
    w0, grads = _problem()
    ours = _run_shendu(make(), w0, grads)

    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    opt = getattr(torch.optim, torch_name)(params, **torch_kwargs)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    theirs = [p.detach().numpy() for p in params]
    assert _max_diff(ours, theirs) <= 1e-6
    # The steps must have moved the weights, or the comparison proves nothing.
    assert _max_diff(ours, w0) > 1e-3


# ---- against NumPy transcriptions of Keras's formulas, default epsilon ----------------
def _ref_sgd(w, grads, lr, momentum=0.0, nesterov=False, weight_decay=None):
    m = 0.0
    for g in grads:
        if weight_decay is not None:
            w = w - w * weight_decay * lr
        if momentum:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
        else:
            w = w - lr * g
    return w


def _ref_adam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    m = v = vmax = 0.0
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        if amsgrad:
            vmax = np.maximum(vmax, v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - m * alpha / (np.sqrt(vmax if amsgrad else v) + eps)
    return w


def _ref_rmsprop(w, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    v = a = mom = 0.0
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        if centered:
            a = rho * a + (1 - rho) * g
            inc = lr * g / np.sqrt(v - a * a + eps)
        else:
            inc = lr * g / np.sqrt(v + eps)
        if momentum > 0:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    return w


def _ref_adagrad(w, grads, lr, init=0.1, eps=1e-7):
    acc = np.full_like(w, init)
    for g in grads:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    return w


def _ref_adadelta(w, grads, lr, rho=0.95, eps=1e-7):
    eg = edx = 0.0
    for g in grads:
        eg = rho * eg + (1 - rho) * g * g
        delta = -np.sqrt(edx + eps) * g / np.sqrt(eg + eps)
        edx = rho * edx + (1 - rho) * delta * delta
        w = w + lr * delta
    return w


def _ref_adamax(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m = u = 0.0
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1 ** t) * (u + eps))
    return w


def _ref_nadam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m = v = 0.0
    prod = 1.0
    for t, g in enumerate(grads, start=1):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        prod = prod * u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_next * m / (1 - prod * u_next) + (1 - u_t) * g / (1 - prod)
        v_hat = v / (1 - b2 ** t)
        w = w - m_hat * lr / (np.sqrt(v_hat) + eps)
    return w


REFERENCE_CASES = {
    "sgd": (lambda: SGD(0.1), lambda w, g: _ref_sgd(w, g, 0.1)),
    "sgd_nesterov": (lambda: SGD(0.1, momentum=0.5, nesterov=True),
                     lambda w, g: _ref_sgd(w, g, 0.1, 0.5, True)),
    "sgd_weight_decay": (lambda: SGD(0.1, momentum=0.5, weight_decay=0.3),
                         lambda w, g: _ref_sgd(w, g, 0.1, 0.5, weight_decay=0.3)),
    "adam": (lambda: Adam(0.01), lambda w, g: _ref_adam(w, g, 0.01)),
    "adam_small_grads": (lambda: Adam(0.01), lambda w, g: _ref_adam(w, g, 0.01)),
    "adam_amsgrad": (lambda: Adam(0.01, amsgrad=True),
                     lambda w, g: _ref_adam(w, g, 0.01, amsgrad=True)),
    "rmsprop": (lambda: RMSprop(0.01), lambda w, g: _ref_rmsprop(w, g, 0.01)),
    "rmsprop_centered": (lambda: RMSprop(0.01, momentum=0.5, centered=True),
                         lambda w, g: _ref_rmsprop(w, g, 0.01, momentum=0.5, centered=True)),
    "adagrad": (lambda: Adagrad(0.1), lambda w, g: _ref_adagrad(w, g, 0.1)),
    "adadelta": (lambda: Adadelta(1.0), lambda w, g: _ref_adadelta(w, g, 1.0)),
    "adamax": (lambda: Adamax(0.01), lambda w, g: _ref_adamax(w, g, 0.01)),
    "nadam": (lambda: Nadam(0.01), lambda w, g: _ref_nadam(w, g, 0.01)),
}


@pytest.mark.parametrize("case", sorted(REFERENCE_CASES))
def test_matches_keras_formula(case):
    make, reference = REFERENCE_CASES[case]
    w0, grads = _problem(seed=1)
    if case == "adam_small_grads":
        # Gradients near epsilon, where the placement of epsilon matters.
        grads = [[g * 1e-6 for g in gs] for gs in grads]
    ours = _run_shendu(make(), w0, grads)
    expected = [reference(w, [gs[i] for gs in grads]) for i, w in enumerate(w0)]
    assert _max_diff(ours, expected) <= 1e-12


# ---- clipping, weight decay, None gradients --------------------------------------------
def _one_step(opt, w, g):
    v = [shendu.Variable(np.array(x, dtype=np.float64)) for x in w]
    opt.apply([np.array(x, dtype=np.float64) for x in g], v)
    return [x.data for x in v]


def test_clipnorm_clips_each_gradient_separately():
    out = _one_step(SGD(1.0, clipnorm=1.0), [[0.0, 0.0], [0.0, 0.0]], [[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(out[0], [-0.6, -0.8])
    np.testing.assert_allclose(out[1], [-0.3, -0.4])


def test_global_clipnorm_scales_all_gradients_together():
    out = _one_step(SGD(1.0, global_clipnorm=1.0), [[0.0, 0.0], [0.0]], [[3.0, 0.0], [4.0]])
    np.testing.assert_allclose(out[0], [-0.6, 0.0])
    np.testing.assert_allclose(out[1], [-0.8])
    out = _one_step(SGD(1.0, global_clipnorm=10.0), [[0.0, 0.0], [0.0]], [[3.0, 0.0], [4.0]])
    np.testing.assert_allclose(out[0], [-3.0, 0.0])


def test_global_clipnorm_with_infinite_gradient_gives_nan():
    out = _one_step(SGD(1.0, global_clipnorm=1.0), [[0.0], [0.0]], [[np.inf], [1.0]])
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all()


def test_clipvalue():
    out = _one_step(SGD(1.0, clipvalue=0.5), [[0.0, 0.0, 0.0]], [[2.0, -3.0, 0.25]])
    np.testing.assert_allclose(out[0], [-0.5, 0.5, -0.25])


def test_only_one_clip_argument():
    with pytest.raises(ValueError, match="Only one of"):
        SGD(clipnorm=1.0, clipvalue=1.0)


def test_clipping_leaves_callers_gradient_alone():
    g = np.array([3.0, 4.0])
    w = shendu.Variable(np.zeros(2))
    SGD(1.0, clipnorm=1.0).apply([g], [w])
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_weight_decay_is_decoupled_and_applied_first():
    # w <- w - lr * wd * w, then w <- w - lr * g: 2 - 0.1*0.5*2 - 0.1*1 = 1.8
    out = _one_step(SGD(0.1, weight_decay=0.5), [[2.0]], [[1.0]])
    np.testing.assert_allclose(out[0], [1.8])


def test_exclude_from_weight_decay():
    kernel = shendu.Variable(np.array([2.0]), name="kernel")
    bias = shendu.Variable(np.array([2.0]), name="dense/bias")
    opt = SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([np.zeros(1), np.zeros(1)], [kernel, bias])
    np.testing.assert_allclose(kernel.data, [1.9])
    np.testing.assert_allclose(bias.data, [2.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_constraint_applied_after_update():
    w = shendu.Variable(np.array([0.5, 2.0]))
    w.constraint = lambda v: np.clip(v.data, 0.0, 1.0)
    SGD(1.0).apply([np.array([1.0, -1.0])], [w])
    np.testing.assert_allclose(w.data, [0.0, 1.0])


def test_adamw_requires_weight_decay():
    assert AdamW().weight_decay == 0.004
    with pytest.raises(ValueError, match="weight_decay=None"):
        AdamW(weight_decay=None)


def test_none_gradient_means_no_update():
    a, b = shendu.Variable(np.ones(2), name="a"), shendu.Variable(np.ones(2), name="b")
    opt = Adam(0.1)
    with pytest.warns(UserWarning, match="b"):
        opt.apply([np.ones(2), None], [a, b])
    assert not np.allclose(a.data, 1.0)
    np.testing.assert_array_equal(b.data, 1.0)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None, None], [a, b])


def test_tensor_gradients_and_apply_gradients():
    w = shendu.Variable(np.array([1.0, 1.0]))
    g = shendu.tensor(np.array([1.0, 2.0]), requires_grad=True)
    it = SGD(0.5).apply_gradients([(g, w)])
    np.testing.assert_allclose(w.data, [0.5, 0.0])
    assert int(it) == 1


def test_errors_for_bad_shape_and_arguments():
    # (a variable the optimizer has not seen joins it: tests/models/test_lazy_build.py)
    a = shendu.Variable(np.ones(2))
    opt = SGD()
    opt.apply([np.ones(2)], [a])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        opt.apply([np.ones(3)], [a])
    with pytest.raises(ValueError, match="not recognized"):
        SGD(lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.5)


def test_updates_in_place_without_graph_and_keeps_float32():
    for cls in optimizers.ALL_OBJECTS:
        v = shendu.Variable(np.ones((2, 3), np.float32))
        data = v.data
        opt = cls(weight_decay=0.01) if cls is not AdamW else cls()
        for g in _problem()[1][:3]:
            opt.apply([g[0][:2, :3]], [v])   # float64 gradients
        assert v.data is data, cls.__name__
        assert v.dtype == np.float32 and v.grad is None and v.is_leaf, cls.__name__
        assert not np.allclose(v.data, 1.0), cls.__name__
        for key, arr in opt.get_state().items():
            if "/" in key:
                assert arr.dtype == np.float32, (cls.__name__, key)


# ---- learning rate: schedules and assignment -------------------------------------------
def test_schedule_drives_learning_rate():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    opt = SGD(learning_rate=schedule)
    w = shendu.Variable(np.zeros(1))
    expected = 0.0
    for k in range(25):
        assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** (k / 10), rel=1e-12)
        opt.apply([np.ones(1)], [w])
        expected -= 0.1 * 0.5 ** (k / 10)     # step k uses schedule(k)
    np.testing.assert_allclose(w.data, [expected], rtol=1e-12)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.3


def test_learning_rate_assignment():
    opt = Adam(learning_rate=0.01)
    assert opt.learning_rate == 0.01
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.get_config()["learning_rate"] == 0.5
    w = shendu.Variable(np.zeros(1))
    opt = SGD(0.1)
    opt.apply([np.ones(1)], [w])
    opt.learning_rate = np.float32(0.25)
    assert type(opt.learning_rate) is float
    opt.apply([np.ones(1)], [w])
    np.testing.assert_allclose(w.data, [-0.35])
    opt.learning_rate = schedules.PiecewiseConstantDecay([0], [1.0, 2.0])
    assert opt.learning_rate == 2.0
    opt.learning_rate = lambda: 0.125
    assert opt.learning_rate == 0.125
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(learning_rate="fast")


# ---- state -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", optimizers.ALL_OBJECTS, ids=lambda c: c.__name__)
def test_state_round_trip_reproduces_next_update(cls):
    w0, grads = _problem(seed=2)
    kwargs = dict(learning_rate=0.05)
    if cls is SGD:
        kwargs["momentum"] = 0.9
    if cls is RMSprop:
        kwargs.update(momentum=0.5, centered=True)
    first = cls(**kwargs)
    variables = [shendu.Variable(w.copy()) for w in w0]
    for gs in grads[:5]:
        first.apply(gs, variables)
    state = first.get_state()
    assert list(state)[:2] == ["iterations", "learning_rate"] and int(state["iterations"]) == 5
    snapshot = [v.data.copy() for v in variables]

    second = cls(**kwargs)
    copies = [shendu.Variable(w) for w in snapshot]
    second.build(copies)
    second.set_state(state)
    assert int(second.iterations) == 5
    for k in state:
        state[k][...] = 0                 # get_state returned copies
    first.apply(grads[5], variables)
    second.apply(grads[5], copies)
    for a, b in zip(variables, copies):
        np.testing.assert_array_equal(a.data, b.data)
    assert [x.shape for x in first.variables] == [x.shape for x in second.variables]


def test_set_state_errors():
    opt = Adam()
    with pytest.raises(ValueError, match="not built"):
        opt.set_state({"iterations": np.array(0), "0/momentum": np.zeros(2)})
    w = shendu.Variable(np.zeros(2))
    opt.build([w])
    with pytest.raises(ValueError, match="Missing"):
        opt.set_state({"iterations": np.array(3)})
    state = opt.get_state()
    state["0/velocity"] = np.zeros(3)
    with pytest.raises(ValueError, match="shape"):
        opt.set_state(state)


# ---- PyTorch-style loop ----------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.1),
                                  lambda: RMSprop(0.05, momentum=0.5)],
                         ids=["sgd", "adam", "rmsprop"])
def test_step_and_zero_grad_minimise_a_loss(make):
    w = shendu.Variable(np.zeros(3, np.float32), name="w")
    frozen = shendu.Variable(np.ones(3, np.float32), trainable=False, name="frozen")
    opt = make()
    for _ in range(300):
        loss = ((w - 3.0) ** 2).sum() + (frozen * 0.0).sum()
        loss.backward()
        assert w.grad is not None and frozen.grad is None
        opt.step([w, frozen])
        opt.zero_grad([w, frozen])
        assert w.grad is None
    np.testing.assert_allclose(w.data, 3.0, atol=1e-2)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(frozen.data, 1.0)
    before = int(opt.iterations)
    opt.step()                            # no gradients: nothing happens
    assert int(opt.iterations) == before


# ---- get / serialize ---------------------------------------------------------------------
def test_get_from_names_classes_instances_and_configs():
    assert isinstance(optimizers.get("adam"), Adam)
    assert isinstance(optimizers.get("RMSprop"), RMSprop)
    assert isinstance(optimizers.get("SGD"), SGD)
    assert isinstance(optimizers.get(Nadam), Nadam)
    opt = Adagrad(0.3)
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None
    again = optimizers.get({"class_name": "Adagrad", "config": opt.get_config()})
    assert isinstance(again, Adagrad) and again.learning_rate == pytest.approx(0.3)
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(3)


def test_unknown_names_raise_with_suggestion():
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Did you mean 'rmsprop'"):
        optimizers.get("rms_prop")
    with pytest.raises(ValueError, match="Unknown optimizer: 'os.system'"):
        optimizers.deserialize({"class_name": "os.system", "config": {}})


@pytest.mark.parametrize("cls", optimizers.ALL_OBJECTS, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    opt = cls(learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2,
                                                  warmup_steps=10), clipnorm=2.0)
    data = optimizers.serialize(opt)
    assert data["class_name"] == cls.__name__
    again = optimizers.deserialize(data)
    assert type(again) is cls and again.get_config() == opt.get_config()
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    plain = cls.from_config(cls(learning_rate=0.02).get_config())
    assert plain.learning_rate == 0.02


def test_keras_style_config_loads():
    config = {"module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
              "config": {"name": "adam", "learning_rate": 0.002, "weight_decay": None,
                         "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                         "use_ema": False, "ema_momentum": 0.99,
                         "ema_overwrite_frequency": None, "loss_scale_factor": None,
                         "gradient_accumulation_steps": None, "beta_1": 0.9,
                         "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}
    opt = optimizers.deserialize(config)
    assert isinstance(opt, Adam) and opt.learning_rate == 0.002


def test_loss_scale_factor_divides_gradients():
    out = _one_step(SGD(1.0, loss_scale_factor=4.0), [[0.0]], [[2.0]])
    np.testing.assert_allclose(out[0], [-0.5])


def test_unsupported_keras_features_fail_loudly():
    # use_ema is supported now (tests/callbacks/test_swap_ema_weights.py)
    with pytest.raises(NotImplementedError):
        Adam(gradient_accumulation_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Adam(decay=None)
