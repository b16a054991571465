"""layers.serialize / layers.deserialize: round trips, Keras's dicts, custom objects, errors."""
import numpy as np
import pytest

import shendu
from shendu import layers


@pytest.mark.parametrize("layer", [layers.Dense(3, activation="relu", name="d"),
                                   layers.Conv3D(2, 3, padding="same"), layers.LeakyReLU(0.1),
                                   layers.StringLookup(vocabulary=["a", "b"]),
                                   layers.GroupNormalization(groups=2)])
def test_round_trip(layer):
    config = layers.serialize(layer)
    assert config["class_name"] == type(layer).__name__
    clone = layers.deserialize(config)
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def test_reads_keras_serialized_layer():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    config = keras.layers.serialize(keras.layers.GroupNormalization(groups=2, name="k"))
    layer = layers.deserialize(config)
    assert isinstance(layer, layers.GroupNormalization) and layer.groups == 2 and layer.name == "k"
    x = np.ones((1, 4), "float32")
    assert layer(x).shape == (1, 4)
    relu = layers.deserialize(keras.layers.serialize(keras.layers.ReLU(max_value=2.0)))
    assert relu(np.array([[3.0]], "float32")).numpy().tolist() == [[2.0]]


def test_custom_objects_and_errors():
    class Twice(layers.Layer):
        def call(self, x):
            return x * 2
    config = {"class_name": "Twice", "config": {"name": "t"}}
    assert isinstance(layers.deserialize(config, custom_objects={"Twice": Twice}), Twice)
    with pytest.raises(ValueError, match="Twice"):
        layers.deserialize(config)
    with pytest.raises(TypeError, match="expects a Layer"):
        layers.serialize(shendu.optimizers.Adam())
    with pytest.raises(ValueError, match="expects a dict"):
        layers.deserialize("Dense")
