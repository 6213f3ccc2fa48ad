"""`GPT`: harness runs, causality, padding, the KV cache, parameter counts, errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import GPT
from tfllm.testing import run_model_test

# GPT-2's layout (`GPT.original_options`): the base that the options are switched on from.
SMALL = dict(GPT.original_options, vocabulary_size=32, sequence_length=8, num_layers=2,
             num_heads=2, hidden_dim=8, intermediate_dim=16)


def gpt(**options):
    """The small GPT with `options` over GPT-2's layout."""
    return GPT(**{**SMALL, **options})


RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(1, 32, size=(2, 8)).astype("int32")  # (B, T)
PADDING = np.array([[True] * 8, [True] * 5 + [False] * 3])
INPUTS = {"token_ids": TOKEN_IDS, "padding_mask": PADDING}
# The decoder options (each is tested alone in test_gpt_options.py); all at once here.
ALL_OPTIONS = {"position_encoding": "rope", "normalization": "rms_norm", "feed_forward": "swiglu",
               "num_key_value_heads": 1, "qk_norm": True, "residual_init": "unscaled"}


def test_goes_through_the_harness_with_xla_fit():
    run_model_test(
        GPT, {**SMALL, "dropout": 0.1}, INPUTS,
        expected_output_shape=(2, 8, 32),
        # token + position tables, 2 blocks x 16, final LayerNorm x 2
        expected_num_trainable_weights=36,
        jit_compile=True,
    )


@pytest.mark.parametrize("variant", [
    {"norm_first": False, "position_encoding": "sinusoidal"},
    {"tie_embeddings": False},
])
def test_variants_go_through_the_harness(variant):
    run_model_test(
        GPT, {**SMALL, **variant}, INPUTS, expected_output_shape=(2, 8, 32),
        run_saving_check=False, run_mixed_precision_check=False,
    )


def test_tied_embeddings_have_no_separate_output_kernel():
    tied, untied = gpt(), gpt(tie_embeddings=False)
    tied(INPUTS), untied(INPUTS)
    assert not any("output_kernel" in w.path for w in tied.weights)
    assert untied.count_params() - tied.count_params() == 8 * 32  # one (D, V) kernel


def test_residual_projections_use_the_scaled_init():
    model = GPT(vocabulary_size=32, sequence_length=8, num_layers=8, num_heads=2,
                hidden_dim=16, intermediate_dim=64)
    model(INPUTS)
    block = model.decoder_blocks[0]
    query = np.array(block.self_attention.query_dense.kernel)
    output = np.array(block.feed_forward.output_dense.kernel)
    assert abs(query.std() - 0.02) < 0.005
    assert abs(output.std() - 0.02 / 4.0) < 0.0015  # 0.02 / sqrt(2 * 8)
    assert np.all(np.array(block.self_attention.query_dense.bias) == 0)


@pytest.mark.parametrize("variant", [
    {}, {"norm_first": False, "position_encoding": "sinusoidal"}, ALL_OPTIONS,
])
def test_changing_a_future_token_leaves_earlier_logits_unchanged(variant):
    model = gpt(**variant)
    changed = TOKEN_IDS.copy()
    changed[:, 5] = (changed[:, 5] + 1) % 32
    before = np.array(model({"token_ids": TOKEN_IDS}))
    after = np.array(model({"token_ids": changed}))
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def test_padded_positions_change_nothing_at_real_positions():
    model = gpt()
    other_padding = TOKEN_IDS.copy()
    other_padding[1, 5:] = [0, 7, 31]
    before = np.array(model(INPUTS))
    after = np.array(model({"token_ids": other_padding, "padding_mask": PADDING}))
    np.testing.assert_allclose(before[1, :5], after[1, :5], atol=1e-6)


XLA_VARIANTS = [{}, {"norm_first": False, "position_encoding": "sinusoidal"}, ALL_OPTIONS]


