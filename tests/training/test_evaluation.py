"""evaluate_model: `model.evaluate` with the task's metrics, exact over a whole dataset, against NumPy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.tasks import get_task
from tfllm.training import evaluate_model

T, V = 8, 32
TASK = get_task("causal_lm")


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


def test_model_evaluate_equals_the_exact_sums_over_all_batches():
    # Batches of 4, 4 and 3 rows with different numbers of real tokens: Keras's own `loss`
    # (a mean of batch means weighted by rows) would differ; the task's report must not.
    model, items = tiny_model(), batches()
    loss, tokens = reference(model, items)
    metrics = evaluate_model(model, dataset(items), TASK, characters_per_token=2.0)
    assert set(metrics) == {"loss", "perplexity", "bits_per_character", "accuracy", "tokens"}
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6)
    np.testing.assert_allclose(metrics["perplexity"], math.exp(loss), rtol=1e-6)
    np.testing.assert_allclose(metrics["bits_per_character"], loss / math.log(2) / 2.0, rtol=1e-6)
    assert metrics["tokens"] == tokens and isinstance(metrics["tokens"], int)
    row_weighted = model.evaluate(dataset(items), verbose=0, return_dict=True)["loss"]
    assert abs(row_weighted - loss) > 1e-4, "the fixture must tell the two means apart"


def test_a_compiled_model_is_evaluated_with_its_own_metrics():
    model, items = tiny_model(), batches()
    metrics = TASK.metrics(characters_per_token=1.0)
    model.compile(optimizer="sgd", loss=TASK.loss(), weighted_metrics=metrics)
    optimizer = model.optimizer
    report = evaluate_model(model, dataset(items), TASK, metrics=metrics)
    assert model.optimizer is optimizer, "a trained model keeps its optimizer"
    np.testing.assert_allclose(report["loss"], reference(model, items)[0], rtol=1e-6)


def test_bfloat16_model():
    model, items = tiny_model(dtype="mixed_bfloat16"), batches()
    loss, _ = reference(model, items)
    np.testing.assert_allclose(evaluate_model(model, dataset(items), TASK)["loss"], loss, rtol=1e-5)


def test_errors():
    model, items = tiny_model(), batches()
    empty = dataset(items).take(0)
    with pytest.raises(ValueError, match="no weighted tokens"):
        evaluate_model(model, empty, TASK)
    with pytest.raises(ValueError, match="characters_per_token"):
        evaluate_model(model, dataset(items), TASK, characters_per_token=0)
