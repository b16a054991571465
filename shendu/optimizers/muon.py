"""Muon: momentum orthogonalized by Newton-Schulz iterations (Jordan et al., 2024), with
AdamW for the variables it does not suit, as Keras 3 arranges it."""
import re

import numpy as np

from .optimizer import Optimizer


def _swap_last(x):
    return np.swapaxes(x, -1, -2)


class Muon(Optimizer):
    """Muon for 2-D weights, AdamW for the rest (other ranks, embeddings unless
    ``exclude_embeddings=False``, and paths matching a regex in ``exclude_layers``).

    Muon step (Keras's formulation)::

        m <- momentum m + g;  u = g + momentum m (nesterov) or m
        X = u / (||u||_F + 1e-7), transposed to be wide; ns_steps times:
            A = X X^T;  X <- a X + (b A + c A A) X          (a, b, c = muon_a, muon_b, muon_c)
        w <- w - lr * X * sqrt(max(rows, cols)) * rms_rate   (rms_rate None: no scaling)

    AdamW step (lr * adam_lr_ratio): Keras's Adam with adam_beta_1/2 and epsilon.
    Weight decay: ``weight_decay`` for Muon variables, ``adam_weight_decay`` for the rest.
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, exclude_layers=None,
                 exclude_embeddings=True, muon_a=3.4445, muon_b=-4.775, muon_c=2.0315,
                 adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        if not isinstance(ns_steps, (int, np.integer)) or ns_steps < 0:
            raise ValueError(f"Muon: `ns_steps` must be an integer >= 0. "
                             f"Received: ns_steps={ns_steps!r}")
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, int(ns_steps)
        self.nesterov, self.exclude_embeddings = nesterov, exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay, self.rms_rate = adam_weight_decay, rms_rate

    def _should_use_adamw(self, variable):
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", None) or getattr(variable, "name", "") or ""
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._momentums, self._adam_velocities = [], []
        for var in variables:  # slots variable by variable: momentum, then velocity (AdamW)
            self._momentums.append(self.add_variable_from_reference(var, "momentum"))
            self._adam_velocities.append(self.add_variable_from_reference(var, "velocity")
                                         if self._should_use_adamw(var) else None)

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._adam_velocities[i]
        if v is not None:
            self._adamw_step(gradient, variable.data, learning_rate * self.adam_lr_ratio, m, v)
        else:
            self._muon_step(gradient, variable.data, learning_rate, m)

    def _adamw_step(self, g, w, lr, m, v):
        t = int(self._iterations.data) + 1
        alpha = lr * np.sqrt(1 - self.adam_beta_2 ** t) / (1 - self.adam_beta_1 ** t)
        m += (g - m) * (1 - self.adam_beta_1)
        v += (np.square(g) - v) * (1 - self.adam_beta_2)
        w -= (m * alpha / (np.sqrt(v) + self.epsilon)).astype(w.dtype, copy=False)

    def _muon_step(self, g, w, lr, m):
        m += g + m * (self.momentum - 1)
        u = g + self.momentum * m if self.nesterov else m
        update = self._orthogonalize(u)
        if self.rms_rate is not None:
            update = update * np.sqrt(max(w.shape[0], w.shape[1])) * self.rms_rate
        w -= (lr * update).astype(w.dtype, copy=False)

    def _orthogonalize(self, x):
        """Newton-Schulz iterations towards the nearest semi-orthogonal matrix."""
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = _swap_last(x)
        x = x / (np.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
        for _ in range(self.ns_steps):
            a = x @ _swap_last(x)
            x = self.muon_a * x + (self.muon_b * a + self.muon_c * a @ a) @ x
        return _swap_last(x) if tall else x

    def _apply_weight_decay(self, variables, learning_rate):
        for var in variables:
            if not self._use_weight_decay(var):
                continue
            decay = self.adam_weight_decay if self._should_use_adamw(var) else self.weight_decay
            if decay is not None:
                var.data *= 1.0 - learning_rate * decay

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
