"""The Adam family: Adam, AdamW, Adamax and Nadam (first and second moment estimates)."""
import numpy as np

from .. import kernels
from ..kernels import kernel
from .optimizer import Optimizer


def _moving_average(avg, x, decay):
    """``avg <- decay * avg + (1 - decay) * x`` in place, as ``(avg - x) * decay + x``."""
    avg -= x
    avg *= decay
    avg += x


@kernels.reference("adam_update")
def adam_update(w, g, m, v, beta_1, beta_2, alpha, epsilon):
    """One Adam step in place: m, v moving averages of g and g^2, then
    w <- w - alpha * m / (sqrt(v) + epsilon). g is used as scratch space."""
    _moving_average(m, g, beta_1)
    np.square(g, out=g)
    _moving_average(v, g, beta_2)
    np.sqrt(v, out=g)
    g += epsilon
    np.divide(m, g, out=g)
    g *= alpha
    w -= g


class _MomentOptimizer(Optimizer):
    """The Adam family's shared hyper-parameters: ``beta_1``, ``beta_2`` and ``epsilon``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Adam(_MomentOptimizer):
    """Adam (Kingma & Ba, 2014), Keras's formulation; step ``t`` counts from 1.

    ::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        v_max <- max(v_max, v);  v <- v_max              (amsgrad only)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + eps)

    Epsilon is added to ``sqrt(v)`` before bias correction; PyTorch adds it after
    (``sqrt(v / (1 - beta_2^t)) + eps``), so the two agree only as eps -> 0.

    Args:
        learning_rate: defaults to 0.001.
        beta_1, beta_2: decay rates of the first and second moment estimates.
        epsilon: keeps the denominator away from zero.
        amsgrad: use the running maximum of ``v`` (Reddi et al., 2018).
        **kwargs: the base ``Optimizer`` arguments; ``weight_decay`` is decoupled
            (as in AdamW).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = amsgrad

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        names = ["momentum", "velocity"] + (["velocity_hat"] if self.amsgrad else [])
        slots = self.add_optimizer_variables(variables, names)
        self._momentums, self._velocities = slots[0], slots[1]
        self._velocity_hats = slots[2] if self.amsgrad else []

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g = variable.data, gradient
        t = int(self._iterations.data) + 1
        alpha = learning_rate * (1.0 - self.beta_2 ** t) ** 0.5 / (1.0 - self.beta_1 ** t)
        m, v = self._momentums[i], self._velocities[i]
        if not self.amsgrad:  # one pass over each parameter (the kernel ``adam_update``)
            kernel("adam_update")(w, g, m, v, self.beta_1, self.beta_2, alpha, self.epsilon)
            return
        _moving_average(m, g, self.beta_1)
        np.square(g, out=g)
        _moving_average(v, g, self.beta_2)
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=g)
        g += self.epsilon
        np.divide(m, g, out=g)
        g *= alpha
        w -= g

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before each Adam step: ``w <- w - lr * weight_decay * w``. The same as
    ``Adam(weight_decay=...)``, with a default of 0.004 and the decay required.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")


class Adamax(_MomentOptimizer):
    """Adamax: Adam with the infinity norm (Kingma & Ba, 2014, section 7).

    ::

        m <- beta_1 * m + (1 - beta_1) * g
        u <- max(beta_2 * u, |g|)
        w <- w - lr * m / ((1 - beta_1^t) * (u + eps))

    PyTorch adds eps inside the max (``max(beta_2 * u, |g| + eps)``) instead.
    """

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m, self._u = self.add_optimizer_variables(variables, ["momentum", "norm"])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g = variable.data, gradient
        t = int(self._iterations.data) + 1
        m, u = self._m[i], self._u[i]
        _moving_average(m, g, self.beta_1)
        u *= self.beta_2
        np.abs(g, out=g)
        np.maximum(u, g, out=u)
        np.add(u, self.epsilon, out=g)
        g *= 1.0 - self.beta_1 ** t
        np.divide(m, g, out=g)
        g *= learning_rate
        w -= g


class Nadam(_MomentOptimizer):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), Keras's formulation.

    With the momentum schedule ``mu_t = beta_1 * (1 - 0.5 * 0.96^t)`` and its running
    product ``P_t = mu_1 * ... * mu_t`` (optimizer-wide state ``u_product``)::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        m_hat = mu_{t+1} * m / (1 - P_t * mu_{t+1}) + (1 - mu_t) * g / (1 - P_t)
        v_hat = v / (1 - beta_2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    This is PyTorch's ``NAdam`` with ``momentum_decay=1`` (PyTorch's schedule is
    ``0.96^(t * momentum_decay)`` with a default of 0.004).
    """

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"])
        # float64 whatever the variables' dtype (Keras uses the first variable's): it
        # is a scalar, and a product of hundreds of factors loses digits in float32.
        self._u_product = self.add_variable((), initializer=1.0, name="u_product")

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _update_step_all(self, grads, variables, learning_rate):
        self._u_product *= self._mu(int(self._iterations.data) + 1)
        super()._update_step_all(grads, variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g = variable.data, gradient
        t = int(self._iterations.data) + 1
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        product = float(self._u_product)
        m, v = self._momentums[i], self._velocities[i]
        _moving_average(m, g, self.beta_1)
        scratch = np.square(g)
        _moving_average(v, scratch, self.beta_2)
        g *= (1.0 - mu_t) / (1.0 - product)
        np.multiply(m, mu_next / (1.0 - product * mu_next), out=scratch)
        g += scratch                       # g now holds m_hat
        np.divide(v, 1.0 - self.beta_2 ** t, out=scratch)
        np.sqrt(scratch, out=scratch)
        scratch += self.epsilon
        g /= scratch
        g *= learning_rate
        w -= g
