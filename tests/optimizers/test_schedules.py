import math

import numpy as np
import pytest

import shendu
from shendu.optimizers import schedules


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96)
    for step in (0, 1, 50, 100, 1234):
        assert s(step) == pytest.approx(0.1 * 0.96 ** (step / 100), rel=1e-12)
    stair = schedules.ExponentialDecay(0.1, 100, 0.96, staircase=True)
    assert stair(99) == pytest.approx(0.1) and stair(100) == pytest.approx(0.096)
    assert stair(250) == pytest.approx(0.1 * 0.96 ** 2)


def test_piecewise_constant_decay_boundaries_belong_to_the_left_interval():
    s = schedules.PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
    assert [s(x) for x in (0, 100, 101, 110, 111, 10 ** 6)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="increasing"):
        schedules.PiecewiseConstantDecay([2, 1], [1.0, 2.0, 3.0])


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(15) == pytest.approx(0.1 / (1 + 0.5 * 1.5))
    stair = schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True)
    assert stair(15) == pytest.approx(0.1 / 1.5)


def test_polynomial_decay():
    s = schedules.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(36) == pytest.approx(0.09 * math.sqrt(1 - 0.36) + 0.01)
    assert s(100) == pytest.approx(0.01) and s(500) == pytest.approx(0.01)
    cyc = schedules.PolynomialDecay(0.1, 100, 0.01, power=1.0, cycle=True)
    assert cyc(0) == pytest.approx(0.1)
    assert cyc(150) == pytest.approx(0.09 * (1 - 150 / 200) + 0.01)


def test_cosine_decay_without_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    for step in (0, 25, 50, 100):
        expected = 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * step / 100)) + 0.1)
        assert s(step) == pytest.approx(expected, rel=1e-12)
    assert s(1000) == pytest.approx(0.01)


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.0, decay_steps=100, alpha=0.1, warmup_target=0.2,
                              warmup_steps=10)
    assert s(0) == 0.0
    assert s(5) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.2)
    assert s(60) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))
    assert s(110) == pytest.approx(0.02) and s(10 ** 5) == pytest.approx(0.02)
    no_warmup_steps = schedules.CosineDecay(0.05, 100, warmup_target=0.2)
    assert no_warmup_steps(0) == pytest.approx(0.2)


def test_cosine_decay_restarts():
    s = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert s(0) == pytest.approx(1.0)
    assert s(5) == pytest.approx(0.5)
    assert s(10) == pytest.approx(0.5)          # restart: period 1, scaled by m_mul
    assert s(20) == pytest.approx(0.25)         # half way through the 20-step period
    assert s(30) == pytest.approx(0.25)         # next restart
    flat = schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0, alpha=0.2)
    assert flat(15) == pytest.approx(0.8 * 0.5 + 0.2)
    assert flat(20) == pytest.approx(1.0)


def test_steps_as_arrays_and_tensors():
    s = schedules.ExponentialDecay(0.1, 10, 0.5)
    values = s(np.arange(3) * 10)
    np.testing.assert_allclose(values, [0.1, 0.05, 0.025])
    assert s(shendu.Variable(np.array(10, np.int64))) == pytest.approx(0.05)
    assert isinstance(s(3), float)


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([5, 10], [0.3, 0.2, 0.1]),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.PolynomialDecay(0.1, 10, cycle=True),
    schedules.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=3),
    schedules.CosineDecayRestarts(0.1, 7, t_mul=1.5),
], ids=lambda s: type(s).__name__)
def test_config_round_trip(schedule):
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    for step in (0, 3, 11, 40):
        assert again(step) == schedule(step)


def test_errors():
    for cls in (schedules.ExponentialDecay, schedules.InverseTimeDecay):
        with pytest.raises(ValueError, match="decay_steps=0"):
            cls(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "builtins.eval", "config": {}})
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)


def test_custom_schedule_subclass():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2 ** int(step)

    from shendu.optimizers import SGD
    opt = SGD(learning_rate=Halving())
    w = shendu.Variable(np.zeros(1))
    for _ in range(3):
        opt.apply([np.ones(1)], [w])
    np.testing.assert_allclose(w.data, [-1.75])
