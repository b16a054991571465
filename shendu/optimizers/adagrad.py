"""Adagrad and Adadelta: per-coordinate rates from accumulated squared gradients."""
import numpy as np

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), Keras's formulation.

    ::

        acc <- acc + g^2                 (acc starts at initial_accumulator_value)
        w   <- w - lr * g / sqrt(acc + eps)

    Unlike PyTorch (``sqrt(acc) + eps``, accumulator starting at 0), epsilon sits
    inside the square root and the accumulator starts at 0.1.

    Args:
        learning_rate: defaults to 0.001.
        initial_accumulator_value: starting value of the accumulators (>= 0).
        epsilon: added to the accumulator before the square root.
        **kwargs: the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        acc = self._accumulators[self._get_variable_index(variable)]
        w, g = variable.data, gradient
        scratch = np.square(g)
        acc += scratch
        np.add(acc, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        g *= learning_rate
        g /= scratch
        w -= g

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), Keras's formulation (the same as PyTorch's).

    ::

        Eg  <- rho * Eg + (1 - rho) * g^2
        d    = sqrt(Edx + eps) / sqrt(Eg + eps) * g
        Edx <- rho * Edx + (1 - rho) * d^2
        w   <- w - lr * d

    Args:
        learning_rate: defaults to 0.001 (the paper and PyTorch use 1.0).
        rho: decay of both running averages.
        epsilon: keeps the square roots away from zero; it also sets the size of the
            first steps, since ``Edx`` starts at 0.
        **kwargs: the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            variables, ["accumulated_grad", "accumulated_delta_var"])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        eg, edx = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        w, g, rho, eps = variable.data, gradient, self.rho, self.epsilon
        scratch = np.square(g)
        eg -= scratch
        eg *= rho
        eg += scratch
        np.add(edx, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        g *= scratch
        np.add(eg, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        g /= scratch                       # g now holds d
        np.square(g, out=scratch)
        edx -= scratch
        edx *= rho
        edx += scratch
        g *= learning_rate
        w -= g

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
