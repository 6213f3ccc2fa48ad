"""evaluate_language_model: exact over a whole dataset, against NumPy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.training import evaluate_language_model

T, V = 8, 32


def tiny_model(dtype=None):
    token_ids = keras.Input((T,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((T,), dtype="bool", name="padding_mask")
    hidden = keras.layers.Embedding(V, 8, dtype=dtype)(token_ids)
    logits = keras.layers.Dense(V, dtype=dtype)(hidden)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, logits)


def batches():
    rng = np.random.default_rng(0)
    result = []
    for index, rows in enumerate((4, 4, 3)):
        ids = rng.integers(0, V, size=(rows, T)).astype("int32")
        labels = rng.integers(0, V, size=(rows, T)).astype("int32")
        weights = np.ones((rows, T), "float32")
        weights[0, T - 3 * index - 1 :] = 0
        result.append(({"token_ids": ids, "padding_mask": weights > 0}, labels, weights))
    return result


def dataset(items):
    return tf.data.Dataset.from_generator(
        lambda: iter(items),
        output_signature=(
            {"token_ids": tf.TensorSpec((None, T), tf.int32), "padding_mask": tf.TensorSpec((None, T), tf.bool)},
            tf.TensorSpec((None, T), tf.int32),
            tf.TensorSpec((None, T), tf.float32),
        ),
    )


def reference(model, items):
    nats, weights = [], []
    for x, labels, w in items:
        logits = keras.ops.convert_to_numpy(keras.ops.cast(model(x), "float32")).astype(np.float64)
        shifted = logits - logits.max(-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        nats.append(-np.take_along_axis(log_probs, labels[..., None], -1)[..., 0].reshape(-1))
        weights.append(w.reshape(-1))
    nats, weights = np.concatenate(nats), np.concatenate(weights)
    return (nats * weights).sum() / weights.sum(), int(weights.sum())


def test_matches_numpy_over_all_batches():
    model, items = tiny_model(), batches()
    loss, tokens = reference(model, items)
    metrics = evaluate_language_model(model, dataset(items), characters_per_token=2.0)
    assert set(metrics) == {"loss", "perplexity", "bits_per_char", "tokens"}
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6)
    np.testing.assert_allclose(metrics["perplexity"], math.exp(loss), rtol=1e-6)
    np.testing.assert_allclose(metrics["bits_per_char"], loss / math.log(2) / 2.0, rtol=1e-6)
    assert metrics["tokens"] == tokens and isinstance(metrics["tokens"], int)


def test_max_batches_and_pairs_without_weights():
    model, items = tiny_model(), batches()
    loss, tokens = reference(model, items[:2])
    metrics = evaluate_language_model(model, dataset(items), max_batches=2)
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6)
    assert metrics["tokens"] == tokens
    pairs = [(x, labels) for x, labels, _ in items]
    unweighted = [(x, labels, np.ones_like(w)) for x, labels, w in items]
    np.testing.assert_allclose(
        evaluate_language_model(model, pairs)["loss"], reference(model, unweighted)[0], rtol=1e-6
    )


def test_bfloat16_model():
    model, items = tiny_model(dtype="mixed_bfloat16"), batches()
    loss, _ = reference(model, items)
    np.testing.assert_allclose(evaluate_language_model(model, dataset(items))["loss"], loss, rtol=1e-5)


def test_errors():
    model, items = tiny_model(), batches()
    with pytest.raises(ValueError, match="no weighted tokens"):
        evaluate_language_model(model, [])
    with pytest.raises(ValueError, match="max_batches"):
        evaluate_language_model(model, items, max_batches=0)
    with pytest.raises(ValueError, match="characters_per_token"):
        evaluate_language_model(model, items, characters_per_token=0)
    with pytest.raises(ValueError, match="tuples"):
        evaluate_language_model(model, [items[0][0]])
