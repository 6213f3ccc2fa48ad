"""Expected calibration error: how far a model's confidence is from its accuracy.

Top-label ECE with equal-width confidence bins, as in Guo et al., "On Calibration of Modern
Neural Networks" (2017). For each example the *confidence* is the largest predicted probability
and the example is *correct* when that class (the first one on a tie) is the label. The
confidences are put in `num_bins` bins of equal width (15 by default, as in that paper); bin m
(counting from 1) holds the confidences in ((m - 1) / M, m / M], and a confidence of exactly 0
goes in the first bin. With n_m the (weighted) number of examples in bin m and N all of them:

    ECE = sum_m (n_m / N) * |accuracy_m - confidence_m|
        = sum_m |correct_m - confidence_sum_m| / N

The second form (sums per bin, not means) is what the Keras metric accumulates, so the ECE of a
whole evaluation is exact, not an average over batches. 0 is perfect calibration; a model that
always says 0.9 and is right half the time scores 0.4. The ECE of no examples is 0.

The same code scores a classifier's (N, C) probabilities and a language model's (B, T, V)
next-token logits: give the metric `sample_weight` 0 on padding and those positions count nothing.

Example:

>>> import numpy as np
>>> probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.25, 0.75], [0.25, 0.75]])
>>> labels = np.array([0, 1, 1, 1])
>>> # Two examples at 0.95 with half right, two at 0.75 both right: (0.45 * 2 + 0.25 * 2) / 4.
>>> round(expected_calibration_error(probabilities, labels), 4)
0.35
>>> bins = reliability_bins(probabilities, labels, num_bins=10)
>>> bins.counts[[7, 9]], bins.confidence[[7, 9]], bins.accuracy[[7, 9]]
(array([2., 2.]), array([0.75, 0.95]), array([1. , 0.5]))
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from tfllm.objectives.token_metric_utils import token_weights
from tfllm.validation import check_bool, check_positive_int

DEFAULT_NUM_BINS = 15
# Rows of `probabilities` must sum to 1 within this (float32 softmax output passes).
_SUM_TOLERANCE = 1e-3


# eq=False: arrays have no single truth value, so instances compare (and hash) by identity.
@dataclass(frozen=True, eq=False)
class ReliabilityBins:
    """Per-bin statistics of a reliability diagram (NumPy float64 arrays).

    Attributes:
        edges: (M + 1,) bin edges, 0 to 1; bin m covers (edges[m], edges[m + 1]].
        counts: (M,) weighted number of examples per bin.
        confidence: (M,) mean confidence per bin (0 where the bin is empty).
        accuracy: (M,) weighted fraction correct per bin (0 where the bin is empty).
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def num_bins(self):
        return len(self.counts)

    @property
    def expected_calibration_error(self):
        """sum_m (n_m / N) * |accuracy_m - confidence_m|; 0 when there are no examples."""
        total = self.counts.sum()
        if total <= 0:
            return 0.0
        gaps = np.abs(self.accuracy - self.confidence) * self.counts
        return float(gaps.sum() / total)


