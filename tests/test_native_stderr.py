"""`native_stderr_hidden`: C++ writes to fd 2 are dropped, Python's own stderr output is kept.

Run in a fresh process, where `sys.stderr` is file descriptor 2 as for a user (under pytest it is
a capture object).
"""

import doctest
import os
import subprocess
import sys

import tfllm.native_stderr

SCRIPT = """
import logging, os, sys, warnings
from tfllm.native_stderr import native_stderr_hidden

with native_stderr_hidden():
    os.write(2, b"native inside\\n")
    print("python inside", file=sys.stderr)
    warnings.warn("a warning that matters")
    logging.getLogger("tfllm.data").warning("a logged warning")
    with native_stderr_hidden():
        os.write(2, b"native nested\\n")
        print("python nested", file=sys.stderr)
    os.write(2, b"native after nested\\n")
os.write(2, b"native after\\n")
print("python after", file=sys.stderr)
assert "tensorflow" not in sys.modules
"""


def _stderr(env_extra):
    env = {key: value for key, value in os.environ.items() if key != "TFLLM_DEBUG"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=60, env={**env, **env_extra})
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_native_writes_are_hidden_and_python_output_is_kept_in_order():
    stderr = _stderr({})
    assert "native inside" not in stderr and "native nested" not in stderr
    assert "native after nested" not in stderr
    order = ["python inside", "a warning that matters", "a logged warning", "python nested",
             "native after", "python after"]
    positions = [stderr.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), stderr


def test_debug_shows_native_writes():
    stderr = _stderr({"TFLLM_DEBUG": "1"})
    assert "native inside" in stderr and "native nested" in stderr


def test_debug_enabled_reads_the_environment_at_each_call(monkeypatch):
    monkeypatch.delenv("TFLLM_DEBUG", raising=False)
    assert not tfllm.native_stderr.debug_enabled()
    monkeypatch.setenv("TFLLM_DEBUG", "0")
    assert not tfllm.native_stderr.debug_enabled()
    monkeypatch.setenv("TFLLM_DEBUG", "1")
    assert tfllm.native_stderr.debug_enabled()


def test_docstring_examples():
    result = doctest.testmod(tfllm.native_stderr)
    assert result.attempted > 0 and result.failed == 0
