"""The attribution methods of ``shendu.explain`` (see the package docstring for the math).

All of them reduce to two vectorised primitives over a stack of model inputs ("rows"):
``_gradients`` (the explained scalar of every row and its gradient with respect to the
input or to a layer's output) and ``_scores`` under no_grad. Rows are independent at
inference (``training=False``), so the gradient of the sum of the rows' scalars is every
row's own gradient: one backward pass serves the whole stack.
"""
import numpy as np

from ..autograd import Tensor, enable_grad, no_grad
from ..autograd.engine import grad


# ---- inputs, targets, rows -------------------------------------------------------------------
def _as_batch(x, who, keep_ints=False):
    """x as an array; integer inputs (token ids) stay integers when a layer is attributed."""
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    if x.dtype.kind not in "fiub" or x.ndim < 1:
        raise ValueError(f"{who}: expected a batch of numeric inputs of shape (n, ...). "
                         f"Received: x with shape {x.shape} and dtype {x.dtype}")
    if x.dtype.kind != "f" and not keep_ints:
        from .. import config
        x = x.astype(config.floatx())
    return x


def _baseline(baseline, x, who):
    """The baseline broadcast to x's shape: None (zeros), a number, a sample or a batch."""
    if baseline is None:
        return np.zeros_like(x)
    b = np.asarray(baseline.data if isinstance(baseline, Tensor) else baseline, dtype=x.dtype)
    try:
        return np.array(np.broadcast_to(b, x.shape))
    except ValueError:
        raise ValueError(f"{who}: the baseline must be a number or broadcast to the inputs' "
                         f"shape {x.shape}. Received: baseline with shape {b.shape}") from None


def _explained(out, target, who):
    """The (rows,) Tensor of explained scalars: ``target`` is a callable or an index per row."""
    if callable(target):
        s = target(out)
        n = len(out[0] if isinstance(out, (list, tuple)) else out)
        if not isinstance(s, Tensor) or s.data.size != n:
            raise ValueError(f"{who}: a callable target must return a Tensor with one value "
                             f"per sample ({n}). Received: {type(s).__name__} with shape "
                             f"{getattr(s, 'shape', None)}")
        return s.reshape(n)
    flat = out.reshape(out.shape[0], -1)
    if len(target) and not (-flat.shape[1] <= target.min() and target.max() < flat.shape[1]):
        raise ValueError(f"{who}: target index out of range for an output of "
                         f"{flat.shape[1]} units per sample. Received: target indices from "
                         f"{target.min()} to {target.max()}")
    mask = np.zeros(flat.shape, flat.dtype)
    mask[np.arange(len(target)), target] = 1  # one-hot rows pick each row's unit
    return (flat * mask).sum(axis=1)


def _resolve_target(model, x, target, who):
    """A callable, or an int array (n,) of flat output units, from the user's ``target``."""
    if callable(target):
        return target
    if target is None:
        with no_grad():
            out = model(Tensor(x), training=False)
        if isinstance(out, (list, tuple)):
            raise ValueError(f"{who}: the model has several outputs; pass a callable target "
                             "that picks the scalar to explain, e.g. "
                             "target=lambda outs: outs[0][:, 3]")
        flat = out.numpy().reshape(len(x), -1)
        # A single unit is a regression output; otherwise explain the predicted class.
        return np.zeros(len(x), np.intp) if flat.shape[1] == 1 else flat.argmax(axis=1)
    if np.ndim(target) == 0:
        if isinstance(target, (bool, np.bool_)) or not float(target).is_integer():
            raise ValueError(f"{who}: target must be an output index, an index per sample or "
                             f"a callable. Received: target={target!r}")
        return np.full(len(x), int(target), np.intp)
    idx = np.asarray(target)
    if idx.shape != (len(x),) or idx.dtype.kind not in "iu":
        raise ValueError(f"{who}: an array target must hold one integer index per sample, "
                         f"shape ({len(x)},). Received: target with shape {idx.shape} and "
                         f"dtype {idx.dtype}")
    return idx.astype(np.intp)


