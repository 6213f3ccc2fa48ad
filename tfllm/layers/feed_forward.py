"""`FeedForward`: the position-wise two-layer MLP of a Transformer block."""

import keras
from keras import ops

from tfllm.layers.layer_utils import (
    clone_initializer,
    get_activation,
    get_initializer,
    serialize_optional_initializer,
    static_last_dim,
)
from tfllm.validation import check_bool, check_positive_int, check_rate


@keras.saving.register_keras_serializable(package="tfllm")
class FeedForward(keras.layers.Layer):
    """Position-wise MLP: widen to `intermediate_dim`, apply the activation, project back.

    Every position is transformed independently with the same weights:
    `dropout(activation(x W1 + b1) W2 + b2)`, (B, T, D) -> (B, T, intermediate_dim) -> (B, T, D).
    The dropout at the end is the residual-branch dropout of GPT-2's MLP.

    Gated (`gated=True`; Shazeer, "GLU Variants Improve Transformer", 2020): the inner layer is
    the product of an activated gate and a linear projection,
    `dropout((activation(x W + b) * (x V + c)) W2 + b2)`; with `activation="silu"` this is
    SwiGLU, with "gelu" GeGLU. W and V are one fused (D, 2 * intermediate_dim) kernel (the
    gate's columns first), which is one matrix product instead of two. `intermediate_dim` is
    the width of each of the two halves, so a gated MLP has 3 D F weights against 2 D F for
    the plain one; nothing is rescaled for you: to match the weights of a plain MLP of width F,
    pass about 2 F / 3 (the paper's and LLaMA's choice).

    Args:
        intermediate_dim: width of the inner layer, usually 4 * D (of each half when gated).
        activation: activation of the inner layer (name or callable); "gelu" as in GPT-2. When
            gated, the activation of the gate ("silu" for SwiGLU).
        dropout: dropout rate on the output.
        gated: use a gated linear unit as the inner layer.
        kernel_initializer: initializer for the inner kernel.
        output_kernel_initializer: initializer for the output kernel; defaults to
            `kernel_initializer`. GPT-2 scales it down with depth (see `tfllm.models.GPT`).
        bias_initializer: initializer for both biases.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T, D) tensor.
        training: bool, whether dropout is active.

    Returns:
        (B, T, D) tensor in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import FeedForward
    >>> layer = FeedForward(intermediate_dim=32)
    >>> tuple(layer(np.zeros((2, 4, 8), dtype="float32")).shape)
    (2, 4, 8)
    >>> swiglu = FeedForward(intermediate_dim=32, activation="silu", gated=True)
    >>> tuple(swiglu(np.zeros((2, 4, 8), dtype="float32")).shape)
    (2, 4, 8)
    >>> tuple(swiglu.intermediate_dense.kernel.shape)  # (D, 2F): gate and linear halves
    (8, 64)
    """

    def __init__(
        self,
        intermediate_dim,
        activation="gelu",
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        output_kernel_initializer=None,
        bias_initializer="zeros",
        gated=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.activation = get_activation("activation", activation)
        self.dropout = check_rate("dropout", dropout)
        self.gated = check_bool("gated", gated)
        self.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer)
        self.output_kernel_initializer = (
            None
            if output_kernel_initializer is None
            else get_initializer("output_kernel_initializer", output_kernel_initializer)
        )
        self.bias_initializer = get_initializer("bias_initializer", bias_initializer)

    def build(self, inputs_shape):
        width = static_last_dim("inputs", inputs_shape)
        inner_width = 2 * self.intermediate_dim if self.gated else self.intermediate_dim
        self.intermediate_dense = keras.layers.Dense(
            inner_width,  # (B, T, D) -> (B, T, intermediate_dim), or (B, T, 2F) gated
            # A gated layer activates only its gate half, in `call`.
            activation=None if self.gated else self.activation,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.output_dense = keras.layers.Dense(
            width,  # (B, T, intermediate_dim) -> (B, T, D)
            kernel_initializer=clone_initializer(
                self.output_kernel_initializer or self.kernel_initializer
            ),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.output_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="output_dropout"
        )
        self.intermediate_dense.build(inputs_shape)
        self.output_dense.build((*inputs_shape[:-1], self.intermediate_dim))

    def call(self, inputs, training=None):
        hidden = self.intermediate_dense(inputs)  # (B, T, intermediate_dim), or (B, T, 2F)
        if self.gated:
            gate, linear = ops.split(hidden, 2, axis=-1)  # (B, T, F) each
            hidden = self.activation(gate) * linear  # (B, T, F)
        outputs = self.output_dense(hidden)  # (B, T, D)
        return self.output_dropout(outputs, training=training)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "output_kernel_initializer": serialize_optional_initializer(
                    self.output_kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "gated": self.gated,
            }
        )
        return config