@pytest.mark.parametrize("variant", [
    *XLA_VARIANTS, {"position_encoding": "rope"}, {"normalization": "rms_norm"},
    {"feed_forward": "swiglu"}, {"num_key_value_heads": 1}, {"qk_norm": True},
])
def test_cached_steps_after_a_prefill_equal_one_full_pass(variant):
    model = gpt(**variant)
    full = np.array(model({"token_ids": TOKEN_IDS}))
    cache = model.build_cache(batch_size=2, max_length=8)
    heads = variant.get("num_key_value_heads", 2)
    assert [tuple(c.shape) for c in cache] == [(2, 2, heads, 8, 4)] * 2  # L x (B, 2, K, S, H)

    # A tensor index, as in the decoding loop; its XLA compilation for a few variants only,
    # to keep the tests short.
    @tf.function(jit_compile=variant in XLA_VARIANTS)
    def step(token_ids, cache, index):
        return model.call_with_cache(token_ids, cache, index)

    logits, cache = model.call_with_cache(TOKEN_IDS[:, :3], cache, 0)  # prefill
    pieces = [np.array(logits)]
    for index in range(3, 8):
        logits, cache = step(TOKEN_IDS[:, index:index + 1], cache, tf.constant(index))
        pieces.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-5)
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("variant", [
    {}, {"position_encoding": "sinusoidal"}, {"position_encoding": "rope"}, ALL_OPTIONS,
])
def test_left_padded_prompt_with_its_own_positions_equals_the_prompt_alone(variant):
    model = gpt(**variant)
    prompt = TOKEN_IDS[:1, :5]
    alone, _ = model.call_with_cache(prompt, model.build_cache(1, 8), 0)
    padded_ids = np.concatenate([np.full((1, 3), 7, "int32"), prompt], axis=1)  # (1, 8)
    slots = np.arange(8)
    padded, _ = model.call_with_cache(
        padded_ids, model.build_cache(1, 8), 0,
        padding_mask=(slots >= 3)[None], position_ids=np.maximum(slots - 3, 0)[None],
    )
    np.testing.assert_allclose(np.array(padded)[:, 3:], np.array(alone), atol=1e-5)


def test_segment_ids_keep_attention_inside_each_packed_document():
    model = gpt()
    segments = np.array([[1, 1, 1, 2, 2, 2, 2, 0]] * 2, "int32")
    changed = TOKEN_IDS.copy()
    changed[:, :3] = (changed[:, :3] + 5) % 32  # another first document
    before = np.array(model({"token_ids": TOKEN_IDS, "segment_ids": segments}))
    after = np.array(model({"token_ids": changed, "segment_ids": segments}))
    np.testing.assert_allclose(before[:, 3:7], after[:, 3:7], atol=1e-6)
    # Without the document mask the second document does see the first.
    plain_before = np.array(model({"token_ids": TOKEN_IDS}))
    plain_after = np.array(model({"token_ids": changed}))
    assert not np.allclose(plain_before[:, 3:7], plain_after[:, 3:7])


def test_mixed_precision_logits_are_float32_and_cache_follows_the_compute_dtype():
    model = gpt(dtype="mixed_bfloat16")
    assert model(INPUTS).dtype == tf.float32
    cache = model.build_cache(2, 8)
    assert all(c.dtype == tf.bfloat16 for c in cache)
    logits, new_cache = model.call_with_cache(TOKEN_IDS[:, :1], cache, 0)
    assert logits.dtype == tf.float32 and all(c.dtype == tf.bfloat16 for c in new_cache)


def test_attributes_and_summary():
    model = gpt()
    model(INPUTS)
    assert (model.sequence_length, model.vocabulary_size) == (8, 32)
    lines = []
    model.summary(print_fn=lines.append)
    assert "decoder_block_1" in "\n".join(lines)


def test_too_long_inputs_and_caches_are_refused():
    model = gpt()
    with pytest.raises(ValueError, match="sequence_length"):
        model({"token_ids": np.zeros((1, 9), "int32")})
    with pytest.raises(ValueError, match="max_length=9"):
        model.build_cache(1, 9)
    with pytest.raises(ValueError, match="batch_size=0"):
        model.build_cache(0, 4)
    with pytest.raises(ValueError, match="keys \\['ids'\\]"):
        model({"ids": TOKEN_IDS})


@pytest.mark.parametrize("override, name", [
    ({"vocabulary_size": 0}, "vocabulary_size=0"),
    ({"num_layers": -1}, "num_layers=-1"),
    ({"num_heads": 3}, "hidden_dim=8, num_heads=3"),
    ({"dropout": 1.5}, "dropout=1.5"),
    ({"position_encoding": "rotary"}, "position_encoding='rotary'"),
    ({"norm_first": None}, "norm_first=None"),
    ({"tie_embeddings": "yes"}, "tie_embeddings='yes'"),
    ({"layer_norm_epsilon": -1e-5}, "layer_norm_epsilon=-1e-05"),
])
def test_invalid_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        GPT(**{**SMALL, **override})
