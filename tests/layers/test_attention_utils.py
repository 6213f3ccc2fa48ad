"""`causal_mask` and `merge_padding_and_attention_masks`."""

import numpy as np
import pytest

from tfllm.layers.attention_utils import causal_mask, merge_padding_and_attention_masks


def test_causal_mask_is_lower_triangular_and_broadcast_over_the_batch():
    mask = np.array(causal_mask(2, 4, 4))
    assert mask.shape == (2, 4, 4) and mask.dtype == bool
    np.testing.assert_array_equal(mask[1], np.tril(np.ones((4, 4), bool)))


def test_cached_rows_equal_the_rows_of_a_full_mask():
    full = np.array(causal_mask(1, 6, 6))
    for position in range(6):
        step = np.array(causal_mask(1, 1, 6, cache_index=position))
        np.testing.assert_array_equal(step[0, 0], full[0, position])
    prefill = np.array(causal_mask(1, 3, 6, cache_index=np.int32(2)))  # tensor-like index
    np.testing.assert_array_equal(prefill[0], full[0, 2:5])


def test_merge_is_a_logical_and_of_key_padding_and_attention_masks():
    padding = np.array([[True, True, False]])
    merged = np.array(merge_padding_and_attention_masks(padding, causal_mask(1, 3, 3)))
    np.testing.assert_array_equal(merged[0], np.tril(np.ones((3, 3), bool)) & padding)
    assert np.array(merge_padding_and_attention_masks(padding, None)).shape == (1, 1, 3)
    assert merge_padding_and_attention_masks(None, None) is None


def test_bad_shapes_and_values_are_named():
    with pytest.raises(ValueError, match="padding_mask.shape=\\(3,\\)"):
        merge_padding_and_attention_masks(np.ones(3, bool), None)
    with pytest.raises(ValueError, match="attention_mask.shape=\\(3, 3\\)"):
        merge_padding_and_attention_masks(None, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="cache_index=-1"):
        causal_mask(1, 1, 4, cache_index=-1)
