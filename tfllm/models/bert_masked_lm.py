"""`BertMaskedLM`: a `BertEncoder` with BERT's masked-language-model head, for pre-training."""

import keras
from keras import ops

from tfllm.models.bert_encoder import ENCODER_ARGUMENTS, BertEncoder
from tfllm.models.model_utils import token_ids_shape, unpack_inputs

MASKED_LM_INPUT_KEYS = ("token_ids", "padding_mask", "mask_positions", "token_type_ids")


@keras.saving.register_keras_serializable(package="tfllm")
class BertMaskedLM(keras.Model):
    """Scores the original token at each masked position from the whole (masked) sequence.

    inputs -> `BertEncoder` (B, T, D) -> the vectors at `mask_positions` (B, P, D) -> Dense(D,
    gelu) -> LayerNorm -> the transposed token embedding (tied, as BERT's) + an output bias ->
    (B, P, V) float32 logits. Scoring only the P selected positions (about 15% of T) rather than
    all T saves most of the output projection, the costliest matmul of a small model with a
    large vocabulary; without "mask_positions" every position is scored, (B, T, V).

    The arguments are `BertEncoder`'s (see there); the encoder is `self.encoder`.

    Call arguments:
        inputs: dict with "token_ids" (B, T) int, optionally "padding_mask" (B, T) bool,
            "mask_positions" (B, P) int (positions to score; padding slots may hold 0 and get
            sample weight 0 from the pipeline, `tfllm.data.masked_lm_dataset`) and
            "token_type_ids" (B, T) int.
        training: bool, whether dropout is active.

    Returns:
        (B, P, V) float32 logits, or (B, T, V) without "mask_positions".

    Example:

    >>> import numpy as np
    >>> from tfllm.models import BertMaskedLM
    >>> model = BertMaskedLM(vocabulary_size=32, sequence_length=8, num_layers=1, num_heads=2,
    ...                      hidden_dim=8, intermediate_dim=16)
    >>> x = {"token_ids": np.array([[1, 5, 4, 6, 2, 0]], "int32"),
    ...      "mask_positions": np.array([[2, 0]], "int32")}
    >>> x["padding_mask"] = x["token_ids"] > 0
    >>> tuple(model(x).shape)  # (B, P, V)
    (1, 2, 32)
    """

    def __init__(
        self, vocabulary_size, sequence_length, num_layers, num_heads, hidden_dim,
        intermediate_dim, dropout=0.1, num_token_types=0, norm_first=True,
        layer_norm_epsilon=1e-12, **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = BertEncoder(
            vocabulary_size, sequence_length, num_layers, num_heads, hidden_dim,
            intermediate_dim, dropout=dropout, num_token_types=num_token_types,
            norm_first=norm_first, layer_norm_epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy, name="encoder",
        )
        for name in ENCODER_ARGUMENTS:
            setattr(self, name, getattr(self.encoder, name))
        self.head_dense = keras.layers.Dense(
            hidden_dim, activation="gelu",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy, name="head_dense",
        )
        self.head_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="head_layer_norm"
        )

    def build(self, inputs_shape):
        shape = token_ids_shape(inputs_shape)
        self.encoder.build(shape)
        hidden = (*shape, self.hidden_dim)  # (B, T, D)
        self.head_dense.build(hidden)
        self.head_layer_norm.build(hidden)
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocabulary_size,), initializer="zeros"
        )
        self.built = True

    def call(self, inputs, training=None):
        token_ids, padding_mask, mask_positions, token_type_ids = unpack_inputs(
            inputs, MASKED_LM_INPUT_KEYS
        )
        x = self.encoder(token_ids, padding_mask=padding_mask, token_type_ids=token_type_ids,
                         training=training)  # (B, T, D)
        if mask_positions is not None:
            positions = ops.cast(mask_positions, "int32")[..., None]  # (B, P, 1)
            x = ops.take_along_axis(x, positions, axis=1)  # (B, P, D)
        x = self.head_layer_norm(self.head_dense(x))  # (B, P, D)
        logits = self.encoder.token_embedding(x, reverse=True)  # (B, P, V), float32
        return logits + ops.cast(self.output_bias, "float32")

    def compute_output_shape(self, inputs_shape):
        if isinstance(inputs_shape, dict) and inputs_shape.get("mask_positions") is not None:
            return tuple(inputs_shape["mask_positions"]) + (self.vocabulary_size,)
        return token_ids_shape(inputs_shape) + (self.vocabulary_size,)

    def compute_output_spec(self, inputs, training=None):
        shapes = ({key: value.shape for key, value in inputs.items()}
                  if isinstance(inputs, dict) else inputs.shape)
        return keras.KerasTensor(self.compute_output_shape(shapes), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in ENCODER_ARGUMENTS})
        return config
