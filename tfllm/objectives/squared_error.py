"""The square loss for classification and next tokens, on probabilities or on raw outputs.

With integer labels y, outputs f over V classes (V the vocabulary, or C classes for a
classifier) and the one-hot target e_y, one position costs `sum_v (f_v - e_{y,v})^2`: the
regression form (f(x) - y)^2 applied to classification. `token_squared_error` offers two
choices of f:

- `on="probabilities"`: f = softmax(logits), the Brier score per token (Brier, "Verification of
  Forecasts Expressed in Terms of Probability", 1950). The softmax stays a probability model, so
  its perplexity and calibration can be scored like a cross-entropy model's, and the Brier score
  is a proper scoring rule: its expected value is lowest when the predicted distribution is the
  true one. It is bounded (0 to 2), so a confidently wrong token costs at most 2 where the
  cross-entropy is unbounded. Because sum_v e_{y,v}^2 = 1 and sum_v p_v e_{y,v} = p_y,

      brier = sum_v p_v^2 - 2 p_y + 1

  which is what is computed: nothing bigger than the (..., V) logits themselves is built.
- `on="logits"`: f = the raw logits, as in Hui and Belkin, "Evaluation of Neural Architectures
  Trained with Square Loss vs Cross-Entropy in Classification Tasks" (ICLR 2021), with their
  rescaling for many classes:

      loss = k * (f_y - M)^2 + sum_{v != y} f_v^2

  k = `scale` weighs the true class's term against the V - 1 others (whose squares otherwise
  dominate the loss and its gradient when V is large) and M = `target` is the value the true
  class's logit is pulled to, making the margin over the others (pulled to 0) larger. The paper
  uses k = M = 1 (the plain square loss) for up to about 42 classes and chooses larger k and M
  per dataset above that (it lists them). The logits are then scores, not log-probabilities:
  their softmax is not trained to be a calibrated distribution.

The Brier score takes no rescaling: with k or M other than 1 it is no longer a proper scoring
rule, so `on="probabilities"` refuses them.

Example:

>>> import numpy as np
>>> probabilities = np.array([[[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]], "float32")
>>> labels = np.array([[0, 1]])
>>> # Label 0: 0.5^2 + 0.25^2 + 0.25^2 = 0.375; label 1: 0.5^2 + 0.75^2 + 0.25^2 = 0.875.
>>> np.round(token_squared_error(labels, np.log(probabilities)).numpy(), 4)
array([[0.375, 0.875]], dtype=float32)
>>> logits = np.array([[2.0, 0.5, -1.0]], "float32")
>>> # (2 - 1)^2 + 0.5^2 + 1^2 = 2.25; rescaled: 2 * (2 - 3)^2 + 0.5^2 + 1^2 = 3.25.
>>> float(token_squared_error(np.array([0]), logits, on="logits")[0])
2.25
>>> float(token_squared_error(np.array([0]), logits, on="logits", scale=2.0, target=3.0)[0])
3.25
"""

import keras
from keras import ops

from tfllm.validation import check_choice, check_positive_float

OUTPUTS = ("probabilities", "logits")


def _check_arguments(on, scale, target):
    on = check_choice("on", on, OUTPUTS)
    scale = check_positive_float("scale", scale)
    target = check_positive_float("target", target)
    if on == "probabilities":
        for name, value in (("scale", scale), ("target", target)):
            if value != 1.0:
                raise ValueError(
                    f"`{name}` must be 1.0 with on='probabilities': the Brier score is a proper "
                    "scoring rule only without rescaling (the rescaling of Hui and Belkin, 2021, "
                    f"is for on='logits'). Received: {name}={value!r}"
                )
    return on, scale, target


