"""Lion: the sign of an interpolated momentum (Chen et al., 2023)."""
import numpy as np

from .optimizer import Optimizer


class Lion(Optimizer):
    """Lion ("EvoLved Sign Momentum"), Keras's formulation::

        c <- beta_1 * m + (1 - beta_1) * g
        w <- w - lr * sign(c)
        m <- beta_2 * m + (1 - beta_2) * g

    Every coordinate moves by exactly ``lr`` (or 0), so Lion wants a learning rate
    3-10x smaller than Adam's.

    Args:
        learning_rate: 0.001.
        beta_1: in (0, 1], weight of the momentum in the update direction (0.9).
        beta_2: decay of the momentum (0.99).
        **kwargs: the base ``Optimizer`` arguments (weight_decay, clipnorm, ...).

    Example:
        >>> import numpy as np, shendu
        >>> w = shendu.Variable(np.array([1.0, 1.0]))
        >>> shendu.optimizers.Lion(learning_rate=0.1).apply([np.array([3.0, -0.5])], [w])
        >>> w.numpy()
        array([0.9, 1.1])
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: `beta_1` must be in the (0, 1] range (at 0 Lion degenerates "
                             f"to SignSGD). Received: beta_1={beta_1}")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        m = self._momentums[self._get_variable_index(variable)]
        direction = np.sign(m * self.beta_1 + gradient * (1.0 - self.beta_1))
        direction *= learning_rate
        variable.data -= direction.astype(variable.data.dtype, copy=False)
        m *= self.beta_2
        m += (1.0 - self.beta_2) * gradient

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
