"""Numerics: `train.precision` = float32 | mixed_bfloat16 | mixed_float16.

Mixed precision computes in 16 bits and keeps the variables in float32 (Keras dtype policies).
Logits and losses stay float32: tfllm's models end in a float32 projection (`GPT` and the LSTM
model return float32 logits under every policy; `test_precision.py` checks it) and
`MaskedCrossEntropy` computes in float32.

float16 has a narrow exponent range, so small gradients underflow to 0. Keras's
`LossScaleOptimizer` multiplies the loss by a dynamic scale before differentiating and divides
the gradients by it before the update, skipping (and halving the scale on) steps whose gradients
are not finite. bfloat16 has float32's range and needs no scaling.

Example:

>>> import keras
>>> with dtype_policy("mixed_bfloat16"):
...     layer = keras.layers.Dense(4)
>>> layer.compute_dtype, layer.variable_dtype
('bfloat16', 'float32')
"""

import contextlib

import keras

from tfllm.errors import ConfigError

# precision -> the dtype that matrix products run in
PRECISIONS = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def check_precision(precision):
    """Returns `precision` when it is one of `PRECISIONS`, else raises `ConfigError`."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"train.precision must be one of {', '.join(PRECISIONS)}. "
            f"Received: train.precision={precision!r}"
        )
    return precision


@contextlib.contextmanager
def dtype_policy(precision):
    """Sets Keras's global dtype policy to `precision` for layers built inside the block.

    The previous policy is restored on exit, so a mixed-precision run leaves nothing behind for
    the next model a notebook builds.
    """
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_optimizer_for_precision(optimizer, precision):
    """`optimizer` wrapped in a dynamic `keras.optimizers.LossScaleOptimizer` under float16.

    Keras's `compile` does this itself for a model with a mixed_float16 policy; doing it here
    makes the `fit` path and the custom loop use the same optimizer object.
    """
    check_precision(precision)
    if precision != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
