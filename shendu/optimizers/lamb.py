"""LAMB: Adam's step rescaled per layer by a trust ratio (You et al., 2020)."""
import numpy as np

from .adam import _MomentOptimizer, _moving_average


class Lamb(_MomentOptimizer):
    """LAMB, Keras's formulation; step ``t`` counts from 1::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + eps)
        r = ||w|| / ||u||   (1 where either norm is 0)
        w <- w - lr * r * u

    The norms are over each whole variable (one trust ratio per layer weight).

    Args:
        learning_rate (0.001), beta_1 (0.9), beta_2 (0.999), epsilon (1e-7), and the base
        ``Optimizer`` arguments.
    """

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        m, v, w = self._momentums[i], self._velocities[i], variable.data
        t = int(self._iterations.data) + 1
        _moving_average(m, gradient, self.beta_1)
        _moving_average(v, np.square(gradient), self.beta_2)
        update = (m / (1.0 - self.beta_1 ** t)) / (np.sqrt(v / (1.0 - self.beta_2 ** t))
                                                  + self.epsilon)
        w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        update *= ratio * learning_rate
        w -= update.astype(w.dtype, copy=False)
