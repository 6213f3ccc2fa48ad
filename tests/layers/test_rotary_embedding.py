"""`RotaryEmbedding`: harness run, the rotation against NumPy, relative positions, errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.layers import RotaryEmbedding
from tfllm.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 5, 3, 4)).astype("float32")  # (B, T, N, H)


def rotate(x, positions, max_wavelength=10000.0):
    """NumPy reference: pair i = (i, i + H/2) turned by positions * max_wavelength^(-2i/H)."""
    half = x.shape[-1] // 2
    angles = positions[..., None, None] * max_wavelength ** (-np.arange(half) / half)
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * np.cos(angles) - second * np.sin(angles),
                           second * np.cos(angles) + first * np.sin(angles)], axis=-1)


def test_goes_through_the_harness():
    run_layer_test(
        RotaryEmbedding, {"max_wavelength": 100}, X, call_kwargs={"start_index": 2},
        expected_output_shape=(2, 5, 3, 4), expected_num_trainable_weights=0,
    )


def test_rotation_equals_numpy_with_start_index_and_position_ids():
    layer = RotaryEmbedding(max_wavelength=100)
    expected = rotate(X, np.arange(3, 8)[None, :], 100.0)
    np.testing.assert_allclose(layer(X, start_index=3), expected, atol=1e-5)
    positions = np.array([[0, 0, 1, 2, 3], [4, 5, 6, 7, 8]], "int32")  # (B, T): own positions
    np.testing.assert_allclose(layer(X, position_ids=positions), rotate(X, positions, 100.0),
                               atol=1e-5)
    index = tf.constant(3)  # a tensor index, as in a compiled decoding loop
    np.testing.assert_allclose(layer(X, start_index=index), expected, atol=1e-5)


def test_rotation_keeps_lengths_and_scores_depend_on_the_offset_only():
    layer = RotaryEmbedding()
    np.testing.assert_allclose(np.linalg.norm(layer(X, start_index=7), axis=-1),
                               np.linalg.norm(X, axis=-1), rtol=1e-5)
    query, key = X[:, :1], X[:, 1:2]  # (B, 1, N, H) each

    def scores(query_position, key_position):
        return np.sum(layer(query, start_index=query_position)
                      * layer(key, start_index=key_position), axis=-1)

    np.testing.assert_allclose(scores(6, 2), scores(104, 100), atol=1e-4)
    assert not np.allclose(scores(6, 2), scores(6, 5), atol=1e-3)


def test_rotation_runs_in_float32_under_mixed_precision():
    layer = RotaryEmbedding(dtype="mixed_bfloat16")
    output = layer(X, start_index=1000)  # bfloat16 angles near 1000 would be off by ~4
    assert output.dtype == tf.bfloat16
    expected = rotate(X, np.arange(1000, 1005)[None, :])
    np.testing.assert_allclose(np.array(tf.cast(output, tf.float32)), expected, atol=0.05)


def test_odd_head_sizes_and_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"Received: inputs.shape=\(2, 5, 3, 3\)"):
        RotaryEmbedding()(X[..., :3])
    with pytest.raises(ValueError, match="Received: max_wavelength=0"):
        RotaryEmbedding(max_wavelength=0)
    with pytest.raises(ValueError, match="Received: start_index=-1"):
        RotaryEmbedding()(X, start_index=-1)
