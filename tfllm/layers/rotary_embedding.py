"""`RotaryEmbedding`: rotary position embeddings for queries and keys (RoPE; Su et al.,
"RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021)."""

import numbers

import keras
from keras import ops

from tfllm.layers.layer_utils import static_last_dim
from tfllm.validation import check_non_negative_int, check_positive_float


@keras.saving.register_keras_serializable(package="tfllm")
class RotaryEmbedding(keras.layers.Layer):
    """Rotates each head's features by angles proportional to the token's position.

    The H features of a head form H/2 pairs; pair i of the vector at position p is rotated by
    the angle `p * max_wavelength ** (-2 i / H)`. A rotation preserves lengths, and the dot
    product of a query rotated at position m with a key rotated at position n depends on
    their contents and on m - n only, so attention sees relative positions while each vector
    is encoded at its absolute position (a KV cache keeps keys rotated once, at their own
    positions). Pairs are (i, i + H/2), the two halves of the head (the GPT-NeoX layout,
    which needs no interleaving); the paper's adjacent pairs (2i, 2i + 1) are the same
    rotation under a fixed permutation of the projection's features. There are no weights,
    and the rotation is computed in float32 whatever the dtype policy: in bfloat16 the angles
    of positions past a few hundred would lose their fractional part.

    Args:
        max_wavelength: the base of the angles; the slowest pair turns once in about
            `2 pi * max_wavelength` positions (10000 in the paper).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T, N, H) queries or keys, split into heads; H must be even.
        start_index: int or scalar int tensor, the position of the first of the T steps.
        position_ids: optional (B, T) int positions; overrides `start_index` (each row of a
            left-padded batch starts at its own position 0).

    Returns:
        (B, T, N, H) rotated vectors in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers.rotary_embedding import RotaryEmbedding
    >>> rope = RotaryEmbedding()
    >>> rng = np.random.default_rng(0)
    >>> query, key = rng.normal(size=(2, 1, 1, 1, 4)).astype("float32")  # (B, T, N, H) each
    >>> def score(query_position, key_position):
    ...     q = rope(query, start_index=query_position)
    ...     k = rope(key, start_index=key_position)
    ...     return float(np.sum(q * k))
    >>> bool(np.isclose(score(5, 3), score(9, 7), atol=1e-5))  # only m - n matters
    True
    >>> bool(np.isclose(score(5, 3), score(3, 3), atol=1e-5))
    False
    >>> bool(np.allclose(rope(query), query))  # position 0 is not rotated
    True
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = check_positive_float("max_wavelength", max_wavelength)

    def build(self, inputs_shape):
        self._check_head_size(inputs_shape)

    def call(self, inputs, start_index=0, position_ids=None):
        head_size = self._check_head_size(inputs.shape)
        if position_ids is not None:
            positions = ops.cast(position_ids, "float32")  # (B, T)
        else:
            if isinstance(start_index, numbers.Integral):
                check_non_negative_int("start_index", start_index)
            start_index = ops.cast(start_index, "int32")
            steps = ops.arange(ops.shape(inputs)[1], dtype="int32") + start_index  # (T,)
            positions = ops.expand_dims(ops.cast(steps, "float32"), 0)  # (1, T)
        half = head_size // 2
        exponents = ops.arange(half, dtype="float32") / float(half)  # (H/2,): 2i / H
        inverse_wavelengths = ops.power(self.max_wavelength, -exponents)  # (H/2,)
        # (B or 1, T, 1, H/2): one angle per position and pair, the same for every head.
        angles = ops.expand_dims(ops.expand_dims(positions, -1) * inverse_wavelengths, 2)
        cos, sin = ops.cos(angles), ops.sin(angles)
        x = ops.cast(inputs, "float32")
        first, second = x[..., :half], x[..., half:]  # (B, T, N, H/2) each
        rotated = ops.concatenate(
            [first * cos - second * sin, second * cos + first * sin], axis=-1
        )  # (B, T, N, H)
        return ops.cast(rotated, self.compute_dtype)

    def _check_head_size(self, shape):
        head_size = static_last_dim("inputs", shape)
        if head_size % 2:
            raise ValueError(
                "Rotary embeddings rotate pairs of features, so the head size H (the last "
                f"dimension) must be even. Received: inputs.shape={tuple(shape)}"
            )
        return head_size

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
