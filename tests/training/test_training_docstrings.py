"""The `Example:` sections of tfllm.training's modules run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "optimizers",
    "optimizer_additions",
    "muon_for_matrices",
    "warmup_cosine_decay",
    "inverse_square_root_schedule",
    "evaluation",
    "throughput_logger",
    "text_sample_logger",
    "loss_curve_plot",
    "run_backup",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"tfllm.training.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
