"""`loop=custom` trains with the model's compiled loss and metrics, like `model.fit`."""

import keras
import numpy as np
import tensorflow as tf

from tfllm.config import ModelConfig
from tfllm.data import lm_dataset
from tfllm.models import build_model
from tfllm.objectives import MaskedAccuracy, MaskedCrossEntropy
from tfllm.training import CustomTrainingLoop

TINY = ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
                               intermediate_dim=16))


def _compiled_model():
    keras.utils.set_random_seed(11)
    model = build_model(TINY, vocabulary_size=32)
    # Not the default loss: with label smoothing the loss differs from plain cross-entropy, so
    # a loop that hard-coded cross-entropy would report (and train on) another number.
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=MaskedCrossEntropy(label_smoothing=0.3),
                  weighted_metrics=[MaskedAccuracy()])
    return model


def _data():
    ids = np.random.default_rng(0).integers(1, 32, 3000).astype("int32")
    return lm_dataset(ids, 8, 4, seed=5)


def test_the_first_step_loss_and_update_are_the_same_under_fit_and_custom():
    fitted = _compiled_model()
    fit_history = fitted.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
    custom = _compiled_model()
    loop = CustomTrainingLoop(custom, tf.distribute.get_strategy(), _data())
    custom_history = loop.fit(epochs=1, steps_per_epoch=1, verbose=0)
    assert sorted(custom_history.history) == sorted(fit_history.history) == ["accuracy", "loss"]
    np.testing.assert_allclose(custom_history.history["loss"], fit_history.history["loss"],
                               rtol=1e-6)
    x, labels, weights = next(iter(_data()))
    smoothed = MaskedCrossEntropy(label_smoothing=0.3)(labels, _compiled_model()(x), weights)
    np.testing.assert_allclose(fit_history.history["loss"][0], float(smoothed), rtol=1e-6)
    for a, b in zip(fitted.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_an_uncompiled_model_is_refused():
    model = build_model(TINY, vocabulary_size=32)
    try:
        CustomTrainingLoop(model, tf.distribute.get_strategy(), _data())
    except ValueError as error:
        assert "must be compiled" in str(error)
    else:
        raise AssertionError("an uncompiled model was accepted")
