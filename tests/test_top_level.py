"""Keras's top-level names: base classes, Variable, Operation, name_scope, device, version,
remat/RematScope; compared with real Keras (JAX backend) where behaviour is visible."""
import re

import numpy as np
import pytest

import shendu
import shendu as keras


def _keras():
    return pytest.importorskip("keras", reason="real Keras is the reference for these names")


def test_base_classes_are_the_namespaces_classes():
    assert keras.Loss is shendu.losses.Loss and keras.Metric is shendu.metrics.Metric
    assert keras.Optimizer is shendu.optimizers.Optimizer
    assert keras.Initializer is shendu.initializers.Initializer
    assert keras.Regularizer is shendu.regularizers.Regularizer
    assert isinstance(keras.losses.MeanSquaredError(), keras.Loss)
    assert isinstance(keras.metrics.Mean(), keras.Metric)
    assert isinstance(keras.optimizers.Adam(), keras.Optimizer)
    assert isinstance(keras.initializers.Zeros(), keras.Initializer)
    assert isinstance(keras.regularizers.L2(), keras.Regularizer)
    assert isinstance(keras.layers.Dense(2), keras.Operation)
    assert keras.FloatDTypePolicy("float64").compute_dtype == "float64"
    assert isinstance(keras.FloatDTypePolicy("float32"), keras.DTypePolicy)


def test_custom_subclasses_of_the_top_level_bases_work_in_fit():
    class Halved(keras.Loss):
        def call(self, y_true, y_pred):
            return 0.5 * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    class Ones(keras.Initializer):
        def __call__(self, shape, dtype=None):
            return np.ones(shape, dtype or "float32")

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer=Ones())])
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), np.ones((3, 1), np.float32))
    model.compile(optimizer="sgd", loss=Halved())
    x = np.ones((4, 3), np.float32)
    y = np.zeros((4, 1), np.float32)
    # kernel ones, bias zero: every prediction is 3, so the loss is 0.5 * 9.
    assert model.evaluate(x, y, verbose=0) == pytest.approx(4.5)


def test_variable_matches_keras():
    k = _keras()
    for lib in (keras, k):
        v = lib.Variable(initializer=lib.initializers.Ones(), shape=(2,), name="x")
        v.assign([3.0, 4.0])
        v.assign_add([1.0, 1.0])
        v.assign_sub([0.5, 0.5])
        np.testing.assert_array_equal(np.asarray(v.numpy()), [3.5, 4.5])
        np.testing.assert_array_equal(np.asarray(v.value), [3.5, 4.5])
        assert (v.name, v.path, v.trainable, str(v.dtype), tuple(v.shape)) == \
            ("x", "x", True, "float32", (2,))
        assert re.fullmatch(r"variable(_\d+)?", lib.Variable([1.0]).path)
        assert lib.Variable([1.0], trainable=False).trainable is False
        with pytest.raises(ValueError, match="shape"):
            v.assign([1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="`shape` argument should be specified"):
            lib.Variable(initializer=lib.initializers.Ones())
        with pytest.raises(ValueError, match="must be a string"):
            lib.Variable([1.0], name=3)


def test_variable_is_differentiable_leaf():
    v = keras.Variable(np.array([1.0, 2.0]), name="w")
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 4.0])


def test_name_scope_prefixes_paths_as_keras():
    k = _keras()
    seen = {}
    for lib in (keras, k):
        with lib.name_scope("outer"):
            v = lib.Variable([1.0], name="w2")
            with lib.name_scope("inner"):
                d = lib.layers.Dense(2, name="dd")
                d.build((None, 3))
                u = lib.Variable([1.0])
        outside = lib.Variable([1.0], name="after")
        # unnamed variables are numbered (variable, variable_1, ...) from a global counter
        seen[lib] = (v.path, v.name, d.kernel.path, d.bias.path, d.path, d.name,
                     re.sub(r"_\d+$", "", u.path), outside.path)
    assert seen[keras] == seen[k] == (
        "outer/w2", "w2", "outer/inner/dd/kernel", "outer/inner/dd/bias", "outer/inner/dd",
        "dd", "outer/inner/variable", "after")
    for bad in (3, "a/b"):
        with pytest.raises(ValueError, match="cannot contain character `/`"):
            keras.name_scope(bad)


def test_name_scope_is_left_on_error():
    with pytest.raises(RuntimeError):
        with keras.name_scope("broken"):
            raise RuntimeError("inside")
    assert keras.Variable([1.0], name="v").path == "v"


