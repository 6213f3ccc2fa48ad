"""Every `Example:` in tfllm.layers runs and shows what it claims."""

import doctest
import importlib

import pytest

MODULES = [
    "attention_utils", "token_embedding", "position_embedding", "sinusoidal_position_encoding",
    "multi_head_attention", "feed_forward", "decoder_block", "encoder_block",
    "rotary_embedding", "rms_normalization",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"tfllm.layers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
