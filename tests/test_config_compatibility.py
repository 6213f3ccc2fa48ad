"""Configs written before a model was its own config still load, as the same model."""

import json

import pytest

from tfllm.config import ModelConfig, RunConfig
from tfllm.errors import ConfigError

LEGACY_GPT = {
    "architecture": "gpt", "sequence_length": 128, "num_layers": 4, "num_heads": 4,
    "hidden_dim": 128, "intermediate_dim": 512, "dropout": 0.0, "position_encoding": "learned",
    "norm_first": True, "tie_embeddings": False,
}
LEGACY_LSTM = dict(LEGACY_GPT, architecture="lstm", num_layers=2, hidden_dim=256)


def test_a_legacy_gpt_section_becomes_its_class_and_arguments():
    config = RunConfig.from_dict({"name": "old", "model": LEGACY_GPT})
    assert config.model == ModelConfig("GPT", {k: v for k, v in LEGACY_GPT.items()
                                               if k != "architecture"})
    assert config.task == "causal_lm"


def test_a_legacy_lstm_section_keeps_only_the_lstm_arguments():
    config = RunConfig.from_dict({"model": LEGACY_LSTM})
    assert config.model == ModelConfig("LSTMLanguageModel", {
        "sequence_length": 128, "num_layers": 2, "hidden_dim": 256, "dropout": 0.0})


def test_the_new_form_round_trips_through_json():
    config = RunConfig(model=ModelConfig("GPT", {"num_layers": 2}))
    assert RunConfig.from_dict(json.loads(config.to_json())) == config


def test_an_unknown_model_key_is_named():
    with pytest.raises(ConfigError, match=r"\['model.layers'\]"):
        RunConfig.from_dict({"model": {"class_name": "GPT", "layers": 2}})
