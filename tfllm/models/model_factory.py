"""`build_model`: a `tfllm.config.ModelConfig` in, a built language model out."""

import numpy as np

from tfllm.errors import ConfigError
from tfllm.models.gpt import GPT
from tfllm.models.lstm_language_model import LSTMLanguageModel

ARCHITECTURES = ("gpt", "lstm")


def build_model(model_config, vocabulary_size):
    """Builds the model that `model_config` describes, with its weights created.

    Args:
        model_config: a `tfllm.config.ModelConfig`.
        vocabulary_size: V, the tokenizer's vocabulary size.
    Returns:
        a built `GPT` or `LSTMLanguageModel` (called once on a dummy batch). Create it inside
        `strategy.scope()` to place its variables under a distribution strategy.
    Raises:
        ConfigError: an unknown architecture (the message lists the valid ones) or an invalid
            field, named as `model.<field>` with its value.

    Example:

    >>> from tfllm.config import ModelConfig
    >>> from tfllm.models import build_model
    >>> model = build_model(ModelConfig(sequence_length=8, num_layers=1, num_heads=2,
    ...                                 hidden_dim=8, intermediate_dim=32), vocabulary_size=32)
    >>> type(model).__name__, model.sequence_length
    ('GPT', 8)
    """
    config = model_config
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(
            f"Unknown model architecture. Valid architectures: {', '.join(ARCHITECTURES)}. "
            f"Received: model.architecture={config.architecture!r}"
        )
    try:
        if config.architecture == "gpt":
            model = GPT(
                vocabulary_size=vocabulary_size,
                sequence_length=config.sequence_length,
                num_layers=config.num_layers,
                num_heads=config.num_heads,
                hidden_dim=config.hidden_dim,
                intermediate_dim=config.intermediate_dim,
                dropout=config.dropout,
                position_encoding=config.position_encoding,
                norm_first=config.norm_first,
                tie_embeddings=config.tie_embeddings,
            )
        else:
            model = LSTMLanguageModel(
                vocabulary_size=vocabulary_size,
                hidden_dim=config.hidden_dim,
                num_layers=config.num_layers,
                dropout=config.dropout,
                sequence_length=config.sequence_length,
            )
    except ValueError as error:
        # The layers name their own arguments; in a config they are `model.<name>` fields
        # (except vocabulary_size, which comes from the tokenizer).
        message = str(error)
        for field in ("sequence_length", "num_layers", "num_heads", "hidden_dim",
                      "intermediate_dim", "dropout", "position_encoding"):
            message = message.replace(f"`{field}`", f"model.{field}").replace(
                f" {field}=", f" model.{field}="
            )
        raise ConfigError(message) from error
    # (B, T) = (1, 2): one tiny call creates every weight (T = 2 keeps Keras from warning
    # about a softmax over a single key).
    dummy = np.zeros((1, min(2, config.sequence_length)), dtype="int32")
    model({"token_ids": dummy, "padding_mask": dummy == 0}, training=False)
    return model
