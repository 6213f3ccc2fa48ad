"""Expected calibration error: the NumPy functions, the Keras metric, and their agreement."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import (
    ExpectedCalibrationError,
    expected_calibration_error,
    reliability_bins,
)

B, T, V = 4, 8, 32


def softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def reference_ece(probabilities, labels, num_bins, weights):
    """Guo et al.'s formula written directly: a loop over bins of means."""
    confidence = probabilities.max(-1)
    correct = probabilities.argmax(-1) == labels
    total, ece = weights.sum(), 0.0
    for m in range(num_bins):
        low, high = m / num_bins, (m + 1) / num_bins
        in_bin = (confidence > low) & (confidence <= high)
        weight = weights[in_bin].sum()
        if weight > 0:
            accuracy = (weights[in_bin] * correct[in_bin]).sum() / weight
            mean_confidence = (weights[in_bin] * confidence[in_bin]).sum() / weight
            ece += weight / total * abs(accuracy - mean_confidence)
    return ece


def random_batch(seed=0):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(B, T, V)) * 3).astype("float32")
    labels = np.where(rng.random((B, T)) < 0.5, logits.argmax(-1), rng.integers(0, V, (B, T)))
    weights = (rng.random((B, T)) < 0.8).astype("float32")
    return labels, logits, weights


@pytest.mark.parametrize("num_bins", [1, 10, 15])
def test_numpy_matches_the_formula_written_as_a_loop(num_bins):
    labels, logits, weights = random_batch()
    probabilities = softmax(logits).reshape(-1, V)
    labels, weights = labels.reshape(-1), weights.reshape(-1).astype(np.float64)
    expected = reference_ece(probabilities, labels, num_bins, weights)
    got = expected_calibration_error(probabilities, labels, num_bins=num_bins, weights=weights)
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0.0 < got < 1.0


def test_metric_equals_numpy_on_token_logits_over_several_batches():
    metric = ExpectedCalibrationError()
    all_probabilities, all_labels, all_weights = [], [], []
    for seed in range(3):
        labels, logits, weights = random_batch(seed)
        metric.update_state(labels, logits, sample_weight=weights)
        all_probabilities.append(softmax(logits).reshape(-1, V))
        all_labels.append(labels.reshape(-1))
        all_weights.append(weights.reshape(-1))
    arguments = (np.concatenate(all_probabilities), np.concatenate(all_labels))
    weights = np.concatenate(all_weights)
    expected = expected_calibration_error(*arguments, weights=weights)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    bins, expected_bins = metric.reliability_bins(), reliability_bins(*arguments, weights=weights)
    assert bins.num_bins == 15
    for field in ("edges", "counts", "confidence", "accuracy"):
        np.testing.assert_allclose(
            getattr(bins, field), getattr(expected_bins, field), rtol=1e-5, atol=1e-7
        )
    assert bins.expected_calibration_error == pytest.approx(expected, rel=1e-5)


def test_perfectly_calibrated_predictions_score_zero():
    # 10 examples at confidence 0.7 with 7 right, 20 at 0.9 with 18 right, 4 at 0.5 with 2 right.
    groups = [(0.7, 10, 7), (0.9, 20, 18), (0.5, 4, 2)]
    probabilities, labels = [], []
    for confidence, count, right in groups:
        probabilities += [[confidence, 1 - confidence]] * count
        labels += [0] * right + [1] * (count - right)
    probabilities, labels = np.array(probabilities), np.array(labels)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-12)
    metric = ExpectedCalibrationError(from_logits=False)
    metric.update_state(labels, probabilities.astype("float32"))
    assert float(metric.result()) == pytest.approx(0.0, abs=1e-6)
    # Logits of the same probabilities give the same answer.
    logits_metric = ExpectedCalibrationError()
    logits_metric.update_state(labels, np.log(probabilities).astype("float32"))
    assert float(logits_metric.result()) == pytest.approx(0.0, abs=1e-6)


def test_over_confident_predictions_score_the_known_gap():
    # Always 0.95 sure, right half the time: ECE = 0.95 - 0.5. Then add 10 examples at 0.65,
    # all right: (20 * 0.45 + 10 * 0.35) / 30.
    probabilities = np.array([[0.95, 0.05, 0.0]] * 20)
    labels = np.array([0, 2] * 10)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.45)
    more = np.concatenate([probabilities, [[0.2, 0.65, 0.15]] * 10])
    more_labels = np.concatenate([labels, [1] * 10])
    expected = (20 * 0.45 + 10 * 0.35) / 30
    assert expected_calibration_error(more, more_labels) == pytest.approx(expected)
    metric = ExpectedCalibrationError(from_logits=False)
    metric.update_state(more_labels, more.astype("float32"))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)


