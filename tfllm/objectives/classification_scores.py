"""Scores of a classifier over a whole evaluation set: confusion matrix, macro F1, a report.

Plain NumPy on (N,) integer labels and predictions (or (N, C) probabilities for the report).

F1 of class c is `2 * tp / (2 * tp + fp + fn)`: the harmonic mean of its precision and recall,
written so that it needs no convention for an empty precision or recall. A class with no true
and no predicted example (tp + fp + fn = 0) has no F1: it is left out of the macro average, and
`classification_report` gives it `None`. A class that occurs but is never predicted (or is
predicted but never occurs) scores 0 and counts in the average.

Example:

>>> labels = [0, 0, 1, 1, 2]
>>> predictions = [0, 1, 1, 1, 0]
>>> confusion_matrix(labels, predictions, num_classes=3).tolist()  # rows true, columns predicted
[[1, 1, 0], [0, 2, 0], [1, 0, 0]]
>>> round(macro_f1(labels, predictions, num_classes=3), 4)  # (0.5 + 0.8 + 0.0) / 3
0.4333
>>> report = classification_report(
...     [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], [0, 1, 1], class_names=["cold", "hot"]
... )
>>> list(report)
['accuracy', 'macro_f1', 'f1_cold', 'f1_hot', 'ece', 'confusion', 'examples']
>>> report["accuracy"], report["f1_cold"], report["confusion"]
(0.666..., 0.666..., [[1, 0], [1, 1]])
"""

import numpy as np

from tfllm.objectives.calibration import (
    DEFAULT_NUM_BINS,
    check_labels,
    expected_calibration_error,
)
from tfllm.validation import check_positive_int


def confusion_matrix(labels, predictions, num_classes):
    """(C, C) int64 counts: entry [i, j] is the number of examples of class i predicted as j.

    Args:
        labels: (N,) true class ids in [0, C).
        predictions: (N,) predicted class ids in [0, C).
        num_classes: C.

    Returns:
        A NumPy (C, C) int64 array; rows are true classes, columns predicted classes.
    """
    num_classes = check_positive_int("num_classes", num_classes)
    labels = _as_vector("labels", labels)
    labels = check_labels("labels", labels, len(labels), num_classes)
    predictions = check_labels("predictions", predictions, len(labels), num_classes)
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def f1_per_class(matrix):
    """(C,) float64 F1 of each class from a confusion matrix; NaN for a class with no true and
    no predicted example (module docstring)."""
    matrix = np.asarray(matrix)
    true_positives = np.diag(matrix).astype(np.float64)
    # 2 tp + fp + fn = (row sum) + (column sum): every example of the class, every prediction of it.
    denominator = matrix.sum(axis=1) + matrix.sum(axis=0)
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, 2 * true_positives / safe, np.nan)


def macro_f1(labels, predictions, num_classes):
    """The unweighted mean of the per-class F1 scores, over the classes that have an F1.

    A class with no true and no predicted example is left out of the average (module
    docstring); the labels must hold at least one example, so at least one class counts.

    Args:
        labels: (N,) true class ids in [0, C), N >= 1.
        predictions: (N,) predicted class ids in [0, C).
        num_classes: C.

    Returns:
        A float in [0, 1].
    """
    matrix = confusion_matrix(labels, predictions, num_classes)
    _check_not_empty(matrix)
    return float(np.nanmean(f1_per_class(matrix)))


def classification_report(probabilities, labels, class_names, *, num_bins=DEFAULT_NUM_BINS):
    """Every classification score for a results table, as one dict.

    Args:
        probabilities: (N, C) predicted probabilities (rows summing to 1), N >= 1; the
            prediction is the most probable class (the first on a tie).
        labels: (N,) true class ids in [0, C).
        class_names: C distinct non-empty strings, the names of classes 0 .. C - 1.
        num_bins: confidence bins of the expected calibration error (15 default).

    Returns:
        A dict with, in this order: "accuracy", "macro_f1", "f1_<name>" for each class in
        order (None for a class with no true and no predicted example), "ece" (top-label
        expected calibration error, `tfllm.objectives.calibration`), "confusion" (the confusion
        matrix as a list of lists of ints, rows true) and "examples" (N).
    """
    class_names = _check_class_names(class_names)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"`probabilities` must have shape (N, {len(class_names)}), one column per class "
            f"name. Received: probabilities.shape={probabilities.shape}"
        )
    # The calibration check validates the probabilities and the labels for everything below.
    ece = expected_calibration_error(probabilities, labels, num_bins=num_bins)
    matrix = confusion_matrix(labels, probabilities.argmax(axis=-1), len(class_names))
    _check_not_empty(matrix)
    f1 = f1_per_class(matrix)
    report = {
        "accuracy": float(np.trace(matrix) / matrix.sum()),
        "macro_f1": float(np.nanmean(f1)),
    }
    for name, score in zip(class_names, f1):
        report[f"f1_{name}"] = None if np.isnan(score) else float(score)
    report["ece"] = ece
    report["confusion"] = matrix.tolist()
    report["examples"] = int(matrix.sum())
    return report


def _as_vector(name, values):
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"`{name}` must be one-dimensional, one class id per example. "
            f"Received: {name}.shape={array.shape}"
        )
    return array


def _check_not_empty(matrix):
    if matrix.sum() == 0:
        raise ValueError(
            "The scores need at least one example. Received: labels with 0 examples"
        )


def _check_class_names(class_names):
    if isinstance(class_names, str) or not isinstance(class_names, (list, tuple)):
        raise ValueError(
            "`class_names` must be a list or tuple of strings, one per class. "
            f"Received: class_names={class_names!r}"
        )
    if not class_names or not all(isinstance(name, str) and name for name in class_names):
        raise ValueError(
            "`class_names` must hold at least one non-empty string. "
            f"Received: class_names={class_names!r}"
        )
    if len(set(class_names)) != len(class_names):
        raise ValueError(
            f"`class_names` must not repeat a name. Received: class_names={class_names!r}"
        )
    return tuple(class_names)
