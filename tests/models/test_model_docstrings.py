"""Every `Example:` in tfllm.models and tfllm.testing runs and shows what it claims."""

import doctest
import importlib

import pytest

MODULES = ["tfllm.models.gpt", "tfllm.models.lstm_language_model", "tfllm.models.model_factory",
           "tfllm.models.gru_seq2seq", "tfllm.models.encoder_decoder_transformer",
           "tfllm.models.attention_maps", "tfllm.testing.layer_test",
           "tfllm.models.lstm_classifier", "tfllm.models.bag_of_words_classifier"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
