"""`LSTMClassifier`: harness runs, padding, a separable problem, mixed precision, errors."""

import keras
import numpy as np
import pytest

from tfllm.models import LSTMClassifier, model_class
from tfllm.testing import run_model_test

SMALL = dict(vocabulary_size=32, sequence_length=8, num_classes=3, embedding_dim=8,
             hidden_dim=8, num_layers=2)
RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(1, 32, size=(2, 8)).astype("int32")  # (B, T)
PADDING = np.array([[True] * 8, [True] * 5 + [False] * 3])
INPUTS = {"token_ids": TOKEN_IDS, "padding_mask": PADDING}
LABELS = np.array([0, 2])


@pytest.mark.parametrize("variant, num_weights", [
    ({"dropout": 0.1}, 9),  # embedding, 2 x (kernel, recurrent kernel, bias), dense 2
    ({"bidirectional": True, "num_layers": 1}, 9),  # embedding, 2 directions x 3, dense 2
])
def test_goes_through_the_harness(variant, num_weights):
    run_model_test(
        LSTMClassifier, {**SMALL, **variant}, INPUTS, labels=LABELS,
        expected_output_shape=(2, 3), expected_num_trainable_weights=num_weights,
    )


def _alone_and_padded(model, ids, mask):
    """Logits of each row's real tokens alone, and of the padded batch."""
    alone = [np.array(model({"token_ids": row[keep][None]}))[0] for row, keep in zip(ids, mask)]
    return np.stack(alone), np.array(model({"token_ids": ids, "padding_mask": mask}))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_positions_change_nothing_wherever_they_are(bidirectional):
    model = LSTMClassifier(**SMALL, bidirectional=bidirectional)
    ids = RNG.integers(1, 32, size=(4, 8)).astype("int32")
    mask = np.array([
        [True] * 5 + [False] * 3,  # right padding
        [False] * 3 + [True] * 5,  # left padding
        [True, False, True, True, False, True, False, True],  # holes
        [True] * 8,
    ])
    alone, padded = _alone_and_padded(model, ids, mask)
    np.testing.assert_allclose(padded, alone, atol=1e-5)
    other_ids = np.where(mask, ids, RNG.integers(0, 32, size=ids.shape)).astype("int32")
    _, other = _alone_and_padded(model, other_ids, mask)
    np.testing.assert_allclose(other, padded, atol=1e-6)


def test_without_the_mask_padding_would_change_the_label():
    model = LSTMClassifier(**SMALL)
    with_mask = np.array(model(INPUTS))
    without = np.array(model({"token_ids": np.where(PADDING, TOKEN_IDS, 0)}))
    np.testing.assert_allclose(with_mask[0], without[0], atol=1e-6)  # row 0 has no padding
    assert not np.allclose(with_mask[1], without[1], atol=1e-3)


def test_a_row_with_no_real_token_gets_the_output_bias():
    model = LSTMClassifier(**SMALL, bidirectional=True)
    mask = PADDING.copy()
    mask[1] = False
    logits = np.array(model({"token_ids": TOKEN_IDS, "padding_mask": mask}))
    np.testing.assert_allclose(logits[1], np.array(model.output_projection.bias), atol=1e-6)


def separable(num_rows=64, seed=0):
    """Right-padded rows of ids 6..31 of lengths 3..8; label 1 rows hold id 5 somewhere."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(6, 32, size=(num_rows, 8)).astype("int32")
    labels = np.arange(num_rows) % 2
    lengths = rng.integers(3, 9, size=num_rows)
    mask = np.arange(8)[None] < lengths[:, None]
    positions = rng.integers(0, lengths)
    ids[labels == 1, positions[labels == 1]] = 5
    return {"token_ids": np.where(mask, ids, 0).astype("int32"), "padding_mask": mask}, labels


def test_learns_whether_id_5_appears():
    keras.utils.set_random_seed(0)
    inputs, labels = separable()
    model = LSTMClassifier(**{**SMALL, "num_classes": 2, "num_layers": 1})
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(inputs, labels, batch_size=16, epochs=8, verbose=0)  # 32 steps
    held_out, held_out_labels = separable(seed=1)
    predicted = np.argmax(model.predict(held_out, verbose=0), axis=1)
    assert np.mean(predicted == held_out_labels) >= 0.9


def test_mixed_bfloat16_gives_float32_logits_close_to_float32():
    model = LSTMClassifier(**SMALL)
    mixed = LSTMClassifier(**SMALL, dtype="mixed_bfloat16")
    model(INPUTS), mixed(INPUTS)
    mixed.set_weights(model.get_weights())
    logits = mixed(INPUTS)
    assert logits.dtype == "float32" and mixed.token_embedding.compute_dtype == "bfloat16"
    np.testing.assert_allclose(np.array(logits), np.array(model(INPUTS)), atol=0.05)


def test_config_round_trip_and_registration():
    model = LSTMClassifier(**SMALL, bidirectional=True, dropout=0.25)
    config = model.get_config()
    assert {key: config[key] for key in SMALL} == SMALL
    assert (config["bidirectional"], config["dropout"]) == (True, 0.25)
    assert LSTMClassifier.from_config(config).get_config() == config
    assert model_class("LSTMClassifier") is LSTMClassifier
    assert LSTMClassifier.jit_compile_by_default is False


@pytest.mark.parametrize("override, name", [
    ({"vocabulary_size": 0}, "vocabulary_size=0"),
    ({"sequence_length": 10**6}, "sequence_length=1000000"),
    ({"num_classes": 1}, "num_classes=1"),
    ({"embedding_dim": 1.5}, "embedding_dim=1.5"),
    ({"hidden_dim": 0}, "hidden_dim=0"),
    ({"num_layers": -1}, "num_layers=-1"),
    ({"bidirectional": "yes"}, "bidirectional='yes'"),
    ({"dropout": 1.0}, "dropout=1.0"),
])
def test_invalid_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        LSTMClassifier(**{**SMALL, **override})


def test_the_lstms_see_a_right_padded_mask_as_cudnn_needs():
    from tfllm.models.lstm_classifier import _real_tokens_first

    ids = np.array([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], dtype="int32")
    mask = np.array([[False, True, False, True, True], [True] * 5])
    moved_ids, moved_mask = _real_tokens_first(ids, mask)
    np.testing.assert_array_equal(np.array(moved_ids), [[2, 4, 5, 1, 3], [6, 7, 8, 9, 10]])
    np.testing.assert_array_equal(np.array(moved_mask), [[True] * 3 + [False] * 2, [True] * 5])
