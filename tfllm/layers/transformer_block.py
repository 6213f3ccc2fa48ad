"""`TransformerBlock`: what the encoder and decoder blocks share: arguments, sublayers, the
feed-forward residual branch and the config.

Not a layer to use on its own (it is not registered): `EncoderBlock` and `DecoderBlock` subclass
it and add their attention branches. Pre-LN (`norm_first=True`) normalizes each branch's input
and leaves the residual stream alone; post-LN (`norm_first=False`, the original Transformer)
normalizes the sum after each branch. The options of current decoders (RMSNorm, a gated
feed-forward, grouped-query attention, QK-normalization, rotary embeddings) are set here, so
both kinds of block take them; `DecoderBlock` documents them.
"""

import keras

from tfllm.layers.attention_utils import check_key_value_heads
from tfllm.layers.feed_forward import FeedForward
from tfllm.layers.layer_utils import (
    get_activation,
    get_initializer,
    serialize_optional_initializer,
    static_last_dim,
)
from tfllm.layers.multi_head_attention import MultiHeadAttention
from tfllm.layers.rms_normalization import NORMALIZATIONS, normalization_layer
from tfllm.validation import (
    check_bool,
    check_choice,
    check_positive_float,
    check_positive_int,
    check_rate,
)


class TransformerBlock(keras.layers.Layer):
    """Base of `EncoderBlock` and `DecoderBlock`; the arguments are documented there."""

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        norm_first=True,
        layer_norm_epsilon=1e-5,
        activation="gelu",
        kernel_initializer="glorot_uniform",
        output_kernel_initializer=None,
        normalization="layer_norm",
        gated_feed_forward=False,
        num_key_value_heads=None,
        qk_norm=False,
        rotary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check_rate("dropout", dropout)
        self.norm_first = check_bool("norm_first", norm_first)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        self.activation = get_activation("activation", activation)
        self.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer)
        self.output_kernel_initializer = (
            None
            if output_kernel_initializer is None
            else get_initializer("output_kernel_initializer", output_kernel_initializer)
        )
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.gated_feed_forward = check_bool("gated_feed_forward", gated_feed_forward)
        self.num_key_value_heads = (
            None if num_key_value_heads is None
            else check_key_value_heads(self.num_heads, num_key_value_heads))
        self.qk_norm = check_bool("qk_norm", qk_norm)
        self.rotary = check_bool("rotary", rotary)

    def _build_sublayers(self, inputs_shape, between=None):
        """Creates and builds the self-attention and feed-forward branches' layers; `between`,
        if given, creates what sits between them (the decoder's cross-attention)."""
        self._check_width(inputs_shape)
        self.self_attention_layer_norm = self._layer_norm("self_attention_layer_norm")
        self.self_attention = self._attention("self_attention", rotary=self.rotary)
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        if between is not None:
            between()
        self.feed_forward_layer_norm = self._layer_norm("feed_forward_layer_norm")
        self.feed_forward = self._feed_forward()
        for layer in (self.self_attention_layer_norm, self.self_attention,
                      self.feed_forward_layer_norm, self.feed_forward):
            layer.build(inputs_shape)

    def _check_width(self, inputs_shape):
        width = static_last_dim("inputs", inputs_shape)
        if width % self.num_heads:
            raise ValueError(
                "The input width D must be divisible by `num_heads` (each head gets D // "
                f"num_heads features). Received: num_heads={self.num_heads}, "
                f"inputs.shape[-1]={width}"
            )

    def _layer_norm(self, name):
        # LayerNorm or RMSNorm, per `normalization`; the names stay "..._layer_norm" either way.
        return normalization_layer(
            self.normalization, self.layer_norm_epsilon, self.dtype_policy, name)

    def _attention(self, name, rotary=False):
        return MultiHeadAttention(
            num_heads=self.num_heads,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer,
            output_kernel_initializer=self.output_kernel_initializer,
            num_key_value_heads=self.num_key_value_heads,
            qk_norm=self.qk_norm,
            normalization=self.normalization,
            layer_norm_epsilon=self.layer_norm_epsilon,
            rotary=rotary,
            dtype=self.dtype_policy,
            name=name,
        )

    def _dropout(self, name):
        return keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _feed_forward(self):
        return FeedForward(
            intermediate_dim=self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer,
            output_kernel_initializer=self.output_kernel_initializer,
            gated=self.gated_feed_forward,
            dtype=self.dtype_policy,
            name="feed_forward",
        )

    def _residual(self, x, branch, layer_norm, dropout=None, training=None):
        """`x + dropout(branch(norm(x)))` (pre-LN) or `norm(x + dropout(branch(x)))` (post-LN)."""
        y = branch(layer_norm(x) if self.norm_first else x)
        if dropout is not None:
            y = dropout(y, training=training)
        x = x + y
        return x if self.norm_first else layer_norm(x)

    def _feed_forward_branch(self, x, training=None):
        return self._residual(
            x, lambda h: self.feed_forward(h, training=training), self.feed_forward_layer_norm)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "norm_first": self.norm_first,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "output_kernel_initializer": serialize_optional_initializer(
                    self.output_kernel_initializer
                ),
                "normalization": self.normalization,
                "gated_feed_forward": self.gated_feed_forward,
                "num_key_value_heads": self.num_key_value_heads,
                "qk_norm": self.qk_norm,
                "rotary": self.rotary,
            }
        )
        return config