def _tile(target, copies):
    """The target of ``copies`` stacked copies of the batch (copy-major rows)."""
    return target if callable(target) else np.tile(target, copies)


def _rows_of(target, lo, hi):
    return target if callable(target) else target[lo:hi]


def _chunks(n, batch_size, who):
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"{who}: batch_size must be a positive integer or None. "
                         f"Received: batch_size={batch_size!r}")
    step = n if batch_size is None else int(batch_size)
    return [(lo, min(lo + step, n)) for lo in range(0, n, max(step, 1))]


def _gradients(run, rows, target, batch_size, who):
    """(scores (N,), values (N, ...), d(score)/d(values)) for a stack of ``rows``.

    ``run(xt, lo, hi)`` returns (the tensor to differentiate with respect to, the model
    output) for rows lo:hi; for input attributions that tensor is ``xt`` itself. Chunks of
    ``batch_size`` rows bound the memory of one pass.
    """
    scores, values, grads = [], [], []
    for lo, hi in _chunks(len(rows), batch_size, who):
        xt = Tensor(rows[lo:hi], requires_grad=rows.dtype.kind == "f")
        with enable_grad():
            wrt, out = run(xt, lo, hi)
            s = _explained(out, _rows_of(target, lo, hi), who)
            g, = grad(s.sum(), [wrt])
        scores.append(s.numpy().copy())
        values.append(np.array(wrt.data, copy=True))
        grads.append(g.numpy())
    return np.concatenate(scores), np.concatenate(values), np.concatenate(grads)


def _scores(model, rows, target, batch_size, who):
    out = []
    with no_grad():
        for lo, hi in _chunks(len(rows), batch_size, who):
            o = model(Tensor(rows[lo:hi]), training=False)
            out.append(_explained(o, _rows_of(target, lo, hi), who).numpy().copy())
    return np.concatenate(out)


def _input_gradients(model, rows, target, batch_size, who):
    return _gradients(lambda xt, lo, hi: (xt, model(xt, training=False)), rows, target,
                      batch_size, who)


def _values_and_gradients(model, x, target, batch_size, who, layer):
    """(values, d(score)/d(values)) where values are the inputs, or ``layer``'s outputs."""
    if layer is None:
        return _input_gradients(model, x, target, batch_size, who)[1:]
    run, _ = _layer_run(model, layer, x, who)
    return _gradients(run, x, target, batch_size, who)[1:]


# ---- gradient methods ---------------------------------------------------------------------------
def saliency(model, x, target=None, abs=True, batch_size=None, layer=None):
    """The gradient of the explained output with respect to the input, |df/dx| by default.

    Args:
        model: a shendu model: Sequential, Functional or subclassed.
        x: inputs, shape (n, ...).
        target: see ``shendu.explain`` (None: regression unit or predicted class).
        abs: return |df/dx| (Simonyan et al.); False gives the signed gradient.
        batch_size: rows per forward/backward pass (None: all at once).
        layer: a layer (or its name) to attribute to instead of the input: its output
            takes the input's place (an Embedding's vectors for token ids).

    Returns:
        An array shaped like ``x`` (like the layer's output with ``layer``).
    """
    x = _as_batch(x, "saliency", keep_ints=layer is not None)
    t = _resolve_target(model, x, target, "saliency")
    g = _values_and_gradients(model, x, t, batch_size, "saliency", layer)[1]
    return np.abs(g) if abs else g


def gradient_x_input(model, x, target=None, batch_size=None, layer=None):
    """x * df/dx: for a linear model f(x) = w.x + c this is w * x, its exact decomposition
    of f(x) - f(0). With ``layer``, a * df/da for the layer's output a.

    Args: as ``saliency``. Returns: an array shaped like ``x`` (or the layer's output).
    """
    x = _as_batch(x, "gradient_x_input", keep_ints=layer is not None)
    t = _resolve_target(model, x, target, "gradient_x_input")
    values, g = _values_and_gradients(model, x, t, batch_size, "gradient_x_input", layer)
    return values * g


_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
            "riemann_trapezoid")


