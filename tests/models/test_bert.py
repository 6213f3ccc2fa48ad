"""`BertEncoder`, `BertMaskedLM` and `BertClassifier`: harness runs, padding changes nothing,
masked positions are scored where asked, and a pre-trained encoder moves into a classifier."""

import numpy as np
import pytest

from tfllm.models.bert_classifier import BertClassifier
from tfllm.models.bert_encoder import BertEncoder
from tfllm.models.bert_masked_lm import BertMaskedLM
from tfllm.testing import run_layer_test, run_model_test

SMALL = dict(vocabulary_size=32, sequence_length=6, num_layers=1, num_heads=2, hidden_dim=8,
             intermediate_dim=16, dropout=0.0)
RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(4, 32, size=(2, 6)).astype("int32")  # (B, T)
PADDING_MASK = np.array([[True] * 6, [True] * 4 + [False] * 2])
MASK_POSITIONS = np.array([[1, 4], [2, 0]], "int32")  # (B, P); row 1's second slot is padding


def test_encoder_goes_through_the_layer_harness():
    run_layer_test(
        BertEncoder, {**SMALL, "num_token_types": 2}, TOKEN_IDS,
        call_kwargs={"padding_mask": PADDING_MASK}, expected_output_shape=(2, 6, 8),
        # token, position, token-type tables, embedding LayerNorm 2, block 16, final norm 2
        expected_num_trainable_weights=23,
    )


def test_masked_lm_goes_through_the_harness():
    run_model_test(
        BertMaskedLM, {**SMALL, "dropout": 0.1},
        {"token_ids": TOKEN_IDS, "padding_mask": PADDING_MASK, "mask_positions": MASK_POSITIONS},
        expected_output_shape=(2, 2, 32), labels=TOKEN_IDS[:, :2],
        # encoder 22, head Dense 2 + LayerNorm 2, output bias
        expected_num_trainable_weights=27,
    )


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_classifier_goes_through_the_harness(pooling):
    run_model_test(
        BertClassifier, {**SMALL, "num_classes": 3, "pooling": pooling},
        {"token_ids": TOKEN_IDS, "padding_mask": PADDING_MASK},
        expected_output_shape=(2, 3), labels=np.array([0, 2]),
        # encoder 22, output Dense 2, the cls pooler's Dense 2
        expected_num_trainable_weights=24 if pooling == "mean" else 26,
    )


def test_masked_positions_score_what_a_full_pass_scores_there():
    model = BertMaskedLM(**SMALL)
    x = {"token_ids": TOKEN_IDS, "padding_mask": PADDING_MASK}
    every = np.array(model(x))  # (B, T, V)
    picked = np.array(model({**x, "mask_positions": MASK_POSITIONS}))  # (B, P, V)
    np.testing.assert_allclose(picked, np.take_along_axis(every, MASK_POSITIONS[..., None], 1),
                               atol=1e-5)


@pytest.mark.parametrize("model_class", [BertMaskedLM, BertClassifier])
def test_padded_positions_change_nothing(model_class):
    extra = {"num_classes": 2} if model_class is BertClassifier else {}
    model = model_class(**SMALL, **extra)
    other = TOKEN_IDS.copy()
    other[1, 4:] = [0, 17]  # row 1's padded positions
    before = np.array(model({"token_ids": TOKEN_IDS, "padding_mask": PADDING_MASK}))
    after = np.array(model({"token_ids": other, "padding_mask": PADDING_MASK}))
    np.testing.assert_allclose(before[1, :4] if before.ndim == 3 else before[1],
                               after[1, :4] if after.ndim == 3 else after[1], atol=1e-5)


def test_a_pre_trained_encoder_moves_into_a_classifier():
    masked_lm = BertMaskedLM(**SMALL)
    classifier = BertClassifier(num_classes=2, **SMALL)
    x = {"token_ids": TOKEN_IDS, "padding_mask": PADDING_MASK}
    masked_lm(x), classifier(x)
    classifier.encoder.set_weights(masked_lm.encoder.get_weights())
    np.testing.assert_allclose(classifier.encoder(TOKEN_IDS, padding_mask=PADDING_MASK),
                               masked_lm.encoder(TOKEN_IDS, padding_mask=PADDING_MASK))


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="Received: hidden_dim=9, num_heads=2"):
        BertEncoder(**{**SMALL, "hidden_dim": 9})
    with pytest.raises(ValueError, match="pooling"):
        BertClassifier(num_classes=2, pooling="max", **SMALL)
    with pytest.raises(ValueError, match="sequence_length=100,000 is over the limit"):
        BertEncoder(**{**SMALL, "sequence_length": 100_000})
