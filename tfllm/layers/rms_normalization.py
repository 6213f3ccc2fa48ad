"""RMSNorm (Zhang & Sennrich, "Root Mean Square Layer Normalization", 2019) and the choice
between it and LayerNorm that tfllm's blocks and models offer as `normalization`.

RMSNorm rescales each vector by the root mean square of its features and a learned gain:
`x / sqrt(mean(x^2) + epsilon) * scale`. Unlike LayerNorm it neither subtracts the mean nor
adds a learned offset, which saves a reduction and a weight per norm; the paper reports
quality like LayerNorm's at less cost.

tfllm uses Keras's own `keras.layers.RMSNormalization` rather than a copy of it: in Keras
3.15 it computes exactly that formula, in float32 whatever the dtype policy (the mean of
squares of bfloat16 features loses too much precision), it serializes as a built-in Keras
layer (so a `.keras` file that holds one loads with `safe_mode=True`), and its gain is a
weight named `scale`, which tfllm's AdamW already leaves out of weight decay with LayerNorm's
`gamma` and `beta`.

Example:

>>> import numpy as np
>>> from tfllm.layers.rms_normalization import normalization_layer
>>> norm = normalization_layer("rms_norm", epsilon=1e-6)
>>> x = np.array([[3.0, -4.0]], "float32")  # root mean square: sqrt((9 + 16) / 2)
>>> bool(np.allclose(norm(x), x / np.sqrt(12.5), atol=1e-6))
True
>>> [w.name for w in norm.weights]
['scale']
>>> type(normalization_layer("layer_norm", epsilon=1e-5)).__name__
'LayerNormalization'
"""

import keras

from tfllm.validation import check_choice, check_positive_float

# The values of every `normalization` argument in tfllm.
NORMALIZATIONS = ("layer_norm", "rms_norm")


def normalization_layer(kind, epsilon, dtype=None, name=None):
    """A fresh normalization layer over the last axis.

    Args:
        kind: "layer_norm" (`keras.layers.LayerNormalization`: centre, rescale, learned gain
            `gamma` and offset `beta`) or "rms_norm" (`keras.layers.RMSNormalization`:
            rescale by the root mean square, learned gain `scale`).
        epsilon: added to the variance (LayerNorm) or the mean square (RMSNorm).
        dtype: the dtype policy (a block passes its own).
        name: the layer's name.
    Returns:
        An unbuilt Keras layer mapping (..., D) to (..., D).
    """
    check_choice("normalization", kind, NORMALIZATIONS)
    epsilon = check_positive_float("epsilon", epsilon)
    if kind == "rms_norm":
        return keras.layers.RMSNormalization(epsilon=epsilon, dtype=dtype, name=name)
    return keras.layers.LayerNormalization(epsilon=epsilon, dtype=dtype, name=name)
