"""`SequenceClassifier`: the base of tfllm's text classifiers (one label per token sequence)."""

import keras

from tfllm.models.model_utils import token_ids_shape


class SequenceClassifier(keras.Model):
    """Base class of a model that maps a token sequence to scores for `num_classes` labels.

    A subclass maps `{"token_ids": (B, T) int, "padding_mask": (B, T) bool}` to (B, C) float32
    logits (C = `num_classes`; padded positions must change nothing) and has the attributes
    `vocabulary_size` (V), `sequence_length` (the longest T it reads) and `num_classes`.
    `tfllm.tasks` trains any such model on labelled passages with a classification loss and
    reads its probabilities as `softmax(logits)`.

    `jit_compile_by_default`: whether training uses XLA when `train.jit_compile="auto"`; a
    subclass sets it by measurement.
    """

    jit_compile_by_default = False

    def compute_output_shape(self, inputs_shape):
        batch, _ = token_ids_shape(inputs_shape)
        return (batch, self.num_classes)

    def compute_output_spec(self, inputs, *args, **kwargs):
        token_ids = inputs["token_ids"] if isinstance(inputs, dict) else inputs
        return keras.KerasTensor((token_ids.shape[0], self.num_classes), dtype="float32")
