"""Cross-attention: `MultiHeadAttention(key_value=...)` and `DecoderBlock(cross_attention=True)`:
harness runs with the encoder outputs as a second input, source padding, cached decoding with
precomputed keys and values, errors."""

import numpy as np
import pytest

from tfllm.layers import DecoderBlock, MultiHeadAttention
from tfllm.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)
SOURCE = RNG.normal(size=(2, 5, 12)).astype("float32")  # (B, S, D_e), D_e != D
SOURCE_MASK = np.array([[True] * 5, [True] * 3 + [False] * 2])  # (B, S)
CROSS = {"num_heads": 2, "intermediate_dim": 16, "cross_attention": True}


@pytest.mark.parametrize("norm_first", [True, False])
def test_cross_attention_block_goes_through_the_harness(norm_first):
    run_layer_test(
        DecoderBlock, {**CROSS, "dropout": 0.1, "norm_first": norm_first}, X,
        call_kwargs={"encoder_outputs": SOURCE, "encoder_padding_mask": SOURCE_MASK,
                     "padding_mask": np.array([[True] * 4, [True] * 3 + [False]])},
        expected_output_shape=(2, 4, 8),
        expected_num_trainable_weights=26,  # 3 LayerNorms x 2, 2 attentions x 8, MLP 4
        run_saving_check=norm_first,  # one save/load round trip is enough
        run_mixed_precision_check=norm_first,
    )


def test_cached_cross_attention_step_goes_through_the_harness():
    key_value = RNG.normal(size=(2, 2, 2, 5, 4)).astype("float32")  # (B, 2, N, S, H)
    run_layer_test(
        DecoderBlock, CROSS, X[:, :1],
        call_kwargs={"cache": np.zeros((2, 2, 2, 4, 4), "float32"), "cache_update_index": 0,
                     "cross_key_value": key_value, "encoder_padding_mask": SOURCE_MASK},
        expected_output_shape=((2, 1, 8), (2, 2, 2, 4, 4)),
        run_training_check=False,
        run_saving_check=False,
    )


def test_key_value_equals_projecting_value():
    layer = MultiHeadAttention(num_heads=2)
    mask = SOURCE_MASK[:, None, :]  # (B, 1, S)
    projected = np.array(layer(X, SOURCE, attention_mask=mask))
    key_value = layer.key_value_heads(SOURCE)
    assert tuple(key_value.shape) == (2, 2, 2, 5, 4)  # (B, 2, N, S, H)
    keys = np.array(layer.key_dense(SOURCE)).transpose(0, 2, 1, 3)  # (B, N, S, H)
    np.testing.assert_allclose(np.array(key_value[:, 0]), keys, atol=1e-6)
    reused = np.array(layer(X, attention_mask=mask, key_value=key_value))
    np.testing.assert_allclose(reused, projected, atol=1e-6)


@pytest.mark.parametrize("norm_first", [True, False])
def test_padded_source_positions_change_nothing(norm_first):
    block = DecoderBlock(**CROSS, norm_first=norm_first)
    changed = SOURCE.copy()
    changed[1, 3:] = RNG.normal(size=(2, 12)) * 10.0  # row 1's padded source positions
    before = np.array(block(X, encoder_outputs=SOURCE, encoder_padding_mask=SOURCE_MASK))
    after = np.array(block(X, encoder_outputs=changed, encoder_padding_mask=SOURCE_MASK))
    np.testing.assert_allclose(before, after, atol=1e-5)
    unmasked = np.array(block(X, encoder_outputs=changed))
    assert not np.allclose(before[1], unmasked[1], atol=1e-4)


def test_a_future_target_token_changes_nothing_earlier():
    block = DecoderBlock(**CROSS)
    changed = X.copy()
    changed[:, 3] = RNG.normal(size=(2, 8))
    before = np.array(block(X, encoder_outputs=SOURCE, encoder_padding_mask=SOURCE_MASK))
    after = np.array(block(changed, encoder_outputs=SOURCE, encoder_padding_mask=SOURCE_MASK))
    np.testing.assert_allclose(before[:, :3], after[:, :3], atol=1e-5)


