"""`tfllm.limits`: each limit, the variable that raises it, and the messages over it."""

import doctest

import pytest

import tfllm.limits
from tfllm.errors import ConfigError
from tfllm.limits import (LIMITS, check_at_most, check_generation_rows, check_training_sizes,
                          current_limit, environment_variable)


def test_docstring_examples():
    result = doctest.testmod(tfllm.limits, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_every_limit_is_a_positive_int_raised_by_its_variable(monkeypatch):
    for name in LIMITS:
        default = current_limit(name)
        assert isinstance(default, int) and default > 0, name
        monkeypatch.setenv(environment_variable(name), str(default * 2))
        assert current_limit(name) == default * 2
        monkeypatch.delenv(environment_variable(name))


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1.5"])
def test_a_bad_variable_is_an_error_of_the_callers_class(monkeypatch, text):
    monkeypatch.setenv("TFLLM_MAX_NEW_TOKENS", text)
    with pytest.raises(ConfigError,
                       match=f"TFLLM_MAX_NEW_TOKENS must be a positive integer.*{text!r}"):
        check_at_most("train.sample_length", 5, "MAX_NEW_TOKENS", "new tokens", ConfigError)


def test_the_message_states_the_limit_and_how_to_raise_it(monkeypatch):
    with pytest.raises(ValueError) as info:
        check_at_most("max_new_tokens", 70_000, "MAX_NEW_TOKENS", "new tokens per continuation")
    assert str(info.value) == (
        "max_new_tokens=70,000 is over the limit of 65,536 new tokens per continuation; raise it "
        "with the environment variable TFLLM_MAX_NEW_TOKENS=N. Received: max_new_tokens=70000")
    monkeypatch.setenv("TFLLM_MAX_NEW_TOKENS", "70000")
    assert check_at_most("max_new_tokens", 70_000, "MAX_NEW_TOKENS", "new tokens") == 70_000


def test_generation_rows_count_beams_instead_of_sequences():
    assert check_generation_rows(4, num_return_sequences=256) == 1024
    assert check_generation_rows(4, num_return_sequences=2, num_beams=8) == 32
    with pytest.raises(ValueError, match=r"3 prompt\(s\) x num_beams 400 = 1,200 rows"):
        check_generation_rows(3, num_return_sequences=1, num_beams=400)


def test_training_sizes():
    smoke = dict(sequence_length=32, num_layers=2, num_heads=2, hidden_dim=64)
    check_training_sizes(32, smoke, sample_length=40)
    with pytest.raises(ConfigError, match="model.sequence_length=100,000 .* 8,192 positions"):
        check_training_sizes(32, dict(smoke, sequence_length=100_000), error=ConfigError)
    with pytest.raises(ConfigError, match="train.batch_size x model.sequence_length = 131,072"):
        check_training_sizes(4096, smoke, error=ConfigError)
    # 4 x 2 x 2 x 8192^2 = 2^30 attention scores, over 2^29, with 32,768 tokens in the batch.
    with pytest.raises(ConfigError, match="1,073,741,824 is over the limit of 536,870,912"):
        check_training_sizes(4, dict(smoke, sequence_length=8192), error=ConfigError)
    with pytest.raises(ConfigError, match="train.sample_length=100,000"):
        check_training_sizes(32, smoke, sample_length=100_000, error=ConfigError)
    # A model without heads (an LSTM) is bounded by its tokens per batch only.
    check_training_sizes(4, dict(sequence_length=8192, num_layers=2, hidden_dim=256))


@pytest.mark.parametrize("class_name", ["GPT", "LSTMLanguageModel"])
def test_models_refuse_a_context_over_the_limit(monkeypatch, class_name):
    from tfllm.models import GPT, LSTMLanguageModel

    cls = {"GPT": GPT, "LSTMLanguageModel": LSTMLanguageModel}[class_name]
    arguments = dict(vocabulary_size=16, num_layers=1, hidden_dim=8)
    if cls is GPT:
        arguments.update(num_heads=2, intermediate_dim=16)
    with pytest.raises(ValueError, match="sequence_length=100,000 .* TFLLM_MAX_SEQUENCE_LENGTH"):
        cls(sequence_length=100_000, **arguments)
    monkeypatch.setenv("TFLLM_MAX_SEQUENCE_LENGTH", "100000")
    assert cls(sequence_length=100_000, **arguments).sequence_length == 100_000
