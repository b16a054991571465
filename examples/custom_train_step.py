"""Customising what ``fit`` does: a ``train_step`` written with shendu's autograd.

    python examples/custom_train_step.py

Keras's guide "Customizing what happens in fit() with PyTorch" writes a step as: the
forward pass, ``self.compute_loss``, ``loss.backward()``, ``self.optimizer.apply`` and
the metrics update. The same code runs here, since shendu's autograd plays PyTorch's
part: ``fit`` keeps its callbacks, progress bar, validation and history.

Two models below, on a small regression problem (y = x . w + noise):
  * ``CustomModel`` overrides ``train_step`` and ``test_step``, and returns its logs
    with ``compute_metrics``;
  * ``ManualMetricsModel`` computes its own loss and tracks it and the MAE with
    ``keras.metrics`` objects it lists in ``metrics``; ``compile`` gives only the optimizer.
"""
import argparse

import numpy as np

import shendu as keras
from shendu import layers


class CustomModel(keras.Model):
    """The standard loss and metrics of ``compile``, with a hand-written step."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()                                 # clear the weights' .grad
        y_pred = self(x, training=True)                  # forward
        loss = self.compute_loss(y=y, y_pred=y_pred)     # compile's loss (+ model.losses)
        loss.backward()                                  # gradients into each weight's .grad
        weights = self.trainable_weights
        self.optimizer.apply([v.value.grad for v in weights], weights)
        self.metrics[0].update_state(loss.numpy())       # the "loss" tracker
        return self.compute_metrics(x, y, y_pred)        # compile's metrics -> the logs

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred, training=False)
        self.metrics[0].update_state(loss.numpy())
        return self.compute_metrics(x, y, y_pred)


class ManualMetricsModel(keras.Model):
    """Its own loss and metric objects; ``compile`` only gives the optimizer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

    @property
    def metrics(self):
        # Listed here, so that fit resets them at the start of each epoch.
        return [self.loss_tracker, self.mae_metric]

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = keras.ops.mean((y_pred - y) ** 2)
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([v.grad for v in weights], weights)
        self.loss_tracker.update_state(loss.numpy())
        self.mae_metric.update_state(y, y_pred.numpy())
        return {m.name: float(m.result()) for m in self.metrics}


def make_data(n=512, d=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((d, 1))
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x @ w + 0.05 * rng.standard_normal((n, 1))).astype(np.float32)
    return x, y


def build(cls, d=8):
    inputs = keras.Input((d,))
    hidden = layers.Dense(16, activation="relu")(inputs)
    return cls(inputs, layers.Dense(1)(hidden))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x, y = make_data()
    results = {}
    model = build(CustomModel)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=args.epochs, batch_size=32, validation_split=0.2, verbose=0)
    results["CustomModel"] = history.history
    manual = build(ManualMetricsModel)
    manual.compile(optimizer=keras.optimizers.Adam(1e-2))
    results["ManualMetricsModel"] = manual.fit(x, y, epochs=args.epochs, batch_size=32,
                                               verbose=0).history
    for name, hist in results.items():
        print(f"{name}: loss {hist['loss'][0]:.4f} -> {hist['loss'][-1]:.4f}, "
              f"mae {hist['mae'][0]:.4f} -> {hist['mae'][-1]:.4f}")
    return results


if __name__ == "__main__":
    main()
