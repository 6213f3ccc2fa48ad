"""`SinusoidalPositionEncoding`: harness run, the formula, and start_index."""

import numpy as np
import pytest

from tfllm.layers import SinusoidalPositionEncoding
from tfllm.testing import run_layer_test


def test_goes_through_the_harness():
    run_layer_test(
        SinusoidalPositionEncoding, {}, np.zeros((2, 4, 8), "float32"),
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=0,
    )


def test_matches_the_formula_and_shifts_with_start_index():
    width, max_wavelength = 6, 100.0
    layer = SinusoidalPositionEncoding(max_wavelength=max_wavelength)
    encoding = np.array(layer(np.zeros((1, 5, width), "float32")))[0]  # (T, D)
    positions = np.arange(5)[:, None]
    features = np.arange(width)[None, :]
    angles = positions / max_wavelength ** (2 * (features // 2) / width)
    expected = np.where(features % 2 == 0, np.sin(angles), np.cos(angles))
    np.testing.assert_allclose(encoding, expected, atol=1e-5)
    shifted = np.array(layer(np.zeros((1, 2, width), "float32"), start_index=3))[0]
    np.testing.assert_allclose(shifted, encoding[3:5], atol=1e-5)


def test_position_ids_match_start_index_row_by_row():
    layer = SinusoidalPositionEncoding()
    vectors = np.zeros((2, 3, 6), "float32")
    shifted = np.array(layer(vectors, start_index=4))
    by_ids = np.array(layer(vectors, position_ids=np.array([[4, 5, 6], [0, 1, 2]])))
    np.testing.assert_allclose(by_ids[0], shifted[0], atol=1e-6)
    np.testing.assert_allclose(by_ids[1], np.array(layer(vectors))[0], atol=1e-6)


@pytest.mark.parametrize("value", [0, -1.0, "long"])
def test_invalid_max_wavelength_is_named(value):
    with pytest.raises(ValueError, match=f"Received: max_wavelength={value!r}"):
        SinusoidalPositionEncoding(max_wavelength=value)