def test_device_accepts_cpu_and_refuses_other_devices():
    k = _keras()
    for name in ("cpu", "cpu:0", "CPU:0"):
        with k.device(name):
            pass
        with keras.device(name) as scope:
            y = keras.ops.add(np.ones(2, np.float32), 1.0)
        assert scope.device_name == "cpu:0"
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(y), [2.0, 2.0])
    with keras.device("/device:CPU:1") as scope:
        assert scope.device_name == "cpu:1"
    with keras.device("/cpu:2") as scope:
        assert scope.device_name == "cpu:2"
    for name in ("gpu", "gpu:0", "cuda", "tpu:0"):
        with pytest.raises(ValueError, match="CPU only"):
            keras.device(name)
    with pytest.raises(ValueError, match="unknown device"):
        keras.device("foo")


def test_version_is_the_package_version():
    assert keras.version() == shendu.__version__
    assert all(part.isdigit() for part in keras.version().split("."))


def test_remat_and_remat_scope_keep_results_and_gradients():
    k = _keras()
    dense = keras.layers.Dense(3, kernel_initializer="ones")
    x = keras.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    plain = dense(x)
    plain.sum().backward()
    g_plain = x.grad.numpy().copy()
    x.grad = None
    with keras.RematScope(mode="full"):
        again = keras.remat(dense)(x)
    again.sum().backward()
    np.testing.assert_array_equal(again.numpy(), plain.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), g_plain)
    for mode in ("full", "activations", "larger_than", "list_of_layers", None):
        assert keras.RematScope(mode=mode).mode == mode
        k.RematScope(mode=mode)
    with pytest.raises(ValueError, match="Invalid mode 'bad'"):
        keras.RematScope(mode="bad")
    with pytest.raises(ValueError, match="Invalid mode 'bad'"):
        k.RematScope(mode="bad")
    with pytest.raises(TypeError, match="callable"):
        keras.remat(3)


class _Scale(keras.Operation):
    def __init__(self, factor, name=None):
        super().__init__(name=name)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_operation_eager_and_in_a_functional_model():
    k = _keras()

    class KScale(k.Operation):
        def __init__(self, factor, name=None):
            super().__init__(name=name)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def compute_output_spec(self, x):
            return k.KerasTensor(x.shape, x.dtype)

    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    op = _Scale(3.0, name="triple")
    assert op.name == "triple" and op.get_config() == {"name": "triple"}
    np.testing.assert_array_equal(op(keras.tensor(data)).numpy(), data * 3)

    inputs = keras.Input((3,))
    out = keras.layers.Dense(2, kernel_initializer="ones")(_Scale(2.0)(inputs))
    model = keras.Model(inputs, out)
    k_inputs = k.Input((3,))
    k_out = k.layers.Dense(2, kernel_initializer="ones")(KScale(2.0)(k_inputs))
    k_model = k.Model(k_inputs, k_out)
    np.testing.assert_allclose(model.predict(data, verbose=0), k_model.predict(data, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        _Scale(1.0, name="a/b")
    with pytest.raises(NotImplementedError, match="must define call"):
        keras.Operation()(np.ones(2))


def test_stateless_scope_matches_keras():
    k = _keras()
    results = []
    for lib in (keras, k):
        v = lib.Variable(np.array([1.0, 2.0], np.float32), name="v")
        w = lib.Variable(np.array([5.0], np.float32), name="w")
        u = lib.Variable(np.array([0.0], np.float32), name="u")
        with lib.StatelessScope(state_mapping=[(v, np.array([10.0, 20.0], np.float32))]) as s:
            read = np.asarray(v + 1)
            v.assign_add(np.array([1.0, 1.0], np.float32))
            w.assign(np.array([7.0], np.float32))
            inside = (np.asarray(v.numpy()), np.asarray(w.numpy()),
                      np.asarray(s.get_current_value(w)))
        results.append((read, inside, np.asarray(v.numpy()), np.asarray(w.numpy()),
                        np.asarray(s.get_current_value(v)), s.get_current_value(u)))
        with pytest.raises(ValueError, match="shape that matches"):
            lib.StatelessScope(state_mapping=[(v, np.zeros(3, np.float32))])
        with pytest.raises(ValueError, match="must be Variable instances"):
            lib.StatelessScope(state_mapping=[(1, np.zeros(3, np.float32))])
    ours, theirs = results
    np.testing.assert_array_equal(ours[0], [11.0, 21.0])
    np.testing.assert_array_equal(ours[1][0], [11.0, 21.0])
    np.testing.assert_array_equal(ours[2], [1.0, 2.0])  # restored on exit
    np.testing.assert_array_equal(ours[3], [5.0])
    for a, b in zip(ours[:5], theirs[:5]):
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            np.testing.assert_array_equal(x, y)
    assert ours[5] is None and theirs[5] is None


def test_stateless_scope_keeps_a_layer_unchanged():
    layer = keras.layers.Dense(2, kernel_initializer="ones")
    x = np.ones((1, 3), np.float32)
    before = layer(x).numpy()
    with keras.StatelessScope([(layer.kernel, np.full((3, 2), 2.0, np.float32))]):
        np.testing.assert_array_equal(layer(x).numpy(), 2 * before)
    np.testing.assert_array_equal(layer(x).numpy(), before)
