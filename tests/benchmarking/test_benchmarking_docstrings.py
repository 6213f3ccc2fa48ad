"""The `Example:` sections of tfllm.benchmarking's modules run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "tfllm.benchmarking",
    "tfllm.benchmarking.matmul_peak",
    "tfllm.benchmarking.peak_memory",
    "tfllm.benchmarking.training_benchmark",
    "tfllm.benchmarking.benchmark_report",
    "tfllm.benchmarking.step_clock",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
