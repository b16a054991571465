"""FTRL-Proximal (McMahan et al., 2013), with Keras's shrinkage and beta terms."""
import numpy as np

from .optimizer import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader, Keras's formulation (p = -learning_rate_power)::

        n' = n + g^2
        z <- z + (g + 2 l2_shrinkage w) - (n'^p - n^p) / lr * w
        q = n'^p / lr + 2 (l2 + beta / (2 lr))
        w <- (clip(z, -l1, l1) - z) / q          (0 wherever |z| <= l1: sparsity)
        n <- n'

    Args:
        learning_rate: 0.001.
        learning_rate_power: <= 0 (-0.5).
        initial_accumulator_value: >= 0, the start of n (0.1).
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength: >= 0 (0.0).
        beta: 0.0 (Keras's extra L2 term, beta / (2 lr)).
        **kwargs: the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if learning_rate_power > 0:
            raise ValueError(f"Ftrl: `learning_rate_power` must be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}")
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: `{arg}` must be positive or zero. Received: {arg}={value}")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        variables = list(variables)
        self._accumulators, self._linears = [], []
        for v in variables:  # Keras's slot order: accumulator then linear, variable by variable
            self._accumulators.append(self.add_variable_from_reference(
                v, "accumulator", self.initial_accumulator_value))
            self._linears.append(self.add_variable_from_reference(v, "linear"))

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        n, z, w = self._accumulators[i], self._linears[i], variable.data
        p = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        new_n = n + np.square(gradient)
        z += gradient + 2 * self.l2_shrinkage_regularization_strength * w \
            - (new_n ** p - n ** p) / learning_rate * w
        quadratic = new_n ** p / learning_rate + 2 * l2
        w[...] = (np.clip(z, -l1, l1) - z) / quadratic
        n[...] = new_n

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