def _quadrature(method, steps, who):
    """Points a_k in [0, 1] and weights w_k with sum_k w_k g(a_k) ~ integral_0^1 g(a) da."""
    if int(steps) != steps or steps < 1 or (method == "riemann_trapezoid" and steps < 2):
        raise ValueError(f"{who}: steps must be a positive integer (at least 2 for "
                         f"riemann_trapezoid). Received: steps={steps!r}")
    n = int(steps)
    if method == "gausslegendre":
        # Legendre nodes on [-1, 1] mapped to [0, 1]: exact for polynomials of degree 2n - 1.
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1.0), 0.5 * weights
    if method == "riemann_trapezoid":
        w = np.full(n, 1.0 / (n - 1))
        w[[0, -1]] *= 0.5
        return np.linspace(0.0, 1.0, n), w
    offsets = {"riemann_left": 0.0, "riemann_middle": 0.5, "riemann_right": 1.0}
    if method not in offsets:
        raise ValueError(f"{who}: method must be one of {_METHODS}. Received: method={method!r}")
    return (np.arange(n) + offsets[method]) / n, np.full(n, 1.0 / n)


def integrated_gradients(model, x, target=None, baseline=None, steps=50,
                         method="gausslegendre", batch_size=None, layer=None):
    """Integrated gradients (Sundararajan et al. 2017) and their convergence delta.

    IG_i(x) = (x_i - b_i) * integral_0^1 df/dx_i(b + a (x - b)) da, computed as
    (x - b) * sum_k w_k df/dx(b + a_k (x - b)) with all ``steps`` points of every sample
    in one stacked batch. Completeness: sum_i IG_i = f(x) - f(b) for the exact integral;
    ``delta`` measures how far the quadrature is from it.

    Args:
        model, x, target, batch_size: as ``saliency``.
        baseline: b; None (zeros), a number, one sample or one per sample.
        steps: quadrature points per sample.
        method: "gausslegendre" (default), "riemann_left", "riemann_right",
            "riemann_middle" or "riemann_trapezoid". (Captum's "riemann_trapezoid" weighs
            its n points 1/n with halved ends; this one is the trapezoid rule, 1/(n - 1).)
        layer: a layer (or its name) to attribute to: the path runs between the layer's
            outputs at the baseline and at x (Captum's LayerIntegratedGradients), so
            token ids can be explained through their Embedding. ``baseline`` stays an input.

    Returns:
        (attributions shaped like ``x`` or the layer's output, delta of shape (n,)) with
        delta = sum(attributions of a sample) - (f(x) - f(b)).
    """
    who = "integrated_gradients"
    x = _as_batch(x, who, keep_ints=layer is not None)
    b = _baseline(baseline, x, who)
    alphas, weights = _quadrature(method, steps, who)
    t = _resolve_target(model, x, target, who)
    start, end = (b, x) if layer is None else _layer_ends(model, x, b, layer, who)
    diff = end - start
    path = start[None] + alphas.reshape((-1,) + (1,) * diff.ndim).astype(diff.dtype) * diff[None]
    path = path.reshape((-1,) + diff.shape[1:])  # step-major: row k*n + i is sample i at a_k
    if layer is None:
        g = _input_gradients(model, path, _tile(t, len(alphas)), batch_size, who)[2]
    else:
        g = _gradients(_replacing_run(model, layer, path), np.tile(x, (len(alphas),) + (1,) * (
            x.ndim - 1)), _tile(t, len(alphas)), batch_size, who)[2]
    avg = np.tensordot(weights, g.reshape((len(alphas),) + diff.shape).astype(np.float64), 1)
    attributions = (diff * avg).astype(diff.dtype)
    ends = _scores(model, np.concatenate([x, b]), _tile(t, 2), batch_size, who)
    fx, fb = ends[:len(x)].astype(np.float64), ends[len(x):].astype(np.float64)
    delta = attributions.reshape(len(x), -1).sum(axis=1, dtype=np.float64) - (fx - fb)
    return attributions, delta


