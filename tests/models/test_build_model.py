"""`build_model`: a ModelConfig (registered class + arguments) to a built model; errors name the argument."""

import pytest

from tfllm.config import ModelConfig, RunConfig, apply_overrides
from tfllm.errors import ConfigError
from tfllm.models import GPT, LSTMLanguageModel, build_model, check_model_config, model_classes

GPT_TINY = dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
LSTM_TINY = dict(sequence_length=8, num_layers=1, hidden_dim=8)


@pytest.mark.parametrize("class_name, arguments, cls", [
    ("GPT", GPT_TINY, GPT), ("LSTMLanguageModel", LSTM_TINY, LSTMLanguageModel),
])
def test_builds_each_registered_class_with_weights(class_name, arguments, cls):
    model = build_model(ModelConfig(class_name, arguments), vocabulary_size=32)
    assert isinstance(model, cls) and model.built and model.count_params() > 0
    assert (model.sequence_length, model.vocabulary_size) == (8, 32)


def test_passes_every_argument_through():
    config = ModelConfig("GPT", dict(GPT_TINY, dropout=0.1, position_encoding="sinusoidal",
                                     norm_first=False, tie_embeddings=False))
    model = build_model(config, vocabulary_size=32)
    assert (model.dropout, model.position_encoding, model.norm_first, model.tie_embeddings) == (
        0.1, "sinusoidal", False, False)


def test_the_model_config_is_what_the_model_serializes():
    model = build_model(ModelConfig("GPT", GPT_TINY), vocabulary_size=32)
    assert {key: model.get_config()[key] for key in GPT_TINY} == GPT_TINY


def test_lists_tfllm_model_classes():
    assert {"GPT", "LSTMLanguageModel"} <= set(model_classes())


@pytest.mark.parametrize("override, message", [
    ("model.class_name=RNN", r"Valid classes: .*GPT.*Received: model.class_name='RNN'"),
    ("model.heads=4", r"GPT has no argument heads\. Its arguments: model.sequence_length, "
                      r".*model.num_heads.*Received: model.heads=4"),
    ("model.num_heads=3", r"`hidden_dim` must be divisible by `num_heads`.*"
                          r"Received: hidden_dim=8, num_heads=3"),
    ("model.position_encoding=alibi", r"Received: position_encoding='alibi'"),
    ("model.num_layers=0", r"Received: num_layers=0"),
    ("model.dropout=1.0", r"Received: dropout=1.0"),
    ("model.num_layers=two", r"model.num_layers' expects an int. Received: model.num_layers='two'"),
])
def test_errors_name_the_argument_and_value(override, message):
    config = RunConfig(model=ModelConfig("GPT", GPT_TINY))
    with pytest.raises(ConfigError, match=message):
        build_model(apply_overrides(config, [override]).model, vocabulary_size=32)


def test_an_argument_the_config_does_not_set_gets_the_default_type():
    config = apply_overrides(RunConfig(model=ModelConfig("GPT", GPT_TINY)),
                             ["model.layer_norm_epsilon=1e-6", "model.tie_embeddings=false"])
    checked = check_model_config(config.model).config
    assert checked["layer_norm_epsilon"] == 1e-6 and checked["tie_embeddings"] is False


def test_vocabulary_size_comes_from_the_tokenizer():
    with pytest.raises(ConfigError, match="set by the tokenizer"):
        ModelConfig("GPT", dict(GPT_TINY, vocabulary_size=10))
