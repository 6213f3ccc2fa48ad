"""The `Example:` sections of tfllm.objectives run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "masked_cross_entropy",
    "perplexity",
    "bits_per_character",
    "bits_per_byte",
    "masked_accuracy",
    "bleu",
    "restoration_scores",
    "calibration",
    "classification_scores",
    "multiclass_hinge",
    "temperature_scaling",
    "squared_error",
    "unlikelihood",
    "weighted_objective",
    "repetition",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"tfllm.objectives.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
