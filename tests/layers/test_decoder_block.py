"""`DecoderBlock`: harness runs (pre-LN, post-LN, cached, the decoder options), causality,
padding, the cache."""

import numpy as np
import pytest

from tfllm.layers import DecoderBlock
from tfllm.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)
PADDING = np.array([[True, True, True, True], [True, True, True, False]])


@pytest.mark.parametrize("norm_first", [True, False])
def test_goes_through_the_harness(norm_first):
    run_layer_test(
        DecoderBlock,
        {"num_heads": 2, "intermediate_dim": 16, "dropout": 0.1, "norm_first": norm_first},
        X,
        call_kwargs={"padding_mask": PADDING},
        expected_output_shape=(2, 4, 8),
        expected_num_trainable_weights=16,  # 2 LayerNorms x 2, attention 8, MLP 4
        run_saving_check=norm_first,  # one save/load round trip is enough
    )


def test_cached_call_goes_through_the_harness():
    run_layer_test(
        DecoderBlock, {"num_heads": 2, "intermediate_dim": 16}, X[:, :1],
        call_kwargs={"cache": np.zeros((2, 2, 2, 4, 4), "float32"), "cache_update_index": 0},
        expected_output_shape=((2, 1, 8), (2, 2, 2, 4, 4)),
        run_training_check=False,
        run_saving_check=False,
    )


@pytest.mark.parametrize("norm_first", [True, False])
def test_future_and_padded_tokens_change_nothing_earlier(norm_first):
    block = DecoderBlock(num_heads=2, intermediate_dim=16, norm_first=norm_first)
    changed = X.copy()
    changed[:, 3] += 5.0  # a future token for positions 0..2, and padding in row 1
    before = np.array(block(X, padding_mask=PADDING))
    after = np.array(block(changed, padding_mask=PADDING))
    np.testing.assert_allclose(before[:, :3], after[:, :3], atol=1e-5)


ALL_OPTIONS = {"normalization": "rms_norm", "gated_feed_forward": True, "activation": "silu",
               "num_key_value_heads": 1, "qk_norm": True, "rotary": True}


def test_decoder_options_go_through_the_harness():
    run_layer_test(
        DecoderBlock, {"num_heads": 2, "intermediate_dim": 16, **ALL_OPTIONS}, X,
        call_kwargs={"padding_mask": PADDING},
        expected_output_shape=(2, 4, 8),
        # 2 RMSNorms x 1, attention 8 + 2 QK RMSNorms, gated MLP 4
        expected_num_trainable_weights=16,
    )


@pytest.mark.parametrize("options", [
    {}, {"normalization": "rms_norm"}, {"gated_feed_forward": True}, {"num_key_value_heads": 1},
    {"qk_norm": True}, {"rotary": True}, ALL_OPTIONS,
])
def test_cached_steps_equal_one_full_pass(options):
    block = DecoderBlock(num_heads=2, intermediate_dim=16, **options)
    full = np.array(block(X))
    heads = options.get("num_key_value_heads", 2)
    cache = np.zeros((2, 2, heads, 4, 4), "float32")  # (B, 2, K, S, H)
    output, cache = block(X[:, :2], cache=cache, cache_update_index=0)  # prefill
    outputs = [np.array(output)]
    for index in range(2, 4):
        output, cache = block(X[:, index:index + 1], cache=cache, cache_update_index=index)
        outputs.append(np.array(output))
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)


def test_rotary_block_takes_each_rows_positions():
    block = DecoderBlock(num_heads=2, intermediate_dim=16, rotary=True)
    alone = np.array(block(X[:1, 1:]))  # three tokens from position 0
    padded, _ = block(X[:1], padding_mask=np.array([[False, True, True, True]]),
                      cache=np.zeros((1, 2, 2, 4, 4), "float32"), cache_update_index=0,
                      position_ids=np.array([[0, 0, 1, 2]]))
    np.testing.assert_allclose(np.array(padded)[:, 1:], alone, atol=1e-5)


def test_cache_arguments_are_checked():
    block = DecoderBlock(num_heads=2, intermediate_dim=16)
    with pytest.raises(ValueError, match="cache_update_index=None"):
        block(X[:, :1], cache=np.zeros((2, 2, 2, 4, 4), "float32"))
    with pytest.raises(ValueError, match="cache=None, cache_update_index=1"):
        block(X, cache_update_index=1)


@pytest.mark.parametrize("kwargs, name", [
    ({"num_heads": 0, "intermediate_dim": 16}, "num_heads=0"),
    ({"num_heads": 2, "intermediate_dim": None}, "intermediate_dim=None"),
    ({"num_heads": 2, "intermediate_dim": 16, "dropout": 2}, "dropout=2"),
    ({"num_heads": 2, "intermediate_dim": 16, "norm_first": "pre"}, "norm_first='pre'"),
    ({"num_heads": 2, "intermediate_dim": 16, "layer_norm_epsilon": 0}, "layer_norm_epsilon=0"),
    ({"num_heads": 2, "intermediate_dim": 16, "activation": "nope"}, "activation='nope'"),
    ({"num_heads": 2, "intermediate_dim": 16, "normalization": "batch"},
     "normalization='batch'"),
    ({"num_heads": 2, "intermediate_dim": 16, "gated_feed_forward": 1}, "gated_feed_forward=1"),
    ({"num_heads": 4, "intermediate_dim": 16, "num_key_value_heads": 3},
     "num_heads=4, num_key_value_heads=3"),
    ({"num_heads": 2, "intermediate_dim": 16, "qk_norm": None}, "qk_norm=None"),
    ({"num_heads": 2, "intermediate_dim": 16, "rotary": "yes"}, "rotary='yes'"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        DecoderBlock(**kwargs)


def test_width_not_divisible_by_heads_is_named():
    with pytest.raises(ValueError, match=r"num_heads=3, inputs.shape\[-1\]=8"):
        DecoderBlock(num_heads=3, intermediate_dim=16)(X)
