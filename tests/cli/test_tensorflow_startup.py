"""`import_tensorflow`: TensorFlow's native start-up lines are hidden, unless TFLLM_DEBUG=1.

The quiet case is checked by the first case of test_cli_errors.py's `tensorflow_errors` (one
line on stderr); the fd-2 silencer itself by tests/test_native_stderr.py.
"""

import os
import subprocess
import sys

SCRIPT = """
import os, sys
from tfllm.cli.tensorflow_startup import import_tensorflow
tf = import_tensorflow()
assert import_tensorflow() is tf and "tensorflow_text" in sys.modules
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


def test_debug_shows_the_start_up_lines():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120, env={**env, "TFLLM_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    # Debugging leaves TensorFlow's own log level alone, and its lines on stderr.
    assert result.stdout.strip() == "None"
    assert result.stderr.strip(), "TensorFlow wrote nothing to stderr at start-up"
