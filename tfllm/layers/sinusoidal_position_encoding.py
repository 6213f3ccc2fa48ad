"""`SinusoidalPositionEncoding`: fixed sine/cosine position vectors (Vaswani et al., 2017)."""

import numbers

import keras
from keras import ops

from tfllm.layers.layer_utils import static_last_dim
from tfllm.validation import check_non_negative_int, check_positive_float


@keras.saving.register_keras_serializable(package="tfllm")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed position vectors: sines and cosines of geometrically spaced wavelengths.

    For position p and feature d of D:
    `angle = p / max_wavelength ** (2 * (d // 2) / D)`, and the encoding is `sin(angle)` on
    even features and `cos(angle)` on odd ones. Wavelengths range from 2 pi to about
    `max_wavelength`, so nearby positions differ in the fast features and distant ones in the
    slow features. No weights: any position can be encoded, even past the training length.

    Args:
        max_wavelength: the longest wavelength (10000 in the original paper).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T, D) tensor; only its shape is used.
        start_index: int or scalar int tensor, the position of the first of the T steps.
        position_ids: optional (B, T) int positions; overrides `start_index` (each row of a
            left-padded batch starts at its own position 0).

    Returns:
        (B, T, D) position vectors in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import SinusoidalPositionEncoding
    >>> layer = SinusoidalPositionEncoding()
    >>> encoding = layer(np.zeros((1, 3, 4), dtype="float32"))  # (B, T, D)
    >>> encoding[0, 0].numpy().tolist()  # position 0: sin(0) = 0, cos(0) = 1
    [0.0, 1.0, 0.0, 1.0]
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = check_positive_float("max_wavelength", max_wavelength)

    def call(self, inputs, start_index=0, position_ids=None):
        if position_ids is not None:
            positions = ops.cast(position_ids, "float32")  # (B, T)
        elif isinstance(start_index, numbers.Integral):
            check_non_negative_int("start_index", start_index)
        shape = ops.shape(inputs)
        if position_ids is None:
            start_index = ops.cast(start_index, "int32")
            positions = ops.cast(ops.arange(shape[-2], dtype="int32") + start_index, "float32")
        width = static_last_dim("inputs", inputs.shape)
        features = ops.arange(width, dtype="int32")  # (D,)
        exponents = ops.cast(2 * (features // 2), "float32") / float(width)  # (D,)
        inverse_wavelengths = ops.power(self.max_wavelength, -exponents)  # (D,)
        # (T, D), or (B, T, D) with position_ids.
        angles = ops.expand_dims(positions, -1) * inverse_wavelengths
        # Sine on even features, cosine on odd ones.
        encoding = ops.where(features % 2 == 0, ops.sin(angles), ops.cos(angles))
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)  # (B, T, D)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
