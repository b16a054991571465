"""Stochastic gradient descent, with optional (Nesterov) momentum."""
import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent with momentum (Keras's formulation).

    Without momentum: ``w <- w - lr * g``.

    With momentum ``mu`` (velocity ``m``, starting at 0)::

        m <- mu * m - lr * g
        w <- w + m                      (nesterov=False)
        w <- w + mu * m - lr * g        (nesterov=True)

    For a constant learning rate this equals PyTorch's ``SGD(momentum=mu,
    dampening=0)``, whose buffer is ``-m / lr``.

    Args:
        learning_rate: defaults to 0.01.
        momentum: a float in [0, 1]; 0 turns momentum off.
        nesterov: use Nesterov momentum.
        **kwargs: the base ``Optimizer`` arguments (weight_decay, clipnorm, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or \
                not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. "
                             f"Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = []
        if self.momentum != 0:
            self._momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        w, g = variable.data, gradient
        g *= learning_rate
        if self.momentum == 0:
            w -= g
            return
        m = self._momentums[self._get_variable_index(variable)]
        m *= self.momentum
        m -= g
        if self.nesterov:
            w -= g
            np.multiply(m, self.momentum, out=g)
            w += g
        else:
            w += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
