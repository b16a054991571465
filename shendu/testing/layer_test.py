"""``run_layer_test``: the one shared check every layer test runs (DESIGN.md, convention 7)."""
import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor


def layer_gradcheck(layer, x, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, training=False, check_input=True):
    """Finite-difference check of d(sum(r * layer(x)))/d(input and every trainable weight).

    The layer must have been made with ``dtype='float64'``. Returns the worst normwise
    relative error per checked array (input first, then weights) and raises
    AssertionError when one is over tolerance.
    """
    x = np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
    check_input = check_input and x.dtype.kind == "f"
    xt = Tensor(x, requires_grad=check_input)
    out = layer(xt, training=training)
    r = np.random.default_rng(seed).standard_normal(out.shape)
    weights = layer.trainable_weights
    for w in weights:
        w.grad = None
    out.backward(Tensor(r))
    analytic = ([xt.grad.data] if check_input else []) + \
        [w.grad.data if w.grad is not None else np.zeros_like(w.data) for w in weights]
    targets = ([x] if check_input else []) + [w.data for w in weights]
    names = (["input"] if check_input else []) + [w.path for w in weights]

    def loss():
        with no_grad():
            return float((layer(Tensor(x), training=training).data * r).sum())

    errors, failures = [], []
    for name, arr, ana in zip(names, targets, analytic):
        num = np.zeros_like(arr)
        for j in np.ndindex(arr.shape):  # indexes arr itself, whatever its memory order
            old = arr[j]
            arr[j] = old + eps
            lp = loss()
            arr[j] = old - eps
            lm = loss()
            arr[j] = old
            num[j] = (lp - lm) / (2 * eps)
        diff = float(np.abs(ana - num).max()) if arr.size else 0.0
        scale = float(np.abs(num).max()) if arr.size else 0.0
        errors.append(diff / max(scale, 1e-12))
        if diff > atol + rtol * scale:
            failures.append(f"{name}: max abs error {diff:.3g} (max |numeric| {scale:.3g})")
    if failures:
        raise AssertionError(f"layer gradcheck of '{layer.name}' failed:\n  " + "\n  ".join(failures))
    return errors


def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   input_dtype="float32", input_data=None, run_gradcheck=True, gradcheck_shape=None,
                   training_step=True, seed=0):
    """Build, shape-infer, round-trip and train one layer; return the layer built on ``input_shape``.

    Checks: lazy build on first call; output shape == expected == ``compute_output_shape``;
    the symbolic (Functional) call gives the same shape; weight counts; ``from_config(get_config())``
    with the same weights gives identical outputs; one training step gives a gradient for
    every trainable weight; a float64 finite-difference gradient check on a tiny input.
    """
    import shendu

    rng = np.random.default_rng(seed)
    if input_data is None:
        if np.dtype(input_dtype).kind in "iu":
            input_data = rng.integers(0, 5, input_shape).astype(input_dtype)
        else:
            input_data = rng.standard_normal(input_shape).astype(input_dtype)
    layer = layer_cls(**init_kwargs)
    assert not layer.built or not layer.weights, "weights must be created lazily in build()"
    out = layer(input_data)
    assert layer.built
    if expected_output_shape is not None:
        assert tuple(out.shape) == tuple(expected_output_shape), \
            f"{layer_cls.__name__}: output shape {out.shape} != expected {expected_output_shape}"
    inferred = layer.compute_output_shape(tuple(input_shape))
    assert tuple(inferred) == tuple(out.shape), \
        f"{layer_cls.__name__}: compute_output_shape {inferred} != actual {out.shape}"
    sym_in = shendu.Input(shape=tuple(input_shape[1:]), dtype=input_dtype)
    sym_out = layer_cls(**init_kwargs)(sym_in)
    assert tuple(sym_out.shape) == (None,) + tuple(out.shape[1:]), \
        f"{layer_cls.__name__}: symbolic output shape {sym_out.shape} != {(None,) + tuple(out.shape[1:])}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    clone(input_data)
    clone.set_weights(layer.get_weights())
    with no_grad():
        a = layer(input_data, training=False).data
        b = clone(input_data, training=False).data
    np.testing.assert_array_equal(a, b, err_msg=f"{layer_cls.__name__}: from_config round trip differs")
    assert clone.get_config() == {**config, "name": clone.name}, "get_config must be stable"

    if training_step and layer.trainable_weights:
        for w in layer.trainable_weights:
            w.grad = None
        y = layer(input_data, training=True)
        (y * y).mean().backward() if y.dtype.kind == "f" else None
        missing = [w.path for w in layer.trainable_weights if w.grad is None]
        assert not missing, f"{layer_cls.__name__}: no gradient reached {missing}"

    if run_gradcheck:
        shape = gradcheck_shape or input_shape
        small = rng.standard_normal(shape) if np.dtype(input_dtype).kind == "f" else \
            rng.integers(0, 5, shape).astype(input_dtype)
        kw = dict(init_kwargs)
        kw.pop("input_shape", None)
        g_layer = layer_cls(**kw, dtype="float64")
        layer_gradcheck(g_layer, small)
    return layer