def _noisy_gradients(model, x, target, samples, noise_level, stdev, seed, noise, batch_size,
                     who):
    """Gradients at ``samples`` noisy copies of every sample, shape (samples, n, ...)."""
    x = _as_batch(x, who)
    if int(samples) != samples or samples < 1:
        raise ValueError(f"{who}: samples must be a positive integer. "
                         f"Received: samples={samples!r}")
    t = _resolve_target(model, x, target, who)
    if stdev is None:
        # Smilkov et al.: sigma as a fraction of each sample's own value range.
        span = x.reshape(len(x), -1).max(axis=1) - x.reshape(len(x), -1).min(axis=1)
        stdev = (noise_level * span).reshape((1, -1) + (1,) * (x.ndim - 1))
    if noise is None:
        noise = np.random.default_rng(seed).standard_normal((int(samples),) + x.shape)
    elif np.shape(noise) != (int(samples),) + x.shape:
        raise ValueError(f"{who}: noise must hold standard-normal draws of shape (samples, "
                         f"*x.shape) = {(int(samples),) + x.shape}. Received: shape "
                         f"{np.shape(noise)}")
    rows = (x[None] + (noise * stdev).astype(x.dtype)).reshape((-1,) + x.shape[1:])
    g = _input_gradients(model, rows, _tile(t, int(samples)), batch_size, who)[2]
    return g.reshape((int(samples),) + x.shape)


def smoothgrad(model, x, target=None, samples=50, noise_level=0.15, stdev=None, seed=None,
               noise=None, batch_size=None):
    """SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of x,
    E[df/dx(x + e)] with e ~ N(0, sigma^2).

    Args:
        model, x, target, batch_size: as ``saliency``.
        samples: noisy copies per sample (all evaluated in one stacked batch).
        noise_level: sigma as a fraction of each sample's value range (max - min).
        stdev: an absolute sigma instead (a number or an array broadcast to x).
        seed: seed of the noise (``numpy.random.default_rng``); None draws fresh noise.
        noise: standard-normal draws of shape (samples, *x.shape) to scale by sigma instead
            of drawing (to reproduce another library's noise).

    Returns:
        An array shaped like ``x`` (signed; take ``np.abs`` for a map of magnitudes).
    """
    g = _noisy_gradients(model, x, target, samples, noise_level, stdev, seed, noise,
                         batch_size, "smoothgrad")
    return g.mean(axis=0)


def smoothgrad_squared(model, x, target=None, samples=50, noise_level=0.15, stdev=None,
                       seed=None, noise=None, batch_size=None):
    """SmoothGrad-squared: E[(df/dx(x + e))^2], the noise-averaged squared gradient
    (Hooker et al. 2019). Arguments as ``smoothgrad``."""
    g = _noisy_gradients(model, x, target, samples, noise_level, stdev, seed, noise,
                         batch_size, "smoothgrad_squared")
    return (g * g).mean(axis=0)


def _layer_ends(model, x, b, layer, who):
    """The layer's outputs at the baseline and at x (no graph)."""
    run, _ = _layer_run(model, layer, x, who)
    with no_grad():
        acts = run(Tensor(np.concatenate([b, x])), None, None)[0].numpy().copy()
    return acts[:len(x)], acts[len(x):]


def _replacing_run(model, layer, values):
    """``run(xt, lo, hi)``: the model's output with ``layer``'s output replaced by the
    (differentiated) rows lo:hi of ``values``."""
    from .. import config

    layer = _find_layer(model, layer)

    def run(xt, lo, hi):
        a = Tensor(values[lo:hi], requires_grad=True)
        layer.call = lambda *args, **kwargs: a
        fused = config.fusion_enabled()
        config.set_fusion_enabled(False)  # a fused run would not call the replaced layer
        try:
            out = model(xt, training=False)
        finally:
            del layer.call
            config.set_fusion_enabled(fused)
        return a, out
    return run


# ---- class activation maps ---------------------------------------------------------------------
def _find_layer(model, layer):
    from ..layers import Layer
    return layer if isinstance(layer, Layer) else model.get_layer(layer)


