"""Schedule-free AdamW (Defazio et al., 2024): no learning-rate schedule needed."""
import numpy as np

from .optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW, Keras's formulation. The variable holds y, the point where
    gradients are taken; the slot 'momentum' holds z (starting at the initial weights);
    x, the average that is evaluated, is recovered from y and z. Step t counts from 1::

        lr_t = lr * min(t / warmup_steps, 1)                 (warmup_steps > 0)
        v <- beta_2 v + (1 - beta_2) g^2
        z' = z - lr_t g / (sqrt(v / (1 - beta_2^t)) + eps)
        x  = (y - (1 - beta_1) z) / beta_1                    (with the old z)
        x' = (1 - 1/t) x + (1/t) z'
        y <- (1 - beta_1) z' + beta_1 x';   z <- z'

    Args:
        learning_rate (0.0025), beta_1 (0.9), beta_2 (0.999), epsilon (1e-8),
        warmup_steps (0), and the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"ScheduleFreeAdamW: `beta_1` must be in (0, 1] (x is recovered "
                             f"by dividing by it). Received: beta_1={beta_1}")
        if warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW: `warmup_steps` must be >= 0. "
                             f"Received: warmup_steps={warmup_steps}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.warmup_steps = warmup_steps

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"])
        for z, var in zip(self._momentums, variables):
            z[...] = var.data  # z starts at the initial weights

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        z, v, y = self._momentums[i], self._velocities[i], variable.data
        t = int(self._iterations.data) + 1
        lr = learning_rate
        if self.warmup_steps > 0:
            lr *= min(t / self.warmup_steps, 1.0)
        b1, b2 = self.beta_1, self.beta_2
        v += (np.square(gradient) - v) * (1 - b2)
        z_old = z.copy()
        z -= lr * gradient / (np.sqrt(v / (1 - b2 ** t)) + self.epsilon)
        x = (y - (1 - b1) * z_old) / b1
        x = (1 - 1.0 / t) * x + (1.0 / t) * z
        y[...] = (1 - b1) * z + b1 * x

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}
