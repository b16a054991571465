"""Why a model predicts what it does: attribution methods for any shendu model.

Each function takes a model (Sequential, Functional or subclassed), a batch of inputs
``x`` of shape (n, ...) and a ``target`` (see below), and returns NumPy attributions
shaped like ``x`` (Grad-CAM: like the chosen layer's spatial grid, or the input's once
upsampled). Every method runs the model on one stacked batch (steps, noise samples or
occluded copies side by side, optionally in chunks of ``batch_size`` rows): there is no
Python loop over pixels or samples. Gradients come from ``shendu.autograd.engine.grad``,
so the model's weights keep whatever ``.grad`` they had. The rows must not interact: the
model runs with ``training=False``.

``saliency``, ``gradient_x_input`` and ``integrated_gradients`` take ``layer=`` to attribute
to a layer's output instead of the input (token ids through their ``Embedding``).
``integrated_gradients(layer=...)`` (any model), and Grad-CAM or ``layer=`` on a subclassed
model, briefly replace that layer's ``call`` on the instance (the first also turns fusion
off meanwhile), so they are not meant to run beside other calls of the model in another
thread.

Targets: the scalar f(x) explained for each sample.
    * ``None``: the only output unit (a regression model), else the predicted class
      (the argmax of the output at x);
    * an int: that output unit (class index) for every sample;
    * an integer array of shape (n,): one class per sample;
    * a callable ``target(outputs) -> Tensor of shape (n,)``, built from shendu ops, over
      the model's output (a list of outputs for a multi-output model).

Methods (Simonyan et al. 2014; Shrikumar et al. 2016; Sundararajan et al. 2017; Smilkov
et al. 2017; Selvaraju et al. 2017; Chattopadhay et al. 2018; Zeiler & Fergus 2014):
    saliency            |df/dx| (or df/dx with ``abs=False``)
    gradient_x_input    x * df/dx
    integrated_gradients (x - b) * integral_0^1 df/dx(b + a (x - b)) da, by a quadrature
                        rule; returns (attributions, delta) with
                        delta = sum(attributions) - (f(x) - f(b)) (completeness)
    smoothgrad          E[df/dx(x + e)],   e ~ N(0, sigma^2)
    smoothgrad_squared  E[(df/dx(x + e))^2]
    grad_cam            relu(sum_c w_c A_c), w_c = mean over positions of df/dA_c
    grad_cam_plus_plus  the same with w_c = sum over positions of alpha * relu(df/dA_c)
    occlusion           mean, over the windows covering a feature, of
                        f(x) - f(x with the window set to the baseline)

Example:
    >>> import numpy as np, shendu
    >>> from shendu import explain, layers
    >>> model = shendu.Sequential([shendu.Input((3,)), layers.Dense(1, use_bias=False)])
    >>> model.set_weights([np.array([[1.0], [-2.0], [3.0]], np.float32)])
    >>> explain.saliency(model, np.ones((1, 3), np.float32))
    array([[1., 2., 3.]], dtype=float32)
    >>> attributions, delta = explain.integrated_gradients(model, np.ones((1, 3), np.float32))
    >>> attributions.round(5), bool(abs(delta[0]) < 1e-5)
    (array([[ 1., -2.,  3.]], dtype=float32), True)
"""
from .attribution import (gradient_x_input, grad_cam, grad_cam_plus_plus,  # noqa: F401
                          integrated_gradients, occlusion, saliency, smoothgrad,
                          smoothgrad_squared)


def __getattr__(name):
    if name == "plot":  # matplotlib is optional: its module loads on first use
        import importlib
        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'shendu.explain' has no attribute {name!r}")