@pytest.mark.parametrize("options", [
    {"norm_first": True}, {"norm_first": False},
    # The decoder options: rotary in the self-attention only, GQA and QK-norm in both.
    {"num_key_value_heads": 1, "qk_norm": True, "rotary": True, "normalization": "rms_norm"},
])
def test_cached_steps_with_precomputed_key_value_equal_one_full_pass(options):
    block = DecoderBlock(**CROSS, **options)
    full = np.array(block(X, encoder_outputs=SOURCE, encoder_padding_mask=SOURCE_MASK))
    key_value = block.cross_attention_key_value(SOURCE)  # once for the whole decode
    heads = options.get("num_key_value_heads", 2)
    assert tuple(key_value.shape) == (2, 2, heads, 5, 4)  # (B, 2, K, S, H)
    cache = np.zeros((2, 2, heads, 4, 4), "float32")  # (B, 2, K, T, H)
    output, cache = block(X[:, :2], cache=cache, cache_update_index=0,
                          cross_key_value=key_value, encoder_padding_mask=SOURCE_MASK)
    outputs = [np.array(output)]
    for index in range(2, 4):
        output, cache = block(X[:, index:index + 1], cache=cache, cache_update_index=index,
                              cross_key_value=key_value, encoder_padding_mask=SOURCE_MASK)
        outputs.append(np.array(output))
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)


def test_without_cross_attention_the_block_is_unchanged():
    block = DecoderBlock(num_heads=2, intermediate_dim=16)
    block(X)
    assert len(block.trainable_weights) == 16
    assert not any("cross" in weight.path for weight in block.weights)
    assert block.get_config()["cross_attention"] is False
    assert DecoderBlock.from_config(DecoderBlock(**CROSS).get_config()).cross_attention is True


def test_misuse_raises_errors_that_name_the_argument():
    plain, cross = DecoderBlock(num_heads=2, intermediate_dim=16), DecoderBlock(**CROSS)
    cache = np.zeros((2, 2, 2, 4, 4), "float32")
    with pytest.raises(ValueError, match="cross_attention=False, encoder_outputs given"):
        plain(X, encoder_outputs=SOURCE)
    with pytest.raises(ValueError, match="cross_attention=False, encoder_padding_mask given"):
        plain(X, encoder_padding_mask=SOURCE_MASK)
    with pytest.raises(ValueError, match="Received: encoder_outputs=None, cross_key_value=None"):
        cross(X)
    with pytest.raises(ValueError, match=r"width 8. Received: encoder_outputs.shape=\(2, 5, 12\)"):
        cross(X, encoder_outputs=SOURCE)  # the failed call above built it for D_e = D
    cross = DecoderBlock(**CROSS)
    cross(X, encoder_outputs=SOURCE)
    key_value = cross.cross_attention_key_value(SOURCE)
    with pytest.raises(ValueError, match="not both"):
        cross(X, encoder_outputs=SOURCE, cross_key_value=key_value)
    with pytest.raises(ValueError, match="Received: cross_key_value=None"):
        cross(X[:, :1], cache=cache, cache_update_index=0, encoder_outputs=SOURCE)
    with pytest.raises(ValueError, match="Received: cross_attention=False"):
        plain.cross_attention_key_value(SOURCE)
    with pytest.raises(ValueError, match="unbuilt DecoderBlock"):
        DecoderBlock(**CROSS).cross_attention_key_value(SOURCE)
    with pytest.raises(ValueError, match="Received: cross_attention='yes'"):
        DecoderBlock(num_heads=2, intermediate_dim=16, cross_attention="yes")


def test_key_value_misuse_raises_errors_that_name_the_argument():
    layer = MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match="unbuilt MultiHeadAttention"):
        layer.key_value_heads(SOURCE)
    layer(X, SOURCE)
    key_value = layer.key_value_heads(SOURCE)
    with pytest.raises(ValueError, match="Received: key_value and value"):
        layer(X, SOURCE, key_value=key_value)
    with pytest.raises(ValueError, match=r"key_value.shape=\(2, 2, 5, 2, 4\)"):
        layer(X, key_value=np.zeros((2, 2, 5, 2, 4), "float32"))
    rotary = MultiHeadAttention(num_heads=2, rotary=True)
    rotary(X)
    with pytest.raises(ValueError, match="Received: rotary=True"):
        rotary.key_value_heads(SOURCE[..., :8])
