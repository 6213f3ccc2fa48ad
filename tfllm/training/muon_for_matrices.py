"""Muon on the weight matrices of the hidden layers, AdamW on everything else.

Muon (Jordan et al., 2024) replaces a matrix's momentum by the nearest semi-orthogonal matrix
(five Newton-Schulz iterations), so every direction of the update has the same size. It is made
for the matrices of hidden layers; embeddings, the output head and vectors (biases, norms) are
trained by AdamW. Keras 3.15's `keras.optimizers.Muon` holds both updates; this subclass changes
which variables get which, because its own rule does not fit tfllm's layers:

- Keras gives Muon every 2-D variable and AdamW every other one. tfllm's attention projections
  are 3-D (query, key, value `(D, N, H)`, output `(N, H, D)`), so they would all get AdamW, while
  the 2-D attention biases `(N, H)` would get Muon. Here Muon takes the variables whose short
  name is in `matrix_names` (`kernel`, `recurrent_kernel`) and that have 2 or more axes, each
  orthogonalised as one matrix: `matrix_shape` folds the other axes into the rows or the columns.
- Embeddings (`"embedding"` in the path: the token and position tables, and the tied or untied
  output head of `TokenEmbedding`) get AdamW, as in Keras. So does a layer matched by
  `exclude_layers`, by default the separate output heads (`OUTPUT_LAYERS`) of the LSTM, GRU
  and classifier models.

One learning rate drives both parts: Keras scales Muon's update by `0.2 * sqrt(max(rows,
columns))` (Liu et al., 2025, "Muon is Scalable for LLM Training"), which gives it the update size
of AdamW, so the same learning rate, schedule and weight decay serve both. The AdamW part uses
Keras's `adam_beta_1`, `adam_beta_2` and `epsilon`.

Example:

>>> import keras
>>> optimizer = MuonForMatrices(learning_rate=1e-3, weight_decay=0.1, adam_weight_decay=0.1)
>>> query = keras.Variable(keras.ops.ones((8, 2, 4)), name="kernel")  # (D, N, H)
>>> optimizer.build([query])
>>> optimizer.uses_muon(query), matrix_shape((8, 2, 4)), matrix_shape((2, 4, 8))
(True, (8, 8), (8, 8))
"""

import math
import re

import keras

from tfllm.training.optimizer_additions import OptimizerAdditions

# Short variable names (exact) of the weights Muon may update.
MATRIX_NAMES = ("kernel", "recurrent_kernel")
# Layer paths (regular expressions, searched) whose matrices AdamW trains: the output heads.
# `output_projection` is the head of the LSTM, GRU and classifier models; a model's own
# top-level `output_dense` is BertClassifier's (a feed-forward block's sits deeper).
OUTPUT_LAYERS = ("output_projection/", r"^[^/]+/output_dense/")


def matrix_shape(shape):
    """`(rows, columns)` of the matrix a kernel of `shape` is orthogonalised as.

    A 2-D kernel is its own matrix. A larger one is a linear map from some of its axes to the
    others: tfllm's query kernel `(D, N, H)` maps D inputs to N x H outputs, the attention output
    `(N, H, D)` maps N x H inputs to D outputs. Of the two foldings, first axis against the rest
    and the rest against the last axis, the one nearer square is that map (the first on a tie).
    """
    shape = tuple(int(size) for size in shape)
    if len(shape) < 2:
        raise ValueError(f"A matrix needs at least 2 axes. Received: shape={shape}")
    first = (shape[0], math.prod(shape[1:]))
    last = (math.prod(shape[:-1]), shape[-1])
    return min((first, last), key=lambda rows_columns: max(rows_columns) / min(rows_columns))


@keras.saving.register_keras_serializable(package="tfllm")
class MuonForMatrices(OptimizerAdditions, keras.optimizers.Muon):
    """`keras.optimizers.Muon` for tfllm's models: Muon on hidden-layer kernels, AdamW on the rest.

    Weight decay is decoupled, `weight_decay` on the Muon part and `adam_weight_decay` on the
    AdamW part, and skips `no_decay_names` as tfllm's AdamW does.

    Args:
        matrix_names: short variable names (`variable.name`, exact) that Muon may update.
        exclude_layers: regular expressions searched in `variable.path`; matching variables get
            AdamW (default: `OUTPUT_LAYERS`).
        no_decay_names: substrings of variable names that get no weight decay.
        *args, **kwargs: as for `keras.optimizers.Muon` (`momentum`, `adam_beta_1`, ...).
    """

    def __init__(self, *args, matrix_names=MATRIX_NAMES, exclude_layers=OUTPUT_LAYERS,
                 **kwargs):
        super().__init__(*args, exclude_layers=list(exclude_layers), **kwargs)
        self.matrix_names = [str(name) for name in matrix_names]

    def uses_muon(self, variable):
        """Whether `variable` gets Muon's update (else AdamW's)."""
        return not self._should_use_adamw(variable)

    def _should_use_adamw(self, variable):
        if len(variable.shape) < 2 or variable.name not in self.matrix_names:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(pattern, variable.path) for pattern in self.exclude_layers)

    def zeropower_via_newtonschulz5(self, x, steps):
        shape = tuple(x.shape)
        matrix = keras.ops.reshape(x, matrix_shape(shape))  # (rows, columns)
        return keras.ops.reshape(super().zeropower_via_newtonschulz5(matrix, steps), shape)

    def lr_adjust(self, x):
        # Keras reads rows and columns from the first two axes; a 3-D kernel needs its matrix's.
        if self.rms_rate is None:
            return x
        return x * (math.sqrt(max(matrix_shape(x.shape))) * self.rms_rate)

    def get_config(self):
        return {**super().get_config(), "matrix_names": list(self.matrix_names)}
