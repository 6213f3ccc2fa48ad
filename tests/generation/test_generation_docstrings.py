"""The `Example:` sections of tfllm.generation's modules run as written."""

import doctest
import importlib

import pytest

MODULES = ["cached_decoder", "decode_spec", "decoding_options", "source_inputs"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"tfllm.generation.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
