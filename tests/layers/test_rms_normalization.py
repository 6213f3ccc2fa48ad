"""`normalization_layer`: RMSNorm against NumPy, Keras's RMSNormalization through the harness."""

import keras
import numpy as np
import pytest

from tfllm.layers.rms_normalization import normalization_layer
from tfllm.testing import run_layer_test

X = np.random.default_rng(0).normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)


def test_keras_rms_normalization_goes_through_the_harness():
    # What tfllm relies on: config round trip, safe_mode reload, float32 gain under bf16.
    run_layer_test(
        keras.layers.RMSNormalization, {"epsilon": 1e-5}, X,
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=1,
    )


def test_rms_norm_equals_numpy_and_ignores_the_scale_of_its_input():
    layer = normalization_layer("rms_norm", epsilon=1e-6)
    expected = X / np.sqrt(np.mean(X**2, axis=-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)
    np.testing.assert_allclose(layer(10.0 * X), layer(X), atol=1e-5)
    assert not np.allclose(layer(X + 3.0), layer(X) + 3.0)  # no centring, unlike LayerNorm


def test_layer_norm_is_keras_layer_normalization_with_the_epsilon():
    layer = normalization_layer("layer_norm", epsilon=1e-3, name="norm")
    assert isinstance(layer, keras.layers.LayerNormalization)
    assert (layer.epsilon, layer.name) == (1e-3, "norm")


@pytest.mark.parametrize("kind, epsilon, name", [
    ("batch_norm", 1e-5, "normalization='batch_norm'"),
    ("rms_norm", 0.0, "epsilon=0.0"),
])
def test_invalid_arguments_are_named(kind, epsilon, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        normalization_layer(kind, epsilon)
