"""Test helpers: the shared harness every tfllm layer and model goes through.

- `run_layer_test(layer_cls, init_kwargs, input_data, expected_output_shape=..., ...)`
- `run_model_test(model_cls, init_kwargs, input_data, expected_output_shape=..., ...)`

See `tfllm.testing.layer_test` for the list of checks, `tfllm.testing.harness_checks` for the
checks themselves.
"""

from tfllm.testing.layer_test import run_layer_test
from tfllm.testing.model_test import run_model_test

__all__ = ["run_layer_test", "run_model_test"]