def reliability_bins(probabilities, labels, *, num_bins=DEFAULT_NUM_BINS, weights=None):
    """Counts, mean confidence and accuracy per equal-width confidence bin (module docstring).

    Args:
        probabilities: (N, C) predicted probabilities, each row summing to 1.
        labels: (N,) integer labels in [0, C).
        num_bins: M, the number of bins of width 1 / M (15 default, as Guo et al. 2017).
        weights: optional (N,) non-negative weights (0 leaves an example out); None weighs each 1.

    Returns:
        `ReliabilityBins`.
    """
    num_bins = check_positive_int("num_bins", num_bins)
    probabilities, labels, weights = _check_inputs(probabilities, labels, weights)
    confidence = probabilities.max(axis=-1)  # (N,)
    correct = probabilities.argmax(axis=-1) == labels  # (N,)
    index = np.clip(np.ceil(confidence * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
    return _bins_from_sums(
        counts=np.bincount(index, weights=weights, minlength=num_bins),
        confidence_sums=np.bincount(index, weights=weights * confidence, minlength=num_bins),
        correct_sums=np.bincount(index, weights=weights * correct, minlength=num_bins),
    )


def _bins_from_sums(counts, confidence_sums, correct_sums):
    counts, confidence_sums, correct_sums = (
        np.asarray(values, np.float64) for values in (counts, confidence_sums, correct_sums)
    )
    safe_counts = np.where(counts > 0, counts, 1.0)
    return ReliabilityBins(
        edges=np.linspace(0.0, 1.0, len(counts) + 1),
        counts=counts,
        confidence=np.where(counts > 0, confidence_sums / safe_counts, 0.0),
        accuracy=np.where(counts > 0, correct_sums / safe_counts, 0.0),
    )


def expected_calibration_error(probabilities, labels, *, num_bins=DEFAULT_NUM_BINS, weights=None):
    """Top-label ECE of (N, C) probabilities against (N,) labels, as a float in [0, 1].

    Arguments as `reliability_bins`; equal-width bins, 15 by default (Guo et al., 2017).
    """
    bins = reliability_bins(probabilities, labels, num_bins=num_bins, weights=weights)
    return bins.expected_calibration_error


def _check_inputs(probabilities, labels, weights):
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(
            "`probabilities` must have shape (N, C), one row of class probabilities per example. "
            f"Received: probabilities.shape={probabilities.shape}"
        )
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError(
            "`probabilities` must be finite and non-negative (pass softmax outputs, not logits). "
            f"Received: probabilities={probabilities!r}"
        )
    sums = probabilities.sum(axis=-1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOLERANCE):
        raise ValueError(
            "Each row of `probabilities` must sum to 1 (pass softmax outputs, not logits). "
            f"Received: a row summing to {float(sums[np.argmax(np.abs(sums - 1.0))])!r}"
        )
    labels = check_labels("labels", labels, len(probabilities), probabilities.shape[1])
    if weights is None:
        weights = np.ones(len(labels))
    else:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != labels.shape:
            raise ValueError(
                f"`weights` must have shape {labels.shape}, one per example. "
                f"Received: weights.shape={weights.shape}"
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(
                f"`weights` must be finite and non-negative. Received: weights={weights!r}"
            )
    return probabilities, labels, weights


def check_labels(name, labels, count, num_classes):
    """(count,) int64 labels in [0, num_classes), or a ValueError naming `name`."""
    array = np.asarray(labels)
    if array.shape != (count,):
        raise ValueError(
            f"`{name}` must have shape ({count},), one per example. "
            f"Received: {name}.shape={array.shape}"
        )
    if count and not (np.issubdtype(array.dtype, np.integer)
                      or np.all(np.mod(array, 1) == 0)):
        raise ValueError(f"`{name}` must hold integer class ids. Received: {name}={labels!r}")
    array = array.astype(np.int64)
    if count and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"`{name}` must hold class ids in [0, {num_classes}). "
            f"Received: {name} with min={array.min()}, max={array.max()}"
        )
    return array


@keras.saving.register_keras_serializable(package="tfllm")
class ExpectedCalibrationError(keras.metrics.Metric):
    """Top-label expected calibration error, exact over every batch since the last reset.

    Keeps three (M,) sums per confidence bin (weight, confidence and correct predictions) and
    computes `sum_m |correct_m - confidence_sum_m| / sum_m weight_m` in `result()` (module
    docstring). Compile it under `weighted_metrics` for language models so that padding, with
    weight 0, counts nothing.

    Args:
        num_bins: M, the number of equal-width confidence bins (15 default, as Guo et al. 2017).
        from_logits: whether `y_pred` holds logits (True) or probabilities (False).
        name: metric name (the logs show `ece`).
        dtype: dtype of the accumulated sums (float32 default).

    Call arguments (`update_state`):
        y_true: (...) integer labels, e.g. (B,) for a classifier or (B, T) for next tokens; a
            trailing axis of size 1 is dropped.
        y_pred: (..., C) logits or probabilities, e.g. (B, C) or (B, T, V).
        sample_weight: optional weights broadcastable to `y_true`'s shape.

    Example:

    >>> import numpy as np
    >>> metric = ExpectedCalibrationError(from_logits=False)
    >>> probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.25, 0.75], [0.25, 0.75]])
    >>> metric.update_state(np.array([0, 1, 1, 1]), probabilities)
    >>> round(float(metric.result()), 4)
    0.35
    """

    def __init__(self, num_bins=DEFAULT_NUM_BINS, from_logits=True, name="ece", dtype=None):
        super().__init__(name=name, dtype=dtype or "float32")
        self.num_bins = check_positive_int("num_bins", num_bins)
        self.from_logits = check_bool("from_logits", from_logits)
        self.bin_weight = self._bin_sums("bin_weight")
        self.confidence_sum = self._bin_sums("confidence_sum")
        self.correct_sum = self._bin_sums("correct_sum")

    def _bin_sums(self, variable_name):
        # aggregation="sum": replicas under a tf.distribute strategy add up to the same totals.
        return self.add_variable(
            shape=(self.num_bins,), initializer="zeros", dtype=self.dtype,
            aggregation="sum", name=variable_name,
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        probabilities = ops.softmax(y_pred, axis=-1) if self.from_logits else y_pred
        confidence = ops.reshape(ops.max(probabilities, axis=-1), (-1,))  # (N,)
        predicted = ops.reshape(ops.argmax(probabilities, axis=-1), (-1,))  # (N,)
        labels = ops.reshape(ops.cast(y_true, predicted.dtype), (-1,))  # (N,)
        weights = ops.reshape(token_weights(y_true, sample_weight), (-1,))  # (N,)
        correct = ops.cast(ops.equal(predicted, labels), "float32")
        index = ops.cast(ops.ceil(confidence * self.num_bins), "int32") - 1
        index = ops.clip(index, 0, self.num_bins - 1)
        one_hot = ops.one_hot(index, self.num_bins, dtype="float32")  # (N, M)
        values = ops.stack([weights, weights * confidence, weights * correct])  # (3, N)
        totals = ops.cast(ops.matmul(values, one_hot), self.dtype)  # (3, M): sums per bin
        self.bin_weight.assign_add(totals[0])
        self.confidence_sum.assign_add(totals[1])
        self.correct_sum.assign_add(totals[2])

    def result(self):
        gaps = ops.sum(ops.abs(self.correct_sum - self.confidence_sum))
        return ops.divide_no_nan(gaps, ops.sum(self.bin_weight))

    def reliability_bins(self):
        """The accumulated statistics as `ReliabilityBins` (for `save_reliability_diagram`)."""
        return _bins_from_sums(
            ops.convert_to_numpy(self.bin_weight),
            ops.convert_to_numpy(self.confidence_sum),
            ops.convert_to_numpy(self.correct_sum),
        )

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "from_logits": self.from_logits}
