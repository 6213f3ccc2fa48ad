"""Perplexity, BitsPerCharacter and MaskedAccuracy: NumPy references, and averaging through Keras."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import BitsPerCharacter, MaskedAccuracy, MaskedCrossEntropy, Perplexity

B, T, V = 4, 8, 32


def reference_nats(labels, logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, np.asarray(labels)[..., None], -1)[..., 0]


def reference_metrics(labels, logits, weights, characters_per_token=1.0):
    weights = np.asarray(weights, np.float64)
    mean_nats = (reference_nats(labels, logits) * weights).sum() / weights.sum()
    correct = (np.asarray(logits).argmax(-1) == labels).astype(np.float64)
    return {
        "perplexity": math.exp(mean_nats),
        "bits_per_character": mean_nats / math.log(2) / characters_per_token,
        "accuracy": (correct * weights).sum() / weights.sum(),
    }


def fake_batches(count=3, seed=0):
    """Batches with different amounts of padding (and a shorter last batch)."""
    rng = np.random.default_rng(seed)
    batches = []
    for index in range(count):
        rows = B if index < count - 1 else 2
        labels = rng.integers(0, V, size=(rows, T))
        logits = rng.normal(size=(rows, T, V)).astype("float32") * 2
        logits[..., 3] += 2.0  # some correct predictions for accuracy
        labels[rng.random((rows, T)) < 0.2] = 3
        weights = np.ones((rows, T), "float32")
        weights[0, T - 1 - 2 * index :] = 0
        batches.append((labels, logits, weights))
    return batches


def test_single_batch_matches_numpy():
    labels, logits, weights = fake_batches(1)[0]
    expected = reference_metrics(labels, logits, weights, characters_per_token=2.5)
    for metric, key in (
        (Perplexity(), "perplexity"),
        (BitsPerCharacter(characters_per_token=2.5), "bits_per_character"),
        (MaskedAccuracy(), "accuracy"),
    ):
        metric.update_state(labels, logits, sample_weight=weights)
        np.testing.assert_allclose(float(metric.result()), expected[key], rtol=1e-5)


def test_several_batches_accumulate_exactly_and_reset():
    batches = fake_batches(3)
    labels = np.concatenate([b[0].reshape(-1) for b in batches])[None]
    logits = np.concatenate([b[1].reshape(-1, V) for b in batches])[None]
    weights = np.concatenate([b[2].reshape(-1) for b in batches])[None]
    expected = reference_metrics(labels, logits, weights)
    metrics = {"perplexity": Perplexity(), "bits_per_character": BitsPerCharacter(), "accuracy": MaskedAccuracy()}
    for key, metric in metrics.items():
        for batch_labels, batch_logits, batch_weights in batches:
            metric.update_state(batch_labels, batch_logits, sample_weight=batch_weights)
        np.testing.assert_allclose(float(metric.result()), expected[key], rtol=1e-5)
        metric.reset_state()
        assert float(metric.total_weight) == 0.0


def test_padding_changes_nothing():
    labels, logits, weights = fake_batches(1)[0]
    garbage = logits.copy()
    garbage[weights == 0] = 50.0
    for metric_class in (Perplexity, BitsPerCharacter, MaskedAccuracy):
        clean, dirty = metric_class(), metric_class()
        clean.update_state(labels, logits, sample_weight=weights)
        dirty.update_state(labels, garbage, sample_weight=weights)
        np.testing.assert_allclose(float(dirty.result()), float(clean.result()), rtol=1e-6)


def test_bfloat16_logits_and_float64_state():
    labels, logits, weights = fake_batches(1)[0]
    low = keras.ops.cast(logits, "bfloat16")
    rounded = keras.ops.convert_to_numpy(keras.ops.cast(low, "float32"))
    expected = reference_metrics(labels, rounded, weights)
    metric = Perplexity(dtype="float64")
    metric.update_state(labels, low, sample_weight=weights)
    assert keras.backend.standardize_dtype(metric.weighted_sum.dtype) == "float64"
    np.testing.assert_allclose(float(metric.result()), expected["perplexity"], rtol=1e-6)


def test_uniform_logits_give_vocabulary_size():
    metric = Perplexity()
    metric.update_state(np.zeros((2, T), "int32"), np.zeros((2, T, V), "float32"))
    np.testing.assert_allclose(float(metric.result()), V, rtol=1e-5)
    bpc = BitsPerCharacter()
    bpc.update_state(np.zeros((2, T), "int32"), np.zeros((2, T, V), "float32"))
    np.testing.assert_allclose(float(bpc.result()), math.log2(V), rtol=1e-5)


def test_probabilities_input():
    labels, logits, weights = fake_batches(1)[0]
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    metric = Perplexity(from_logits=False)
    metric.update_state(labels, probs, sample_weight=weights)
    np.testing.assert_allclose(
        float(metric.result()), reference_metrics(labels, logits, weights)["perplexity"], rtol=1e-4
    )


def test_config_round_trip():
    for metric in (Perplexity(from_logits=False, name="ppl"), BitsPerCharacter(3.5), MaskedAccuracy()):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
        assert type(restored) is type(metric)
        assert restored.get_config() == metric.get_config()


@pytest.mark.parametrize("value", [0, -1.0, "2"])
def test_invalid_characters_per_token(value):
    with pytest.raises(ValueError, match="characters_per_token"):
        BitsPerCharacter(characters_per_token=value)


# -- Through Keras: compile / fit / evaluate over several batches -------------------------------


def tiny_model():
    """Dict inputs like tfllm's models. logits = 5 * one_hot(input token), so a label equal to its
    input token is easy (about 0.2 nats) and any other is hard (about 5.2 nats)."""
    token_ids = keras.Input((T,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((T,), dtype="bool", name="padding_mask")
    hidden = keras.layers.Embedding(V, V, embeddings_initializer=keras.initializers.Identity(5.0))(token_ids)
    mask = keras.layers.Lambda(lambda m: keras.ops.cast(m, "float32")[..., None])(padding_mask)
    hidden = keras.layers.Multiply()([hidden, mask])
    logits = keras.layers.Dense(V, kernel_initializer="identity")(hidden)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, logits)


def keras_batches():
    """(token_ids, labels, weights): a full, mostly padded batch of hard tokens, then unpadded
    batches of easy tokens, the last one short. Rows and real tokens per batch differ a lot."""
    rng = np.random.default_rng(0)
    batches = []
    for index, rows in enumerate((4, 4, 4, 2)):
        token_ids = rng.integers(0, V, size=(rows, T))
        labels = token_ids.copy() if index else (token_ids + 1) % V
        labels[:, ::3] = rng.integers(0, V, size=labels[:, ::3].shape)  # a few surprises
        weights = np.ones((rows, T), "float32")
        if index == 0:
            weights[:, 2:] = 0
        batches.append((token_ids.astype("int32"), labels.astype("int32"), weights))
    return batches


def keras_dataset(batches):
    def generator():
        for token_ids, labels, weights in batches:
            yield {"token_ids": token_ids, "padding_mask": weights > 0}, labels, weights

    spec = (
        {
            "token_ids": tf.TensorSpec((None, T), tf.int32),
            "padding_mask": tf.TensorSpec((None, T), tf.bool),
        },
        tf.TensorSpec((None, T), tf.int32),
        tf.TensorSpec((None, T), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(generator, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


def model_logits(model, batches):
    return [
        keras.ops.convert_to_numpy(model({"token_ids": ids, "padding_mask": weights > 0}))
        for ids, _, weights in batches
    ]


def reference_over_dataset(model, batches, masked=True):
    logits = model_logits(model, batches)
    flat_labels = np.concatenate([b[1].reshape(-1) for b in batches])[None]
    flat_logits = np.concatenate([l.reshape(-1, V) for l in logits])[None]
    flat_weights = np.concatenate([b[2].reshape(-1) for b in batches])[None]
    if not masked:
        flat_weights = np.ones_like(flat_weights)
    return reference_metrics(flat_labels, flat_logits, flat_weights)


def test_weighted_metrics_in_evaluate_and_fit_are_exact_over_all_batches():
    batches = keras_batches()
    model = tiny_model()
    model.compile(
        keras.optimizers.SGD(0.0),  # fit must not change the weights: its metrics are checked too
        loss=MaskedCrossEntropy(),
        weighted_metrics=[Perplexity(), BitsPerCharacter(), MaskedAccuracy()],
    )
    expected = reference_over_dataset(model, batches)
    data = keras_dataset(batches)

    results = model.evaluate(data, verbose=0, return_dict=True)
    for key in ("perplexity", "bits_per_character", "accuracy"):
        np.testing.assert_allclose(results[key], expected[key], rtol=1e-5)

    history = model.fit(data.repeat(2), epochs=2, steps_per_epoch=len(batches), verbose=0, shuffle=False).history
    for key in ("perplexity", "bits_per_character", "accuracy"):
        # Both epochs: the state is reset at each epoch start and sums over its batches.
        np.testing.assert_allclose(history[key], [expected[key]] * 2, rtol=1e-5)

    # Keras's own `loss` entry is the mean of per-batch losses weighted by *rows* per batch,
    # not the mean per token when batches hold different numbers of real tokens.
    per_batch = [
        float(MaskedCrossEntropy()(labels, logits, weights))
        for (_, labels, weights), logits in zip(batches, model_logits(model, batches))
    ]
    rows = [labels.shape[0] for _, labels, _ in batches]
    np.testing.assert_allclose(results["loss"], np.dot(per_batch, rows) / sum(rows), rtol=1e-5)
    np.testing.assert_allclose(history["loss"], [results["loss"]] * 2, rtol=1e-5)
    exact_loss = math.log(expected["perplexity"])
    assert abs(results["loss"] - exact_loss) > 0.3


def test_unweighted_metrics_do_not_see_sample_weight():
    """Under `metrics=[...]` Keras passes no sample_weight: padding counts. Use weighted_metrics."""
    batches = keras_batches()
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.0), loss=MaskedCrossEntropy(), metrics=[Perplexity()])
    masked = reference_over_dataset(model, batches)
    unmasked = reference_over_dataset(model, batches, masked=False)
    results = model.evaluate(keras_dataset(batches), verbose=0, return_dict=True)
    np.testing.assert_allclose(results["perplexity"], unmasked["perplexity"], rtol=1e-5)
    assert abs(results["perplexity"] - masked["perplexity"]) > 0.1


def test_keras_weighted_sparse_categorical_accuracy_agrees():
    """Keras's built-in accuracy, as a weighted metric, also averages per token (checked here so
    that a Keras change in how it reduces (B, T) weights would show up)."""
    batches = keras_batches()
    model = tiny_model()
    model.compile(
        keras.optimizers.SGD(0.0),
        loss=MaskedCrossEntropy(),
        weighted_metrics=[MaskedAccuracy(name="ours"), keras.metrics.SparseCategoricalAccuracy(name="keras")],
    )
    results = model.evaluate(keras_dataset(batches), verbose=0, return_dict=True)
    np.testing.assert_allclose(results["ours"], reference_over_dataset(model, batches)["accuracy"], rtol=1e-6)
    np.testing.assert_allclose(results["keras"], results["ours"], rtol=1e-6)