def token_squared_error(labels, logits, on="probabilities", scale=1.0, target=1.0):
    """Per-token square loss against the one-hot label, computed in float32 (module docstring).

    Args:
        labels: (...) integer ids, e.g. (B, T) next tokens or (B,) classes; a trailing axis of
            size 1 is dropped. A label outside [0, V) is not checked (the op runs inside compiled
            steps) and gives a meaningless loss.
        logits: (..., V) logits in any float dtype (cast to float32 first).
        on: `"probabilities"` (the Brier score of softmax(logits)) or `"logits"` (the square loss
            on the raw logits, Hui and Belkin 2021).
        scale: k > 0, the weight of the true class's term (`on="logits"` only; 1.0 otherwise).
        target: M > 0, the value the true class's output is pulled to (`on="logits"` only).

    Returns:
        (...) float32 loss per position, e.g. (B, T).
    """
    on, scale, target = _check_arguments(on, scale, target)
    logits = ops.cast(logits, "float32")
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == len(logits.shape) and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    labels = ops.cast(labels, "int32")
    is_label = ops.one_hot(labels, ops.shape(logits)[-1], dtype="bool")  # (..., V)
    if on == "probabilities":
        outputs = ops.softmax(logits, axis=-1)  # (..., V)
    else:
        outputs = logits
    true_output = ops.sum(ops.where(is_label, outputs, 0.0), axis=-1)  # (...,): f_y
    if on == "probabilities":
        # sum_v (p_v - e_v)^2 = sum_v p_v^2 - 2 p_y + 1.
        return ops.sum(ops.square(outputs), axis=-1) - 2.0 * true_output + 1.0
    # The other classes' squares are summed with the true class masked out rather than as
    # sum_v f_v^2 - f_y^2, which cancels badly once f_y is pulled to a large M.
    others = ops.sum(ops.square(ops.where(is_label, 0.0, outputs)), axis=-1)  # (...,)
    return scale * ops.square(true_output - target) + others


@keras.saving.register_keras_serializable(package="tfllm")
class MaskedSquaredError(keras.losses.Loss):
    """The square loss on probabilities (Brier) or logits, averaged over weighted tokens.

    Per token as `token_squared_error` (module docstring); the default reduction divides by the
    sum of the weights, so the loss is `sum(w * loss) / sum(w)` and padding (weight 0) changes
    nothing. It always computes in float32, even for bfloat16 or float16 logits. Works for
    language models ((B, T) labels, (B, T, V) logits) and classifiers ((B,) labels, (B, C)
    logits) alike.

    Args:
        on: `"probabilities"` (default: the Brier score of the softmax) or `"logits"` (the square
            loss on raw logits of Hui and Belkin, 2021).
        scale: k > 0, weight of the true class's term (`on="logits"` only).
        target: M > 0, the value the true class's logit is pulled to (`on="logits"` only).
        reduction: defaults to `"mean_with_sample_weight"` (divide by the sum of the weights).
        name: name of the loss.

    Call arguments:
        y_true: (B, T) integer labels (or any leading shape (...) matching `y_pred`).
        y_pred: (B, T, V) logits (or (..., V)).
        sample_weight: (B, T) weights, 0 on padding.

    Example:

    >>> import numpy as np
    >>> loss = MaskedSquaredError()
    >>> logits = np.zeros((1, 3, 4), "float32")  # uniform: (3/4)^2 + 3 * (1/4)^2 = 0.75
    >>> float(loss(np.array([[1, 2, 0]]), logits, sample_weight=np.array([[1.0, 1.0, 0.0]])))
    0.75
    >>> loss = MaskedSquaredError(on="logits", scale=2.0, target=3.0)
    >>> float(loss(np.array([0]), np.array([[2.0, 0.5, -1.0]], "float32")))
    3.25
    """

    def __init__(
        self,
        on="probabilities",
        scale=1.0,
        target=1.0,
        reduction="mean_with_sample_weight",
        name="masked_squared_error",
        dtype=None,
    ):
        # The loss dtype must stay float32: Loss.__call__ casts both logits and labels to it.
        if dtype not in (None, "float32"):
            raise ValueError(
                "MaskedSquaredError always computes in float32 (low-precision logits are cast "
                f"up). Received: dtype={dtype!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.on, self.scale, self.target = _check_arguments(on, scale, target)

    def call(self, y_true, y_pred):
        # (B, T); the base class applies sample_weight and the reduction.
        return token_squared_error(y_true, y_pred, self.on, self.scale, self.target)

    def get_config(self):
        return {
            **super().get_config(),
            "on": self.on,
            "scale": self.scale,
            "target": self.target,
        }
