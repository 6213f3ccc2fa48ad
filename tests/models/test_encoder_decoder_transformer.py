"""`EncoderDecoderTransformer`: harness runs, causality, source padding, cached decoding equal
to a full pass with the encoder run once, building from a ModelConfig, errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.config import ModelConfig
from tfllm.models import EncoderDecoderTransformer, Seq2SeqLanguageModel, build_model
from tfllm.testing import run_model_test

SMALL = dict(vocabulary_size=32, source_length=6, target_length=5, num_encoder_layers=1,
             num_decoder_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, dropout=0.0)
RNG = np.random.default_rng(0)
SOURCE = {
    "encoder_token_ids": RNG.integers(1, 32, size=(2, 6)).astype("int32"),  # (B, S)
    "encoder_padding_mask": np.array([[True] * 6, [True] * 4 + [False] * 2]),
}
TARGET_IDS = np.concatenate(
    [np.ones((2, 1), "int32"), RNG.integers(2, 32, size=(2, 4)).astype("int32")], axis=1
)  # (B, T): the start id 1, then the target
INPUTS = {**SOURCE, "token_ids": TARGET_IDS,
          "padding_mask": np.array([[True] * 5, [True] * 3 + [False] * 2])}


def test_goes_through_the_harness():
    run_model_test(
        EncoderDecoderTransformer, {**SMALL, "dropout": 0.1}, INPUTS,
        expected_output_shape=(2, 5, 32),
        # token table, encoder block 16, decoder block 26, 2 final LayerNorms x 2
        expected_num_trainable_weights=47,
    )


def test_post_ln_learned_untied_variant_goes_through_the_harness():
    variant = {"norm_first": False, "position_encoding": "learned", "tie_embeddings": False}
    run_model_test(
        EncoderDecoderTransformer, {**SMALL, **variant}, INPUTS,
        expected_output_shape=(2, 5, 32),
        # token table + output kernel, 2 position tables, blocks 16 + 26, no final norms
        expected_num_trainable_weights=46,
        run_training_check=False, run_saving_check=False, run_mixed_precision_check=False,
    )


@pytest.mark.parametrize("variant", [{}, {"norm_first": False, "position_encoding": "learned"}])
def test_a_future_target_token_leaves_earlier_logits_unchanged(variant):
    model = EncoderDecoderTransformer(**SMALL, **variant)
    changed = TARGET_IDS.copy()
    changed[:, 3] = (changed[:, 3] + 1) % 32
    before = np.array(model({**SOURCE, "token_ids": TARGET_IDS}))
    after = np.array(model({**SOURCE, "token_ids": changed}))
    np.testing.assert_allclose(before[:, :3], after[:, :3], atol=1e-6)
    assert not np.allclose(before[:, 3:], after[:, 3:])


def test_padded_source_positions_change_nothing():
    model = EncoderDecoderTransformer(**SMALL)
    other = {**INPUTS, "encoder_token_ids": SOURCE["encoder_token_ids"].copy()}
    other["encoder_token_ids"][1, 4:] = [0, 17]  # row 1's padded source positions
    before, after = np.array(model(INPUTS)), np.array(model(other))
    np.testing.assert_allclose(before, after, atol=1e-6)
    every_position_real = {**other, "encoder_padding_mask": np.ones((2, 6), bool)}
    assert not np.allclose(before[1], np.array(model(every_position_real))[1])


@pytest.mark.parametrize("variant", [{}, {"norm_first": False, "position_encoding": "learned"}])
def test_start_id_prefill_and_cached_steps_equal_one_full_call(variant):
    model = EncoderDecoderTransformer(**SMALL, **variant)
    full = np.array(model({**SOURCE, "token_ids": TARGET_IDS}))
    cache = model.build_cache(batch_size=2, max_length=5, source=SOURCE)
    assert [tuple(c.shape) for c in cache["self"]] == [(2, 2, 2, 5, 4)]  # (B, 2, N, T, H)
    assert [tuple(c.shape) for c in cache["cross"]] == [(2, 2, 2, 6, 4)]  # (B, 2, N, S, H)

    # The decoding loop's setting, XLA and a tensor index, once; the other variant runs eagerly.
    step = tf.function(model.call_with_cache, jit_compile=True) if not variant else None

    logits, cache = model.call_with_cache(TARGET_IDS[:, :1], cache, 0)  # the start id
    pieces = [np.array(logits)]
    for index in range(1, 5):
        if step is None:
            logits, cache = model.call_with_cache(TARGET_IDS[:, index:index + 1], cache, index)
        else:
            logits, cache = step(TARGET_IDS[:, index:index + 1], cache, tf.constant(index))
        pieces.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-5)
    assert step is None or step.experimental_get_tracing_count() == 1


def test_the_encoder_and_cross_projections_run_once_per_build_cache(monkeypatch):
    model = EncoderDecoderTransformer(**SMALL)
    model(INPUTS)
    calls = {"encoder": 0, "cross_keys": 0}

    def counting(layer, key):
        original = layer.call

        def call(*args, **kwargs):
            calls[key] += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(layer, "call", call)

    counting(model.encoder_blocks[0], "encoder")
    counting(model.decoder_blocks[0].cross_attention_layer.key_dense, "cross_keys")
    cache = model.build_cache(2, 5, SOURCE)
    for index in range(5):
        _, cache = model.call_with_cache(TARGET_IDS[:, index:index + 1], cache, index)
    assert calls == {"encoder": 1, "cross_keys": 1}


def test_mixed_precision_logits_are_float32_and_the_cache_follows_the_compute_dtype():
    model = EncoderDecoderTransformer(**SMALL, dtype="mixed_bfloat16")
    assert model(INPUTS).dtype == tf.float32
    cache = model.build_cache(2, 5, {"encoder_token_ids": SOURCE["encoder_token_ids"]})
    assert cache["source_mask"].dtype == tf.bool and bool(np.all(cache["source_mask"]))
    logits, new_cache = model.call_with_cache(TARGET_IDS[:, :1], cache, 0)
    assert logits.dtype == tf.float32
    assert all(c.dtype == tf.bfloat16 for c in new_cache["self"] + new_cache["cross"])


def test_builds_from_a_model_config_as_a_seq2seq_model():
    arguments = {key: value for key, value in SMALL.items() if key != "vocabulary_size"}
    model = build_model(ModelConfig("EncoderDecoderTransformer", arguments), vocabulary_size=32)
    assert isinstance(model, Seq2SeqLanguageModel) and model.built
    assert (model.source_length, model.target_length, model.max_cache_length) == (6, 5, 5)
    assert {key: model.get_config()[key] for key in arguments} == arguments
    assert model.training_flops_per_token() > 0 and not model.jit_compile_by_default


def test_misuse_raises_errors_that_name_the_argument():
    model = EncoderDecoderTransformer(**SMALL)
    with pytest.raises(ValueError, match=r"Received: encoder_token_ids.shape=\(1, 7\)"):
        model({"encoder_token_ids": np.ones((1, 7), "int32"), "token_ids": TARGET_IDS[:1]})
    with pytest.raises(ValueError, match=r"Received: token_ids.shape=\(2, 6\)"):
        model({**SOURCE, "token_ids": np.ones((2, 6), "int32")})
    with pytest.raises(ValueError, match="Received: source=None"):
        model.build_cache(2, 5)
    with pytest.raises(ValueError, match="Received: max_length=6"):
        model.build_cache(2, 6, SOURCE)
    with pytest.raises(ValueError, match="Received: batch_size=3"):
        model.build_cache(3, 5, SOURCE)
    with pytest.raises(ValueError, match=r"Received: source=\['token_ids'\]"):
        model.encode({"token_ids": TARGET_IDS})
    with pytest.raises(ValueError, match="Received: cache=tuple"):
        model.call_with_cache(TARGET_IDS[:, :1], (), 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_dim": 9}, "Received: hidden_dim=9, num_heads=2"),
    ({"source_length": 0}, "Received: source_length=0"),
    ({"target_length": 10**6}, "TFLLM_MAX_SEQUENCE_LENGTH"),
    ({"num_decoder_layers": 0}, "Received: num_decoder_layers=0"),
    ({"position_encoding": "rope"}, "Received: position_encoding='rope'"),
    ({"dropout": 1.0}, "Received: dropout=1.0"),
])
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EncoderDecoderTransformer(**{**SMALL, **kwargs})
