"""`GRUSeq2Seq`: harness run, causality, source padding, cached decoding, errors."""

import numpy as np
import pytest

from tfllm.config import ModelConfig
from tfllm.models import GRUSeq2Seq, build_model
from tfllm.testing import run_model_test

SMALL = dict(vocabulary_size=32, source_length=8, target_length=8, embedding_dim=8, hidden_dim=8)
RNG = np.random.default_rng(0)
SOURCE_IDS = RNG.integers(2, 32, size=(2, 8)).astype("int32")
TARGET_IDS = RNG.integers(2, 32, size=(2, 8)).astype("int32")
TARGET_IDS[:, 0] = 1  # the start id
SOURCE_MASK = np.array([[True] * 8, [True] * 5 + [False] * 3])  # row 1: right-padded
INPUTS = {"encoder_token_ids": SOURCE_IDS, "encoder_padding_mask": SOURCE_MASK,
          "token_ids": TARGET_IDS, "padding_mask": np.ones((2, 8), bool)}
SOURCE = {key: INPUTS[key] for key in ("encoder_token_ids", "encoder_padding_mask")}


def test_goes_through_the_harness():
    run_model_test(
        GRUSeq2Seq, {**SMALL, "dropout": 0.1}, INPUTS,
        expected_output_shape=(2, 8, 32),
        # embedding; 2 encoder directions x (kernel, recurrent, bias); bridge 2; decoder GRU 3;
        # W_a 1 (no bias); W_c 2; output projection 2
        expected_num_trainable_weights=17,
    )


def test_a_future_target_token_leaves_earlier_logits_unchanged():
    model = GRUSeq2Seq(**SMALL)
    changed = TARGET_IDS.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 32
    before = np.array(model(INPUTS))
    after = np.array(model({**INPUTS, "token_ids": changed}))
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def test_padded_source_positions_change_nothing_for_real_rows():
    model = GRUSeq2Seq(**SMALL)
    full = np.array(model(INPUTS))
    other_padding = SOURCE_IDS.copy()
    other_padding[1, 5:] = [0, 7, 9]
    repadded = np.array(model({**INPUTS, "encoder_token_ids": other_padding}))
    np.testing.assert_allclose(repadded, full, atol=1e-6)
    # Row 1 alone, with its source cut to the 5 real tokens and no mask: both directions of
    # the encoder and the attention saw only those 5.
    alone = np.array(model({"encoder_token_ids": SOURCE_IDS[1:, :5],
                            "token_ids": TARGET_IDS[1:]}))
    np.testing.assert_allclose(alone[0], full[1], atol=1e-5)
    # The mask does matter: the same ids read unmasked give other logits.
    unmasked = np.array(model({**INPUTS, "encoder_padding_mask": np.ones((2, 8), bool)}))
    assert not np.allclose(unmasked[1], full[1], atol=1e-4)


def test_an_all_padding_source_row_gives_finite_logits():
    model = GRUSeq2Seq(**SMALL)
    logits = model({**INPUTS, "encoder_padding_mask": np.zeros((2, 8), bool)})
    assert np.all(np.isfinite(np.array(logits)))


@pytest.mark.parametrize("prefill", [1, 3])
def test_a_prefill_then_cached_steps_equal_one_full_pass(prefill):
    model = GRUSeq2Seq(**SMALL, num_encoder_layers=2)
    full = np.array(model(INPUTS))
    cache = model.build_cache(2, 8, SOURCE)
    assert {key: tuple(value.shape) for key, value in cache.items()} == {
        "state": (2, 8), "encoder_states": (2, 8, 8), "source_mask": (2, 8)}
    logits, cache = model.call_with_cache(TARGET_IDS[:, :prefill], cache, 0)
    steps = [np.array(logits)]
    for t in range(prefill, 8):
        logits, cache = model.call_with_cache(TARGET_IDS[:, t:t + 1], cache, t)
        steps.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert all(step.dtype == np.float32 for step in steps)


def test_the_encoder_runs_once_per_build_cache(monkeypatch):
    model = GRUSeq2Seq(**SMALL)
    encoder = model.encoder_layers[0]
    calls = []
    original_call = encoder.call
    monkeypatch.setattr(encoder, "call", lambda *a, **k: calls.append(1) or original_call(*a, **k))
    cache = model.build_cache(2, 8, SOURCE)
    for t in range(4):
        _, cache = model.call_with_cache(TARGET_IDS[:, t:t + 1], cache, t)
    assert len(calls) == 1


def test_a_padded_target_step_leaves_the_state_unchanged():
    model = GRUSeq2Seq(**SMALL)
    cache = model.build_cache(2, 8, SOURCE)
    mask = np.array([[True, False] + [True] * 6] * 2)
    _, stepped = model.call_with_cache(TARGET_IDS[:, 1:2], cache, 1, padding_mask=mask)
    np.testing.assert_array_equal(np.array(stepped["state"]), np.array(cache["state"]))


def test_encode_returns_the_encoder_states_with_zeros_at_padding():
    model = GRUSeq2Seq(**SMALL)
    states = np.array(model.encode(SOURCE))
    assert states.shape == (2, 8, 8)
    np.testing.assert_array_equal(states[1, 5:], 0)


def test_build_model_builds_it_from_a_model_config():
    config = ModelConfig("GRUSeq2Seq", {key: value for key, value in SMALL.items()
                                        if key != "vocabulary_size"})
    model = build_model(config, vocabulary_size=32)
    assert isinstance(model, GRUSeq2Seq) and model.built and model.count_params() > 0


@pytest.mark.parametrize("override, name", [
    ({"vocabulary_size": 1.5}, "vocabulary_size=1.5"),
    ({"source_length": 0}, "source_length=0"),
    ({"target_length": 10**6}, "target_length=1000000"),
    ({"embedding_dim": "wide"}, "embedding_dim='wide'"),
    ({"hidden_dim": 7}, "hidden_dim=7"),
    ({"dropout": 1.0}, "dropout=1.0"),
    ({"num_encoder_layers": 0}, "num_encoder_layers=0"),
])
def test_invalid_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        GRUSeq2Seq(**{**SMALL, **override})


@pytest.mark.parametrize("arguments, name", [
    ((2, 8, None), "source=None"),
    ((2, 9, SOURCE), "max_length=9"),
    ((3, 8, SOURCE), "batch_size=3"),
])
def test_invalid_cache_arguments_are_named(arguments, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        GRUSeq2Seq(**SMALL).build_cache(*arguments)


# Learning to copy: tests/tasks/test_seq2seq_tasks.py trains the smoke presets' GRU and
# Transformer on a copy task through the task's own pipeline, loss and decoder.
