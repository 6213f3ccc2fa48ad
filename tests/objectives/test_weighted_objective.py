"""WeightedObjective and its term metrics: the weighted sum, exact per-term logs, fit, config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import (
    MaskedCrossEntropy,
    MaskedSquaredError,
    TermMean,
    TokenSetPenalty,
    UnlikelihoodLoss,
    WeightedObjective,
)

V = 4
RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, V, size=(2, 5))
LOGITS = RNG.normal(size=(2, 5, V)).astype("float32")
WEIGHTS = np.array([[1, 1, 1, 0, 0], [1, 2, 1, 1, 0]], "float32")


def objective():
    return WeightedObjective(
        {
            "cross_entropy": (1.0, MaskedCrossEntropy()),
            "unlikelihood": (0.5, TokenSetPenalty([3])),
            "brier": (2.0, MaskedSquaredError()),
        }
    )


def reference_terms(labels, logits):
    """Per-token cross-entropy, -log(1 - p_3) (0 where 3 is the target) and Brier, in NumPy."""
    logits = np.asarray(logits, np.float64)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    one_hot = np.eye(logits.shape[-1])[labels]
    return {
        "cross_entropy": -np.log((probabilities * one_hot).sum(-1)),
        "unlikelihood": np.where(labels == 3, 0.0, -np.log(1 - probabilities[..., 3])),
        "brier": ((probabilities - one_hot) ** 2).sum(-1),
    }


def weighted_mean(values, weights):
    return (values * weights).sum() / weights.sum()


def test_equals_the_manual_weighted_sum():
    loss = objective()
    terms = reference_terms(LABELS, LOGITS)
    per_token = terms["cross_entropy"] + 0.5 * terms["unlikelihood"] + 2.0 * terms["brier"]
    value = float(loss(LABELS, LOGITS, sample_weight=WEIGHTS))
    assert value == pytest.approx(weighted_mean(per_token, WEIGHTS), rel=1e-5)
    separately = sum(
        weight * float(term(LABELS, LOGITS, sample_weight=WEIGHTS))
        for weight, term in loss.terms.values()
    )
    assert value == pytest.approx(separately, rel=1e-6)


def test_padding_changes_nothing_and_low_precision_gives_float32():
    loss = objective()
    before = float(loss(LABELS, LOGITS, sample_weight=WEIGHTS))
    garbage = LOGITS.copy()
    garbage[WEIGHTS == 0] = [40.0, -40.0, 5.0, 9.0]
    assert float(loss(LABELS, garbage, sample_weight=WEIGHTS)) == pytest.approx(before, rel=1e-6)
    low = keras.ops.cast(LOGITS, "bfloat16")
    rounded = keras.ops.convert_to_numpy(keras.ops.cast(low, "float32"))
    got = loss(LABELS, low, sample_weight=WEIGHTS)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    assert float(got) == pytest.approx(float(loss(LABELS, rounded, sample_weight=WEIGHTS)))


def test_gradient_is_finite():
    logits = tf.Variable(LOGITS)
    with tf.GradientTape() as tape:
        value = objective()(LABELS, logits, sample_weight=WEIGHTS)
    gradient = tape.gradient(value, logits).numpy()
    assert np.all(np.isfinite(gradient))
    np.testing.assert_array_equal(gradient[WEIGHTS == 0], 0.0)


def test_term_metrics_are_exact_over_two_batches():
    loss = objective()
    metrics = loss.term_metrics()
    assert [metric.name for metric in metrics] == ["cross_entropy", "unlikelihood", "brier"]
    second_labels = RNG.integers(0, V, size=(2, 5))
    second_logits = RNG.normal(size=(2, 5, V)).astype("float32")
    second_weights = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], "float32")  # one token
    for metric in metrics:
        metric.update_state(LABELS, LOGITS, sample_weight=WEIGHTS)
        metric.update_state(second_labels, second_logits, sample_weight=second_weights)
    first, second = reference_terms(LABELS, LOGITS), reference_terms(second_labels, second_logits)
    for metric in metrics:
        total = (first[metric.name] * WEIGHTS).sum() + (second[metric.name] * second_weights).sum()
        exact = total / (WEIGHTS.sum() + second_weights.sum())
        assert float(metric.result()) == pytest.approx(exact, rel=1e-5)
        batch_means = (
            weighted_mean(first[metric.name], WEIGHTS)
            + weighted_mean(second[metric.name], second_weights)
        ) / 2
        assert abs(exact - batch_means) > 1e-3  # an average of batch means would be wrong
        metric.reset_state()
        assert float(metric.result()) == 0.0


def test_compile_and_fit_log_each_term():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(8, 4),
                              keras.layers.Dense(8)])
    loss = WeightedObjective(
        {
            "cross_entropy": (1.0, MaskedCrossEntropy()),
            "unlikelihood": (0.5, UnlikelihoodLoss(alpha=1.0, candidates="context")),
            "banned": (0.1, TokenSetPenalty([7], penalty="probability_mass")),
        }
    )
    model.compile(optimizer="adam", loss=loss, weighted_metrics=loss.term_metrics())
    x = RNG.integers(0, 8, size=(4, 5))
    y = RNG.integers(0, 8, size=(4, 5))
    weights = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]],
                       "float32")
    history = model.fit(x[:2], y[:2], sample_weight=weights[:2], epochs=1, batch_size=2,
                        verbose=0)
    for name in ("loss", "cross_entropy", "unlikelihood", "banned"):
        assert np.isfinite(history.history[name][0])
    # Over two batches of different weights, evaluate reports each term exactly.
    results = model.evaluate(x, y, sample_weight=weights, batch_size=2, verbose=0,
                             return_dict=True)
    logits = model.predict(x, verbose=0)
    expected = float(loss.terms["banned"][1](y, logits, sample_weight=weights))
    assert results["banned"] == pytest.approx(expected, rel=1e-5)
    expected = float(MaskedCrossEntropy()(y, logits, sample_weight=weights))
    assert results["cross_entropy"] == pytest.approx(expected, rel=1e-5)


def test_config_round_trip():
    loss = objective()
    config = keras.saving.serialize_keras_object(loss)
    for restored in (keras.saving.deserialize_keras_object(config), keras.losses.deserialize(config)):
        assert isinstance(restored, WeightedObjective)
        assert restored.get_config() == loss.get_config()
        assert list(restored.terms) == ["cross_entropy", "unlikelihood", "brier"]
        assert isinstance(restored.terms["unlikelihood"][1], TokenSetPenalty)
        assert float(restored(LABELS, LOGITS)) == pytest.approx(float(loss(LABELS, LOGITS)))
    metric = loss.term_metrics()[1]
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, TermMean) and restored.name == "unlikelihood"
    assert restored.get_config() == metric.get_config()


@pytest.mark.parametrize(
    "terms, message",
    [
        ({}, "Received: terms={}"),
        ([(1.0, MaskedCrossEntropy())], "terms"),
        ({"cross entropy": (1.0, MaskedCrossEntropy())}, "Received: terms name 'cross entropy'"),
        ({"loss": (1.0, MaskedCrossEntropy())}, "Received: terms name 'loss'"),
        ({"ce": MaskedCrossEntropy()}, "must be a \\(weight, loss\\) pair"),
        ({"ce": (-1.0, MaskedCrossEntropy())}, "Received: terms\\['ce'\\] weight=-1.0"),
        ({"ce": (float("inf"), MaskedCrossEntropy())}, "Received: terms\\['ce'\\] weight=inf"),
        ({"ce": (1.0, "sparse_categorical_crossentropy")}, "Received: terms\\['ce'\\] loss="),
    ],
)
def test_invalid_terms_name_the_argument(terms, message):
    with pytest.raises(ValueError, match=message):
        WeightedObjective(terms)


def test_invalid_dtype_and_metric_loss():
    with pytest.raises(ValueError, match="dtype"):
        WeightedObjective({"ce": (1.0, MaskedCrossEntropy())}, dtype="float16")
    with pytest.raises(ValueError, match="Received: loss="):
        TermMean(lambda y_true, y_pred: y_pred)
