"""shendu.config: Keras's keras.config names (and shendu's own settings)."""
import logging

import numpy as np
import pytest

import shendu
from shendu import config


def test_backend_name_and_defaults():
    assert config.backend() == "shendu"
    assert config.floatx() == "float32" and config.epsilon() == 1e-7
    assert config.image_data_format() == "channels_last"
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None


def test_image_data_format_validation():
    try:
        config.set_image_data_format("CHANNELS_FIRST")  # Keras lower-cases it
        assert config.image_data_format() == "channels_first"
    finally:
        config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels_first.*Received: data_format='nchw'"):
        config.set_image_data_format("nchw")


def test_flash_attention_switches_as_keras():
    keras = pytest.importorskip("keras", reason="real Keras is the reference")
    for mod in (config, keras.config):
        assert mod.is_flash_attention_enabled() is None
        mod.disable_flash_attention()
        assert mod.is_flash_attention_enabled() is False
        mod.enable_flash_attention()
        assert mod.is_flash_attention_enabled() is None


def test_unsafe_deserialization_switch():
    assert config.in_safe_mode(True) and not config.in_safe_mode(False)
    config.enable_unsafe_deserialization()
    try:
        assert not config.in_safe_mode(True)
    finally:
        config._UNSAFE_DESERIALIZATION = False  # the switch is one-way, as in Keras


def _tiny_model():
    model = shendu.Sequential([shendu.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_max_epochs_and_steps_cap_fit_evaluate_predict():
    x, y = np.ones((40, 2), np.float32), np.ones((40, 1), np.float32)
    model = _tiny_model()
    seen = []
    count = shendu.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    try:
        history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[count])
        assert history.epoch == [0, 1]
        assert seen == [0, 1, 2, 0, 1, 2]
        assert model.predict(x, batch_size=4, verbose=0).shape == (12, 1)
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    assert model.predict(x, batch_size=4, verbose=0).shape == (40, 1)
    with pytest.raises(ValueError, match="positive integer or None. Received: 0"):
        config.set_max_epochs(0)


def test_interactive_logging_off_sends_progress_to_the_logger(capsys, caplog):
    assert config.is_interactive_logging_enabled()
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    model = _tiny_model()
    config.disable_interactive_logging()
    try:
        assert not config.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="shendu"):
            model.fit(x, y, batch_size=4, epochs=2, verbose=1)
    finally:
        config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "shendu"]
    assert "Epoch 1/2" in messages and "Epoch 2/2" in messages
    assert sum("loss" in m for m in messages) == 2  # one finished bar per epoch
    model.fit(x, y, batch_size=4, epochs=1, verbose=2)
    assert "loss" in capsys.readouterr().out


def test_layers_read_the_global_image_data_format():
    assert shendu.layers.Conv2D(2, 3).data_format == "channels_last"
    config.set_image_data_format("channels_first")
    try:
        assert shendu.layers.Conv2D(2, 3).data_format == "channels_first"
        assert shendu.layers.MaxPooling2D().data_format == "channels_first"
        # (the layers' channels-first results: tests/layers/test_channels_first.py)
        assert shendu.layers.Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"
    finally:
        config.set_image_data_format("channels_last")
