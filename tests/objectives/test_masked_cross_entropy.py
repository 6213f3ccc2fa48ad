"""MaskedCrossEntropy and masked_cross_entropy against a NumPy reference."""

import keras
import numpy as np
import pytest

from tfllm.objectives import MaskedCrossEntropy, masked_cross_entropy, token_cross_entropy

B, T, V = 3, 8, 32


def reference_nats(labels, logits, label_smoothing=0.0):
    """(B, T) cross-entropy in float64 with target (1 - eps) * one_hot + eps / V."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    target = np.eye(logits.shape[-1])[labels] * (1 - label_smoothing) + label_smoothing / logits.shape[-1]
    return -(target * log_probs).sum(-1)


def reference_loss(labels, logits, weights=None, label_smoothing=0.0):
    nats = reference_nats(labels, logits, label_smoothing)
    weights = np.ones_like(nats) if weights is None else np.asarray(weights, np.float64)
    return (nats * weights).sum() / weights.sum()


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, V, size=(B, T))
    logits = rng.normal(size=(B, T, V)).astype("float32") * 3
    weights = np.ones((B, T), "float32")
    weights[0, 5:] = 0  # padding
    weights[2, 2:] = 0
    return labels, logits, weights


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
def test_function_and_loss_match_numpy(batch, label_smoothing):
    labels, logits, weights = batch
    expected = reference_loss(labels, logits, weights, label_smoothing)
    got_fn = float(masked_cross_entropy(labels, logits, weights, label_smoothing))
    got_loss = float(MaskedCrossEntropy(label_smoothing)(labels, logits, sample_weight=weights))
    np.testing.assert_allclose(got_fn, expected, rtol=1e-5)
    np.testing.assert_allclose(got_loss, expected, rtol=1e-5)


def test_unweighted_is_plain_mean(batch):
    labels, logits, _ = batch
    expected = reference_loss(labels, logits)
    np.testing.assert_allclose(float(masked_cross_entropy(labels, logits)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(MaskedCrossEntropy()(labels, logits)), expected, rtol=1e-5)


def test_label_smoothing_matches_keras_dense_version(batch):
    labels, logits, _ = batch
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    expected = float(keras_loss(np.eye(V)[labels], logits))
    np.testing.assert_allclose(
        float(masked_cross_entropy(labels, logits, label_smoothing=0.2)), expected, rtol=1e-5
    )


def test_padding_changes_nothing(batch):
    labels, logits, weights = batch
    loss = MaskedCrossEntropy()
    before = float(loss(labels, logits, sample_weight=weights))
    garbage_labels, garbage_logits = labels.copy(), logits.copy()
    padded = weights == 0
    garbage_labels[padded] = 7
    garbage_logits[padded] = 100.0 * np.random.default_rng(1).normal(size=(padded.sum(), V))
    after = float(loss(garbage_labels, garbage_logits, sample_weight=weights))
    np.testing.assert_allclose(after, before, rtol=1e-6)
    # Row 0 alone with its padding cut off gives the same loss as with the padding weighted 0.
    np.testing.assert_allclose(
        float(loss(labels[:1, :5], logits[:1, :5])),
        float(loss(labels[:1], logits[:1], sample_weight=weights[:1])),
        rtol=1e-6,
    )
    # Keras's default reduction divides by every element, padding included: smaller, wrong.
    default = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(default(labels, logits, sample_weight=weights)) < before - 0.1


def test_all_padding_gives_zero_not_nan(batch):
    labels, logits, weights = batch
    zero = np.zeros_like(weights)
    assert float(MaskedCrossEntropy()(labels, logits, sample_weight=zero)) == 0.0
    assert float(masked_cross_entropy(labels, logits, zero)) == 0.0


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_logits_are_computed_in_float32(batch, dtype):
    labels, logits, weights = batch
    low = keras.ops.cast(logits, dtype)
    rounded = keras.ops.convert_to_numpy(keras.ops.cast(low, "float32"))
    expected = reference_loss(labels, rounded, weights, 0.1)
    got = MaskedCrossEntropy(label_smoothing=0.1)(labels, low, sample_weight=weights)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    nats = token_cross_entropy(labels, low)
    assert keras.backend.standardize_dtype(nats.dtype) == "float32"


def test_probabilities_input(batch):
    labels, logits, _ = batch
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(token_cross_entropy(labels, probs, from_logits=False)),
        reference_nats(labels, logits),
        rtol=1e-4,
    )


def test_config_round_trip():
    loss = MaskedCrossEntropy(label_smoothing=0.1, name="ce")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MaskedCrossEntropy)
    assert restored.get_config() == loss.get_config()
    assert restored.reduction == "mean_with_sample_weight"


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_invalid_label_smoothing_names_argument(value):
    with pytest.raises(ValueError, match="label_smoothing"):
        MaskedCrossEntropy(label_smoothing=value)
    with pytest.raises(ValueError, match=f"Received: label_smoothing={value}"):
        masked_cross_entropy(np.zeros((1, 2), "int32"), np.zeros((1, 2, 3)), label_smoothing=value)


def test_rejects_low_precision_dtype():
    with pytest.raises(ValueError, match="dtype"):
        MaskedCrossEntropy(dtype="bfloat16")


def test_fit_with_mixed_precision_model():
    """Under a mixed_bfloat16 model the loss still computes in float32 and training works."""
    inputs = keras.Input((T,), dtype="int32")
    hidden = keras.layers.Embedding(V, 8, dtype="mixed_bfloat16")(inputs)
    logits = keras.layers.Dense(V, dtype="mixed_bfloat16")(hidden)
    model = keras.Model(inputs, logits)
    model.compile(keras.optimizers.Adam(1e-2), loss=MaskedCrossEntropy())
    rng = np.random.default_rng(0)
    x = rng.integers(0, V, size=(8, T))
    weights = (rng.random((8, T)) > 0.3).astype("float32")
    history = model.fit(x, x, sample_weight=weights, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