def _layer_run(model, layer, x, who):
    """``run(xt) -> (the layer's output, the model's output)`` and the layer object."""
    from ..models import Model, Sequential
    from ..models.functional import Functional

    if not model.built:  # a Sequential without an Input gets its graph from a first call
        with no_grad():
            model(Tensor(x[:1]), training=False)
    layer = _find_layer(model, layer)
    if isinstance(model, (Functional, Sequential)):
        sub = Model(model.inputs, [layer.output, model.output])
        return (lambda xt, lo=None, hi=None: tuple(sub(xt, training=False))), layer

    def run(xt, lo=None, hi=None):
        # A subclassed model has no graph to cut: record the layer's output as it runs.
        seen = []
        call = layer.call

        def recording_call(*args, **kwargs):
            seen.append(call(*args, **kwargs))
            return seen[-1]

        layer.call = recording_call
        try:
            out = model(xt, training=False)
        finally:
            del layer.call
        if not seen:
            raise ValueError(f"{who}: layer '{layer.name}' did not run in the model's call")
        return seen[-1], out
    return run, layer


def _cam_inputs(model, x, layer, target, batch_size, who):
    """Activations A and gradients dA, shape (n, *positions, channels): shendu's layers are
    channels-last."""
    x = _as_batch(x, who)
    run, layer = _layer_run(model, layer, x, who)
    t = _resolve_target(model, x, target, who)
    _, a, g = _gradients(run, x, t, batch_size, who)
    if a.ndim < 3:
        raise ValueError(f"{who}: layer '{layer.name}' must output (batch, positions..., "
                         f"channels), a convolution's feature maps. Received: output shape "
                         f"{a.shape}")
    return x, a.astype(np.float64), g.astype(np.float64)


def _upsample(cam, x):
    """Bilinear resize of the (n, *positions) maps to the input's spatial size."""
    from .. import ops

    k = cam.ndim - 1
    if k > 2:
        raise ValueError(f"upsampling supports 1-D and 2-D maps. Received: maps of shape "
                         f"{cam.shape}; pass upsample=False")
    size = x.shape[1:1 + k]
    if len(size) < k:
        raise ValueError(f"cannot upsample maps of shape {cam.shape} to inputs of shape "
                         f"{x.shape}; pass upsample=False")
    # A 1-D map (sequences) is resized as an image one row high.
    flat = cam[:, None, :] if k == 1 else cam
    out = ops.image.resize(flat[..., None], ((1,) if k == 1 else ()) + tuple(size),
                           interpolation="bilinear").numpy()
    return out[..., 0].reshape((len(cam),) + tuple(size))


def _cam(x, a, weights, upsample):
    cam = np.maximum(np.einsum("n...c,nc->n...", a, weights), 0.0)
    return _upsample(cam, x) if upsample else cam


def grad_cam(model, x, layer, target=None, upsample=True, batch_size=None):
    """Grad-CAM (Selvaraju et al. 2017): relu(sum_c w_c A_c) with w_c the mean over
    positions of df/dA_c, where A is a (convolutional) layer's output.

    Args:
        model, x, target, batch_size: as ``saliency``.
        layer: the layer's name or the layer (Sequential, Functional or subclassed model).
        upsample: resize the map bilinearly to the input's spatial size (1-D or 2-D maps);
            False returns it on the layer's grid.

    Returns:
        Maps of shape (n, *positions): the layer's grid, or the input's when upsampled.
    """
    x, a, g = _cam_inputs(model, x, layer, target, batch_size, "grad_cam")
    weights = g.mean(axis=tuple(range(1, g.ndim - 1)))
    return _cam(x, a, weights, upsample)


