"""The `Example:` sections of the distribution, resume and numerics modules run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "strategies",
    "precision",
    "training_checkpoint",
    "custom_training_loop",
    "accumulated_step_schedule",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"tfllm.training.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
