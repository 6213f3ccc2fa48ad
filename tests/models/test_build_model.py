"""`build_model`: a ModelConfig to a built model, and config errors that name the field."""

import dataclasses

import pytest

from tfllm.config import ModelConfig
from tfllm.errors import ConfigError
from tfllm.models import GPT, LSTMLanguageModel, build_model

TINY = ModelConfig(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
                   intermediate_dim=16)


@pytest.mark.parametrize("architecture, cls", [("gpt", GPT), ("lstm", LSTMLanguageModel)])
def test_builds_each_architecture_with_weights(architecture, cls):
    model = build_model(dataclasses.replace(TINY, architecture=architecture), vocabulary_size=32)
    assert isinstance(model, cls) and model.built and model.count_params() > 0
    assert (model.sequence_length, model.vocabulary_size) == (8, 32)


def test_passes_every_field_through():
    config = dataclasses.replace(TINY, dropout=0.1, position_encoding="sinusoidal",
                                 norm_first=False, tie_embeddings=False)
    model = build_model(config, vocabulary_size=32)
    assert (model.dropout, model.position_encoding, model.norm_first, model.tie_embeddings) == (
        0.1, "sinusoidal", False, False)


@pytest.mark.parametrize("override, message", [
    ({"architecture": "rnn"}, "Valid architectures: gpt, lstm. Received: model.architecture='rnn'"),
    ({"hidden_dim": 10, "num_heads": 4},
     "model.hidden_dim must be divisible by model.num_heads.*"
     "Received: model.hidden_dim=10, model.num_heads=4"),
    ({"position_encoding": "rope"}, "Received: model.position_encoding='rope'"),
    ({"num_layers": 0}, "Received: model.num_layers=0"),
    ({"dropout": 1.0}, "Received: model.dropout=1.0"),
])
def test_config_errors_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        build_model(dataclasses.replace(TINY, **override), vocabulary_size=32)


def test_lstm_ignores_the_attention_only_fields():
    config = dataclasses.replace(TINY, architecture="lstm", num_heads=3)  # 8 % 3 != 0
    assert isinstance(build_model(config, vocabulary_size=32), LSTMLanguageModel)
