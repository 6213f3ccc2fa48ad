"""`BertClassifier`: a `BertEncoder` with a classification head, trained from scratch or
fine-tuned from a pre-trained `BertMaskedLM`."""

import keras
from keras import ops

from tfllm.models.bert_encoder import ENCODER_ARGUMENTS, BertEncoder
from tfllm.models.model_utils import token_ids_shape, unpack_inputs
from tfllm.models.sequence_classifier import SequenceClassifier
from tfllm.validation import check_choice, check_positive_int, check_rate

POOLINGS = ("cls", "mean")
CLASSIFIER_INPUT_KEYS = ("token_ids", "padding_mask", "token_type_ids")


@keras.saving.register_keras_serializable(package="tfllm")
class BertClassifier(SequenceClassifier):
    """Scores `num_classes` labels for a token sequence with a `BertEncoder`.

    inputs -> `BertEncoder` (B, T, D) -> pooled (B, D) -> dropout -> Dense(C) -> (B, C) float32
    logits. Pooling: "mean", the average of the real positions' vectors (the default: without
    BERT's next-sentence objective nothing in masked-LM pre-training teaches the first token
    to summarise the sequence), or "cls", BERT's pooler: tanh(Dense(D)) of the vector at
    position 0, where tfllm's pipelines put the start id.

    Fine-tuning: build a `BertClassifier` with the pre-trained model's encoder arguments and
    copy them in: `classifier.encoder.set_weights(masked_lm.encoder.get_weights())`; setting
    `classifier.encoder.trainable = False` freezes the encoder (the head still trains).

    Args:
        num_classes: C, the number of labels.
        pooling: "mean" or "cls".
        classifier_dropout: dropout rate on the pooled vector.
        The other arguments are `BertEncoder`'s; the encoder is `self.encoder`.

    Call arguments:
        inputs: dict with "token_ids" (B, T) int, optionally "padding_mask" (B, T) bool and
            "token_type_ids" (B, T) int.
        training: bool, whether dropout is active.

    Returns:
        (B, C) float32 logits.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import BertClassifier
    >>> model = BertClassifier(num_classes=3, vocabulary_size=32, sequence_length=8,
    ...                        num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
    >>> token_ids = np.array([[1, 5, 6, 2, 0, 0]], "int32")
    >>> tuple(model({"token_ids": token_ids, "padding_mask": token_ids > 0}).shape)
    (1, 3)
    """

    def __init__(
        self, num_classes, vocabulary_size, sequence_length, num_layers, num_heads,
        hidden_dim, intermediate_dim, dropout=0.1, num_token_types=0, norm_first=True,
        layer_norm_epsilon=1e-12, pooling="mean", classifier_dropout=0.1, **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.classifier_dropout = check_rate("classifier_dropout", classifier_dropout)
        self.encoder = BertEncoder(
            vocabulary_size, sequence_length, num_layers, num_heads, hidden_dim,
            intermediate_dim, dropout=dropout, num_token_types=num_token_types,
            norm_first=norm_first, layer_norm_epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy, name="encoder",
        )
        for name in ENCODER_ARGUMENTS:
            setattr(self, name, getattr(self.encoder, name))
        weights = keras.initializers.RandomNormal(stddev=0.02)
        self.pooler = None
        if self.pooling == "cls":
            self.pooler = keras.layers.Dense(hidden_dim, activation="tanh",
                                             kernel_initializer=weights,
                                             dtype=self.dtype_policy, name="pooler")
        self.pooled_dropout = keras.layers.Dropout(
            classifier_dropout, dtype=self.dtype_policy, name="pooled_dropout"
        )
        self.output_dense = keras.layers.Dense(
            num_classes, kernel_initializer=weights, dtype=self.dtype_policy,
            name="output_dense",
        )

    def build(self, inputs_shape):
        shape = token_ids_shape(inputs_shape)
        self.encoder.build(shape)
        pooled = (shape[0], self.hidden_dim)  # (B, D)
        if self.pooler is not None:
            self.pooler.build(pooled)
        self.output_dense.build(pooled)
        self.built = True

    def call(self, inputs, training=None):
        token_ids, padding_mask, token_type_ids = unpack_inputs(inputs, CLASSIFIER_INPUT_KEYS)
        x = self.encoder(token_ids, padding_mask=padding_mask, token_type_ids=token_type_ids,
                         training=training)  # (B, T, D)
        pooled = self.pool(x, padding_mask)  # (B, D)
        pooled = self.pooled_dropout(pooled, training=training)
        return ops.cast(self.output_dense(pooled), "float32")  # (B, C)

    def pool(self, sequence, padding_mask=None):
        """(B, D): the pooled vector of the (B, T, D) encoder outputs."""
        if self.pooling == "cls":
            return self.pooler(sequence[:, 0])
        if padding_mask is None:
            return ops.mean(sequence, axis=1)
        weights = ops.cast(padding_mask, sequence.dtype)[..., None]  # (B, T, 1)
        total = ops.sum(sequence * weights, axis=1)  # (B, D)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in ENCODER_ARGUMENTS})
        config.update(num_classes=self.num_classes, pooling=self.pooling,
                      classifier_dropout=self.classifier_dropout)
        return config
