"""RMSprop: divide the gradient by a running root-mean-square of past gradients."""
import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), Keras's formulation.

    ::

        v <- rho * v + (1 - rho) * g^2
        a <- rho * a + (1 - rho) * g            (centered only)
        d  = sqrt(v - a^2 + eps) if centered else sqrt(v + eps)
        u  = lr * g / d
        m <- momentum * m + u;  w <- w - m      (momentum > 0)
        w <- w - u                              (momentum = 0)

    Unlike PyTorch (``sqrt(v) + eps``), epsilon sits inside the square root.

    Args:
        learning_rate: defaults to 0.001.
        rho: decay of the running average of squared gradients.
        momentum: heavy-ball momentum on the scaled update.
        epsilon: added to the mean square before the square root.
        centered: divide by an estimate of the variance instead of the second moment.
        **kwargs: the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        names = ["velocity"]
        if self.momentum > 0:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        slots = dict(zip(names, self.add_optimizer_variables(variables, names)))
        self._velocities = slots["velocity"]
        self._momentums = slots.get("momentum", [])
        self._average_gradients = slots.get("average_gradient", [])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, rho = variable.data, gradient, self.rho
        v = self._velocities[i]
        sq = np.square(g)
        # rho * v + (1 - rho) * s computed in place as (v - s) * rho + s.
        v -= sq
        v *= rho
        v += sq
        if self.centered:
            a = self._average_gradients[i]
            a -= g
            a *= rho
            a += g
            np.square(a, out=sq)
            np.subtract(v, sq, out=sq)
            sq += self.epsilon
        else:
            np.add(v, self.epsilon, out=sq)
        np.sqrt(sq, out=sq)
        g *= learning_rate
        g /= sq
        if self.momentum > 0:
            m = self._momentums[i]
            m *= self.momentum
            m += g
            w -= m
        else:
            w -= g

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
