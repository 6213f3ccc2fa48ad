"""`PositionEmbedding`: harness run, start_index slicing, and errors."""

import numpy as np
import pytest

from tfllm.layers import PositionEmbedding
from tfllm.testing import run_layer_test

INPUTS = np.zeros((2, 4, 8), dtype="float32")  # (B, T, D)


def test_goes_through_the_harness():
    run_layer_test(
        PositionEmbedding, {"sequence_length": 8}, INPUTS,
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=1,
    )


def test_start_index_selects_the_rows_of_those_positions():
    layer = PositionEmbedding(sequence_length=8)
    full = np.array(layer(np.zeros((1, 8, 8), "float32")))
    table = np.array(layer.embeddings)
    np.testing.assert_array_equal(full[0], table)
    np.testing.assert_array_equal(layer(INPUTS[:, :2], start_index=5)[1], table[5:7])
    # A tensor index (as inside a compiled decoding loop) gives the same rows.
    np.testing.assert_array_equal(layer(INPUTS[:, :1], start_index=np.int32(6))[0], table[6:7])


def test_position_ids_give_each_row_its_own_positions():
    layer = PositionEmbedding(sequence_length=8)
    vectors = np.zeros((2, 3, 4), "float32")
    by_start = np.array(layer(vectors, start_index=2))
    by_ids = np.array(layer(vectors, position_ids=np.array([[2, 3, 4], [0, 0, 1]])))
    np.testing.assert_array_equal(by_ids[0], by_start[0])
    np.testing.assert_array_equal(by_ids[1, 2], np.array(layer(vectors))[0, 1])


def test_positions_past_sequence_length_are_refused():
    layer = PositionEmbedding(sequence_length=8)
    with pytest.raises(ValueError, match="sequence_length"):
        layer(np.zeros((1, 9, 8), "float32"))
    with pytest.raises(ValueError, match="start_index=6"):
        layer(INPUTS, start_index=6)
    with pytest.raises(ValueError, match="start_index=-1"):
        layer(INPUTS, start_index=-1)


@pytest.mark.parametrize("kwargs, name", [
    ({"sequence_length": 0}, "sequence_length=0"),
    ({"sequence_length": 8, "initializer": 3}, "initializer=3"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        PositionEmbedding(**kwargs)
