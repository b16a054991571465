"""Adafactor: Adam-like steps with a factored second moment (Shazeer & Stern, 2018)."""
import numpy as np

from .optimizer import Optimizer


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


class Adafactor(Optimizer):
    """Adafactor, Keras's formulation; step ``t`` counts from 1::

        rho = min(lr, 1 / sqrt(t));   alpha = max(epsilon_2, rms(w)) * rho
        beta_2t = 1 - t^beta_2_decay;  G = g^2 + epsilon_1
        rank >= 2:  r <- beta_2t r + (1 - beta_2t) mean(G, axis=-1)     (row statistics)
                    c <- beta_2t c + (1 - beta_2t) mean(G, axis=-2)     (column statistics)
                    v = (r / mean(r, -1))[..., None] * c[..., None, :]
        rank < 2:   v <- beta_2t v + (1 - beta_2t) G
        u = g / sqrt(v);  w <- w - alpha * u / max(1, rms(u) / clip_threshold)

    A (rows, cols) kernel keeps rows + cols second-moment numbers instead of rows * cols.

    Args:
        learning_rate (0.001), beta_2_decay (-0.8), epsilon_1 (1e-30, added to g^2),
        epsilon_2 (1e-3, the least step scale), clip_threshold (1.0), relative_step (True:
        a float learning rate is capped by 1 / sqrt(t)), and the base ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._r, self._c, self._v = [], [], []
        for i, var in enumerate(variables):
            shape = tuple(var.shape)
            if len(shape) >= 2:
                self._r.append(self.add_variable(shape[:-1], dtype=var.dtype, name=f"{i}/r"))
                self._c.append(self.add_variable(shape[:-2] + shape[-1:], dtype=var.dtype,
                                                 name=f"{i}/c"))
            else:
                self._r.append(None)
                self._c.append(None)
            self._v.append(self.add_variable_from_reference(var, "velocity"))

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, v = variable.data, self._v[i]
        t = int(self._iterations.data) + 1
        lr = learning_rate
        if self.relative_step and not callable(self._learning_rate):
            lr = min(lr, 1.0 / np.sqrt(t))
        rho = min(lr, 1.0 / np.sqrt(t))
        alpha = max(self.epsilon_2, _rms(w)) * rho
        g2 = np.square(gradient) + self.epsilon_1
        beta = 1.0 - t ** self.beta_2_decay
        if w.ndim >= 2:
            r, c = self._r[i], self._c[i]
            r[...] = beta * r + (1 - beta) * g2.mean(axis=-1)
            c[...] = beta * c + (1 - beta) * g2.mean(axis=-2)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v[...] = beta * v + (1 - beta) * g2
        u = gradient / np.sqrt(v)
        u /= max(1.0, _rms(u) / self.clip_threshold)
        w -= (alpha * u).astype(w.dtype, copy=False)

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
