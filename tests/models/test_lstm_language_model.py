"""`LSTMLanguageModel`: harness run, causality, padding, errors."""

import numpy as np
import pytest

from tfllm.models import LSTMLanguageModel
from tfllm.testing import run_model_test

SMALL = dict(vocabulary_size=32, hidden_dim=8, num_layers=2, sequence_length=8)
TOKEN_IDS = np.random.default_rng(0).integers(1, 32, size=(2, 8)).astype("int32")
PADDING = np.array([[True] * 8, [True] * 5 + [False] * 3])


def test_goes_through_the_harness():
    run_model_test(
        LSTMLanguageModel, {**SMALL, "dropout": 0.1, "embedding_dim": 4},
        {"token_ids": TOKEN_IDS, "padding_mask": PADDING},
        expected_output_shape=(2, 8, 32),
        expected_num_trainable_weights=9,  # embedding, 2 x (kernel, recurrent, bias), dense 2
    )


def test_changing_a_future_or_padded_token_leaves_earlier_logits_unchanged():
    model = LSTMLanguageModel(**SMALL)
    changed = TOKEN_IDS.copy()
    changed[:, 5:] = 0  # row 1: different padding; row 0: different future tokens
    before = np.array(model({"token_ids": TOKEN_IDS, "padding_mask": PADDING}))
    after = np.array(model({"token_ids": changed, "padding_mask": PADDING}))
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert not np.allclose(before[0, 5:], after[0, 5:])


def test_attributes_and_defaults():
    model = LSTMLanguageModel(vocabulary_size=32, hidden_dim=8, num_layers=1)
    model({"token_ids": TOKEN_IDS})
    assert (model.sequence_length, model.vocabulary_size) == (256, 32)
    assert tuple(model.token_embedding.embeddings.shape) == (32, 8)  # embedding_dim = hidden_dim


@pytest.mark.parametrize("override, name", [
    ({"vocabulary_size": 1.5}, "vocabulary_size=1.5"),
    ({"hidden_dim": 0}, "hidden_dim=0"),
    ({"num_layers": 0}, "num_layers=0"),
    ({"dropout": -0.5}, "dropout=-0.5"),
    ({"embedding_dim": 0}, "embedding_dim=0"),
    ({"sequence_length": "long"}, "sequence_length='long'"),
])
def test_invalid_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        LSTMLanguageModel(**{**SMALL, **override})


def test_cached_steps_after_a_prefill_equal_one_full_pass():
    model = LSTMLanguageModel(**SMALL)
    full = np.array(model({"token_ids": TOKEN_IDS}))
    state = model.build_cache(batch_size=2)
    assert tuple(state.shape) == (2, 2, 2, 8)  # (B, L, 2, D)
    logits, state = model.call_with_cache(TOKEN_IDS[:, :3], state, 0)
    steps = [np.array(logits)]
    for t in range(3, 8):
        logits, state = model.call_with_cache(TOKEN_IDS[:, t:t + 1], state, t)
        steps.append(np.array(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_left_padding_in_the_cache_protocol_leaves_the_state_unchanged():
    model = LSTMLanguageModel(**SMALL)
    alone, _ = model.call_with_cache(TOKEN_IDS[:1, :5], model.build_cache(1), 0)
    padded_ids = np.concatenate([np.zeros((1, 3), "int32"), TOKEN_IDS[:1, :5]], axis=1)
    mask = np.array([[False] * 3 + [True] * 5])
    padded, _ = model.call_with_cache(padded_ids, model.build_cache(1), 0, padding_mask=mask)
    np.testing.assert_allclose(np.array(padded)[:, 3:], np.array(alone), atol=1e-5)
    assert model.max_cache_length is None
