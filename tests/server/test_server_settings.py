"""The server's limits: every size bounded, the docstring examples true."""

import doctest

import pytest

import tfllm.server.generate_request
import tfllm.server.server_settings
from tfllm.errors import TfllmError
from tfllm.server import ServerSettings


@pytest.mark.parametrize("module", [tfllm.server.generate_request, tfllm.server.server_settings])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("field, value, fragment", [
    ("max_new_tokens", 10**6, "--max-new-tokens must be an integer in [1, 65,536]"),
    ("max_queue", 0, "--max-queue"),
    ("max_queue", 10**9, "--max-queue"),
    ("max_prompts", 9, "--max-prompts must be an integer in [1, 8]"),
    ("default_max_new_tokens", 2000, "--default-max-new-tokens"),
    ("max_body_bytes", 10**12, "--max-body-bytes"),
    ("batch_wait_ms", -1.0, "--batch-wait-ms"),
    ("request_timeout_s", 0.0, "--request-timeout-s"),
])
def test_each_size_is_bounded_and_the_error_names_the_flag(field, value, fragment):
    with pytest.raises(TfllmError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        ServerSettings(**{field: value})
