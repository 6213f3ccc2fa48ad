"""Confusion matrix, macro F1 and the classification report, against hand-computed values."""

import json

import numpy as np
import pytest

from tfllm.objectives import (
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    f1_per_class,
    macro_f1,
)

# Hand-checked example: 3 classes, 8 examples.
LABELS = [0, 0, 0, 1, 1, 2, 2, 2]
PREDICTIONS = [0, 0, 1, 1, 2, 2, 2, 0]
# Rows true, columns predicted.
MATRIX = [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
# Class 0: tp 2, fp 1, fn 1 -> 4 / 6; class 1: tp 1, fp 1, fn 1 -> 2 / 4; class 2: same as 0.
F1 = [2 / 3, 1 / 2, 2 / 3]


def test_confusion_matrix_rows_are_true_classes():
    matrix = confusion_matrix(LABELS, PREDICTIONS, num_classes=3)
    assert matrix.dtype == np.int64
    assert matrix.tolist() == MATRIX
    # One more class than occurs: an empty row and column.
    assert confusion_matrix([1], [0], num_classes=3).tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 0]]


def test_macro_f1_by_hand():
    np.testing.assert_allclose(f1_per_class(MATRIX), F1)
    assert macro_f1(LABELS, PREDICTIONS, 3) == pytest.approx(sum(F1) / 3)
    assert macro_f1(LABELS, LABELS, 3) == 1.0


def test_a_class_with_no_true_and_no_predicted_example_is_left_out():
    # Class 3 never occurs and is never predicted: the average is over classes 0-2 only.
    assert macro_f1(LABELS, PREDICTIONS, 4) == pytest.approx(sum(F1) / 3)
    assert np.isnan(f1_per_class(confusion_matrix(LABELS, PREDICTIONS, 4))[3])
    # A class that occurs but is never predicted counts, with F1 0.
    assert macro_f1([0, 1], [0, 0], 2) == pytest.approx((2 / 3 + 0.0) / 2)
    # So does a class predicted but never present.
    assert macro_f1([0, 0], [0, 1], 2) == pytest.approx((2 / 3 + 0.0) / 2)


def test_macro_f1_matches_sklearn_when_installed():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels, predictions = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    expected = metrics.f1_score(labels, predictions, average="macro")
    assert macro_f1(labels, predictions, 5) == pytest.approx(expected)
    np.testing.assert_array_equal(
        confusion_matrix(labels, predictions, 5), metrics.confusion_matrix(labels, predictions)
    )


def test_classification_report_by_hand():
    probabilities = np.array([
        [0.7, 0.2, 0.1],  # true 0, predicted 0
        [0.1, 0.8, 0.1],  # true 0, predicted 1
        [0.3, 0.6, 0.1],  # true 1, predicted 1
        [0.2, 0.1, 0.7],  # true 2, predicted 2
    ])
    labels = [0, 0, 1, 2]
    report = classification_report(probabilities, labels, ["a", "b", "c"], num_bins=10)
    assert list(report) == [
        "accuracy", "macro_f1", "f1_a", "f1_b", "f1_c", "ece", "confusion", "examples"
    ]
    assert report["accuracy"] == 0.75
    assert report["f1_a"] == pytest.approx(2 / 3)  # tp 1, fn 1
    assert report["f1_b"] == pytest.approx(2 / 3)  # tp 1, fp 1
    assert report["f1_c"] == 1.0
    assert report["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert report["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert report["examples"] == 4
    # Bins of width 0.1: 0.7 (twice, both right), 0.8 (wrong), 0.6 (right).
    expected_ece = (2 * abs(1 - 0.7) + abs(0 - 0.8) + abs(1 - 0.6)) / 4
    assert report["ece"] == pytest.approx(expected_ece)
    assert report["ece"] == pytest.approx(
        expected_calibration_error(probabilities, labels, num_bins=10)
    )
    json.dumps(report)  # plain Python values, ready for metrics.json


def test_report_gives_none_to_a_class_with_no_example():
    report = classification_report([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], [0, 1], ["x", "y", "z"])
    assert report["f1_z"] is None
    assert report["macro_f1"] == 1.0
    assert json.loads(json.dumps(report))["f1_z"] is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: confusion_matrix([[0, 1]], [0, 1], 2), "labels.shape=(1, 2)"),
        (lambda: confusion_matrix([0, 1], [0], 2), "predictions.shape=(1,)"),
        (lambda: confusion_matrix([0, 2], [0, 1], 2), "Received: labels with min=0, max=2"),
        (lambda: confusion_matrix([0, 1], [0, -1], 2), "Received: predictions with min=-1"),
        (lambda: confusion_matrix([0.5], [0], 2), "integer class ids"),
        (lambda: confusion_matrix([0], [0], 0), "Received: num_classes=0"),
        (lambda: macro_f1([], [], 2), "at least one example"),
        (lambda: classification_report([[0.5, 0.5]], [0], ["a"]), "(N, 1)"),
        (lambda: classification_report([[0.5, 0.5]], [0], ["a", "a"]), "repeat"),
        (lambda: classification_report([[0.5, 0.5]], [0], "ab"), "class_names='ab'"),
        (lambda: classification_report([[0.5, 0.5]], [0], ["a", ""]), "non-empty"),
        (lambda: classification_report([[2.0, -1.0]], [0], ["a", "b"]), "non-negative"),
        (lambda: classification_report([[0.5, 0.5]], [0, 1], ["a", "b"]), "labels.shape=(2,)"),
        (lambda: classification_report(np.zeros((0, 2)), [], ["a", "b"]), "at least one"),
    ],
)
def test_invalid_inputs_are_named(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)
    assert "Received:" in str(error.value)
