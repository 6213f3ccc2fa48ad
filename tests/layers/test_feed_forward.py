"""`FeedForward`: harness runs (plain and gated), SwiGLU against NumPy, per-position
independence, errors."""

import numpy as np
import pytest

from tfllm.layers import FeedForward
from tfllm.testing import run_layer_test

X = np.random.default_rng(0).normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)


def test_goes_through_the_harness():
    run_layer_test(
        FeedForward, {"intermediate_dim": 16, "activation": "relu", "dropout": 0.1}, X,
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=4,
    )


def test_gated_goes_through_the_harness():
    run_layer_test(
        FeedForward, {"intermediate_dim": 16, "activation": "silu", "gated": True}, X,
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=4,
    )


def test_swiglu_equals_numpy():
    layer = FeedForward(intermediate_dim=16, activation="silu", gated=True)
    outputs = np.array(layer(X))
    kernel, bias = (np.array(w) for w in layer.intermediate_dense.weights)
    assert kernel.shape == (8, 32)  # (D, 2F): the gate's 16 columns, then the linear ones
    hidden = X @ kernel + bias
    gate, linear = hidden[..., :16], hidden[..., 16:]
    swish = gate / (1.0 + np.exp(-gate))
    expected = (swish * linear) @ np.array(layer.output_dense.kernel) + np.array(
        layer.output_dense.bias)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_positions_are_transformed_independently():
    layer = FeedForward(intermediate_dim=16)
    changed = X.copy()
    changed[:, 3] = 7.0
    np.testing.assert_allclose(layer(X)[:, :3], layer(changed)[:, :3], atol=1e-6)


def test_output_kernel_initializer_is_used_for_the_output_projection_only():
    layer = FeedForward(intermediate_dim=16, kernel_initializer="ones",
                        output_kernel_initializer="zeros")
    layer(X)
    assert np.all(np.array(layer.intermediate_dense.kernel) == 1)
    assert np.all(np.array(layer.output_dense.kernel) == 0)


@pytest.mark.parametrize("kwargs, name", [
    ({"intermediate_dim": 0}, "intermediate_dim=0"),
    ({"intermediate_dim": 16, "activation": "not_an_activation"},
     "activation='not_an_activation'"),
    ({"intermediate_dim": 16, "dropout": -0.1}, "dropout=-0.1"),
    ({"intermediate_dim": 16, "gated": "swiglu"}, "gated='swiglu'"),
    ({"intermediate_dim": 16, "output_kernel_initializer": "nope"},
     "output_kernel_initializer='nope'"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        FeedForward(**kwargs)
