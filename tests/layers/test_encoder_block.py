"""`EncoderBlock`: harness runs (pre-LN, post-LN), bidirectional attention, padding, errors."""

import numpy as np
import pytest

from tfllm.layers import EncoderBlock
from tfllm.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 4, 8)).astype("float32")  # (B, S, D)
PADDING = np.array([[True, True, True, True], [True, True, False, False]])


@pytest.mark.parametrize("norm_first", [True, False])
def test_goes_through_the_harness(norm_first):
    run_layer_test(
        EncoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "norm_first": norm_first},
        X,
        call_kwargs={"padding_mask": PADDING},
        expected_output_shape=(2, 4, 8),
        expected_num_trainable_weights=16,  # 2 LayerNorms x 2, attention 8, MLP 4
        # One fit step, save/load round trip and bfloat16 run are enough.
        run_training_check=norm_first,
        run_saving_check=norm_first,
        run_mixed_precision_check=norm_first,
    )


@pytest.mark.parametrize("norm_first", [True, False])
def test_padded_positions_change_nothing_at_real_ones(norm_first):
    block = EncoderBlock(num_heads=2, intermediate_dim=16, norm_first=norm_first)
    changed = X.copy()
    changed[1, 2:] = RNG.normal(size=(2, 8)) * 10.0
    before = np.array(block(X, padding_mask=PADDING))
    after = np.array(block(changed, padding_mask=PADDING))
    np.testing.assert_allclose(before[0], after[0], atol=1e-6)
    np.testing.assert_allclose(before[1, :2], after[1, :2], atol=1e-5)


def test_attention_is_bidirectional_and_takes_an_attention_mask():
    block = EncoderBlock(num_heads=2, intermediate_dim=16)
    changed = X.copy()
    changed[:, 3] = RNG.normal(size=(2, 8))  # the last position: later than every other one
    before, after = np.array(block(X)), np.array(block(changed))
    assert not np.allclose(before[:, 0], after[:, 0], atol=1e-4)
    # With a causal attention mask the same change leaves earlier positions alone.
    causal = np.tril(np.ones((4, 4), bool))[None].repeat(2, axis=0)  # (B, S, S)
    np.testing.assert_allclose(np.array(block(X, attention_mask=causal))[:, :3],
                               np.array(block(changed, attention_mask=causal))[:, :3], atol=1e-5)


@pytest.mark.parametrize("kwargs, name", [
    ({"num_heads": 0, "intermediate_dim": 16}, "num_heads=0"),
    ({"num_heads": 2, "intermediate_dim": -1}, "intermediate_dim=-1"),
    ({"num_heads": 2, "intermediate_dim": 16, "dropout": 1.5}, "dropout=1.5"),
    ({"num_heads": 2, "intermediate_dim": 16, "norm_first": "post"}, "norm_first='post'"),
    ({"num_heads": 2, "intermediate_dim": 16, "layer_norm_epsilon": -1.0},
     "layer_norm_epsilon=-1.0"),
    ({"num_heads": 2, "intermediate_dim": 16, "activation": "nope"}, "activation='nope'"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        EncoderBlock(**kwargs)


def test_width_not_divisible_by_heads_is_named():
    with pytest.raises(ValueError, match=r"num_heads=3, inputs.shape\[-1\]=8"):
        EncoderBlock(num_heads=3, intermediate_dim=16)(X)