def grad_cam_plus_plus(model, x, layer, target=None, upsample=True, batch_size=None):
    """Grad-CAM++ (Chattopadhay et al. 2018): w_c = sum_ij alpha_ij relu(g_ij) with
    alpha_ij = g_ij^2 / (2 g_ij^2 + sum_ab A_ab g_ij^3), g = df/dA_c (the closed form for an
    exponential of the score), then relu(sum_c w_c A_c). Arguments as ``grad_cam``."""
    x, a, g = _cam_inputs(model, x, layer, target, batch_size, "grad_cam_plus_plus")
    space = tuple(range(1, g.ndim - 1))
    g2 = g * g
    denom = 2.0 * g2 + a.sum(axis=space, keepdims=True) * g2 * g
    alpha = np.divide(g2, denom, out=np.zeros_like(g2), where=denom != 0)
    weights = (alpha * np.maximum(g, 0.0)).sum(axis=space)
    return _cam(x, a, weights, upsample)


# ---- occlusion ---------------------------------------------------------------------------------
def _window_masks(shape, window, strides, who):
    """(positions, *shape) 0/1 masks of every window placement, built per axis and combined
    by outer products (no loop over positions)."""
    masks = np.ones((1, 1))
    for size, w, s in zip(shape, window, strides):
        if not (1 <= w <= size) or s < 1:
            raise ValueError(f"{who}: every window must fit the input ({shape}) and every "
                             f"stride be positive. Received: window={tuple(window)}, "
                             f"strides={tuple(strides)}")
        starts = np.arange(0, size - w + 1, s)
        idx = np.arange(size)
        per_axis = ((idx >= starts[:, None]) & (idx < starts[:, None] + w)).astype(np.float64)
        masks = (masks[:, None, :, None] * per_axis[None, :, None, :]).reshape(
            masks.shape[0] * per_axis.shape[0], masks.shape[1] * size)
    return masks.reshape((-1,) + tuple(shape))


def occlusion(model, x, window, strides=None, baseline=0.0, target=None, batch_size=None):
    """Occlusion (Zeiler & Fergus 2014): slide a window over each input, set what it covers
    to the baseline, and credit every covered feature with the drop f(x) - f(occluded),
    averaged over the windows that cover it. Gradient-free; all placements of all samples
    run as one stacked batch.

    Args:
        model, x, target, batch_size: as ``saliency``.
        window: the window's extent along the first axes of a sample; axes past it are
            covered whole (window=(4, 4) on (28, 28, 1) images covers every channel). An int
            is used for every axis but the last (the channels or features).
        strides: the step per window axis (int or tuple); None steps by the window (tiles).
        baseline: the occluding value: a number, one sample or one per sample.

    Returns:
        An array shaped like ``x``; features no window covers get 0.
    """
    who = "occlusion"
    x = _as_batch(x, who)
    sample = x.shape[1:]
    if np.ndim(window) == 0:
        window = (int(window),) * max(len(sample) - 1, 1)
    window = tuple(int(w) for w in window)
    if not 1 <= len(window) <= len(sample):
        raise ValueError(f"{who}: window needs 1 to {len(sample)} axes for samples of shape "
                         f"{sample}. Received: window={window}")
    strides = window if strides is None else (
        (int(strides),) * len(window) if np.ndim(strides) == 0 else tuple(strides))
    if len(strides) != len(window):
        raise ValueError(f"{who}: strides must have one entry per window axis. Received: "
                         f"window={window}, strides={strides}")
    full = window + sample[len(window):]
    masks = _window_masks(sample, full, strides + full[len(window):], who)  # (P, *sample)
    b = _baseline(baseline, x, who)
    t = _resolve_target(model, x, target, who)
    m = masks.astype(x.dtype)[None]
    occluded = (x[:, None] * (1 - m) + b[:, None] * m).reshape((-1,) + sample)  # sample-major
    positions = len(masks)
    rows_t = t if callable(t) else np.repeat(t, positions)
    drop = (_scores(model, x, t, batch_size, who)[:, None].astype(np.float64)
            - _scores(model, occluded, rows_t, batch_size, who).reshape(len(x), positions))
    flat = masks.reshape(positions, -1)
    counts = flat.sum(axis=0)
    total = drop @ flat
    avg = np.divide(total, counts, out=np.zeros_like(total), where=counts > 0)
    return avg.reshape(x.shape).astype(x.dtype)