def test_weight_zero_positions_count_nothing():
    labels, logits, weights = random_batch()
    weights[0, :] = 0.0
    garbage_logits, garbage_labels = logits.copy(), labels.copy()
    garbage_logits[0] = 0.0
    garbage_logits[0, :, 0] = 50.0  # confidently wrong where the weight is 0
    garbage_labels[0] = 1
    results = []
    for these_labels, these_logits in ((labels, logits), (garbage_labels, garbage_logits)):
        metric = ExpectedCalibrationError()
        metric.update_state(these_labels, these_logits, sample_weight=weights)
        results.append(float(metric.result()))
    assert results[0] == pytest.approx(results[1], abs=1e-7)
    # Dropping the rows altogether gives the same value.
    kept = ExpectedCalibrationError()
    kept.update_state(labels[1:], logits[1:], sample_weight=weights[1:])
    assert float(kept.result()) == pytest.approx(results[0], abs=1e-7)
    probabilities = softmax(garbage_logits).reshape(-1, V)
    numpy_value = expected_calibration_error(
        probabilities, garbage_labels.reshape(-1), weights=weights.reshape(-1)
    )
    assert numpy_value == pytest.approx(results[0], rel=1e-5)


def test_reset_state_and_an_empty_metric():
    metric = ExpectedCalibrationError()
    assert float(metric.result()) == 0.0
    labels, logits, weights = random_batch()
    metric.update_state(labels, logits, sample_weight=weights)
    assert float(metric.result()) > 0.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert float(keras.ops.sum(metric.bin_weight)) == 0.0


def test_config_round_trip_and_serialization():
    metric = ExpectedCalibrationError(num_bins=10, from_logits=False, name="calibration")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, ExpectedCalibrationError)
    assert restored.get_config() == metric.get_config()
    assert (restored.num_bins, restored.from_logits, restored.name) == (10, False, "calibration")


def test_trailing_label_axis_and_a_compiled_update():
    labels, logits, _ = random_batch()
    eager = ExpectedCalibrationError()
    eager.update_state(labels, logits)
    compiled = ExpectedCalibrationError()
    tf.function(compiled.update_state)(labels[..., None], logits)
    assert float(compiled.result()) == pytest.approx(float(eager.result()), rel=1e-6)


def test_weighted_metric_in_evaluate():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(16, 4)).astype("float32")
    labels = rng.integers(0, 3, 16)
    weights = np.r_[np.ones(12), np.zeros(4)].astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(loss="sparse_categorical_crossentropy",
                  weighted_metrics=[ExpectedCalibrationError(num_bins=5)])
    results = model.evaluate(features, labels, sample_weight=weights, batch_size=5,
                             verbose=0, return_dict=True)
    probabilities = softmax(model.predict(features, verbose=0))
    expected = expected_calibration_error(probabilities, labels, num_bins=5, weights=weights)
    assert results["ece"] == pytest.approx(expected, rel=1e-5)


def test_reliability_bins_fields():
    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.25, 0.75], [0.0, 1.0]])
    bins = reliability_bins(probabilities, np.array([0, 1, 1, 1]), num_bins=4)
    np.testing.assert_allclose(bins.edges, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(bins.counts, [0, 0, 1, 3])
    np.testing.assert_allclose(bins.confidence, [0, 0, 0.75, (0.95 + 0.95 + 1.0) / 3])
    np.testing.assert_allclose(bins.accuracy, [0, 0, 1.0, 2 / 3])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"probabilities": np.ones(3) / 3}, "probabilities.shape=(3,)"),
        ({"probabilities": [[2.0, -1.0]]}, "finite and non-negative"),
        ({"probabilities": [[0.5, 0.6]]}, "sum to 1"),
        ({"labels": [0, 1]}, "labels.shape=(2,)"),
        ({"labels": [2]}, "Received: labels with min=2, max=2"),
        ({"labels": [0.5]}, "integer class ids"),
        ({"weights": [-1.0]}, "non-negative"),
        ({"weights": [1.0, 1.0]}, "weights.shape=(2,)"),
        ({"num_bins": 0}, "Received: num_bins=0"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    arguments = {"probabilities": [[0.3, 0.7]], "labels": [1], **kwargs}
    with pytest.raises(ValueError) as error:
        expected_calibration_error(**arguments)
    assert message in str(error.value)


def test_invalid_metric_arguments():
    with pytest.raises(ValueError, match="Received: num_bins=-1"):
        ExpectedCalibrationError(num_bins=-1)
    with pytest.raises(ValueError, match="Received: from_logits='yes'"):
        ExpectedCalibrationError(from_logits="yes")
