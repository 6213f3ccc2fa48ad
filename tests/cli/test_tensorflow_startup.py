"""`native_stderr_hidden`: C++ writes to fd 2 are dropped, Python's own stderr output is kept.

Run in a fresh process, where `sys.stderr` is file descriptor 2 as for a user (under pytest it is
a capture object). Starting TensorFlow quietly is checked by the first case of
test_cli_errors.py's `tensorflow_errors`.
"""

import os
import subprocess
import sys

SCRIPT = """
import logging, os, sys, warnings
from tfllm.cli.tensorflow_startup import native_stderr_hidden

with native_stderr_hidden():
    os.write(2, b"native inside\\n")
    print("python inside", file=sys.stderr)
    warnings.warn("a warning that matters")
    logging.getLogger("tfllm.data").warning("a logged warning")
os.write(2, b"native after\\n")
print("python after", file=sys.stderr)
"""


def _stderr(env_extra):
    env = {key: value for key, value in os.environ.items() if key != "TFLLM_DEBUG"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=60, env={**env, **env_extra})
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_native_writes_are_hidden_and_python_output_is_kept_in_order():
    stderr = _stderr({})
    assert "native inside" not in stderr
    order = ["python inside", "a warning that matters", "a logged warning", "native after",
             "python after"]
    positions = [stderr.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), stderr


def test_debug_shows_native_writes():
    assert "native inside" in _stderr({"TFLLM_DEBUG": "1"})
