"""The Crammer-Singer multiclass hinge loss: the loss of a linear SVM over C classes.

From Crammer and Singer, "On the Algorithmic Implementation of Multiclass Kernel-based Vector
Machines" (2001). With raw scores s (no softmax) and the true class y, each example costs

    max(0, margin + max_{j != y} s_j - s_y)

so it is 0 once the true class beats every other class by at least the margin (1 by default),
and its gradient is then 0 too: examples classified with room to spare stop moving the weights.
Otherwise the gradient is -1 on s_y and +1 on the best wrong class. Keras's `"categorical_hinge"`
is the same formula on one-hot labels; this one takes integer labels, like the rest of tfllm.
"""

import keras
from keras import ops

from tfllm.validation import check_positive_float


@keras.saving.register_keras_serializable(package="tfllm")
class MulticlassHinge(keras.losses.Loss):
    """Crammer-Singer hinge on integer labels and raw scores (module docstring).

    The per-example losses go through Keras's reduction, so `sample_weight` and the default
    `"sum_over_batch_size"` (sum of w * loss over the number of examples) work as for any Keras
    loss. With a weight decay on the kernel this trains a linear SVM.

    Args:
        margin: the score gap the true class must keep over every other class (1.0 default).
        reduction: a Keras reduction: "sum_over_batch_size" (default), "sum",
            "mean_with_sample_weight" or "none".
        name: name of the loss.
        dtype: dtype of the loss computation (float32 default).

    Call arguments:
        y_true: (B,) integer labels in [0, C) (a trailing axis of size 1 is dropped); any
            leading shape (...) matching `y_pred`'s works. A label outside [0, C) is not
            checked (the op runs inside compiled steps) and gives a meaningless loss.
        y_pred: (B, C) raw scores (logits of a linear layer, not probabilities), C >= 2.
        sample_weight: optional (B,) weights.

    Example:

    >>> import numpy as np
    >>> loss = MulticlassHinge()
    >>> scores = np.array([[3.0, 1.0, 0.0], [0.5, 1.0, 0.0]], "float32")
    >>> # Row 0: 3 beats 1 by 2 >= 1, loss 0. Row 1: max(0, 1 + 1.0 - 0.5) = 1.5.
    >>> float(loss(np.array([0, 0]), scores))
    0.75
    >>> float(loss(np.array([0, 0]), scores, sample_weight=np.array([0.0, 1.0])))
    0.75
    """

    def __init__(
        self, margin=1.0, reduction="sum_over_batch_size", name="multiclass_hinge", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = check_positive_float("margin", margin)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        num_classes = y_pred.shape[-1]
        if num_classes is not None and num_classes < 2:
            raise ValueError(
                "MulticlassHinge needs at least 2 classes (scores of shape (B, C), C >= 2). "
                f"Received: y_pred.shape={y_pred.shape}"
            )
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        # Loss.__call__ has cast the labels to the loss dtype; back to ids.
        labels = ops.cast(y_true, "int32")
        is_true = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype="bool")  # (B, C)
        true_score = ops.sum(ops.where(is_true, y_pred, ops.zeros_like(y_pred)), axis=-1)  # (B,)
        # -inf hides the true class; with C >= 2 some other score is finite, so the max is too.
        best_other = ops.max(ops.where(is_true, float("-inf"), y_pred), axis=-1)  # (B,)
        return ops.relu(self.margin + best_other - true_score)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
