"""TensorFlow for the `tfllm` commands, without the native start-up lines on stderr.

Importing TensorFlow writes about seven lines to stderr from C++ before any Python code can react
(absl's "All log messages before absl::InitializeLog() is called are written to STDERR", the
oneDNN note, "Could not find cuda drivers", the CPU-feature note; a `cuInit` error at the first
device query), and `TF_CPP_MIN_LOG_LEVEL` does not hide them. A command promises that a mistake is
one line on stderr, so `import_tensorflow()` imports `tensorflow` and `tensorflow_text` and lists
the devices inside `tfllm.native_stderr.native_stderr_hidden()` (fd 2 at /dev/null, Python's own
stderr output kept). Every command that needs TensorFlow calls it first, after the checks that
need no TensorFlow (`tfllm.paths`, `tfllm.config`). Later native writes are the library's to
hide where it triggers them (the SentencePiece tokenizers do). With `TFLLM_DEBUG=1` nothing is
hidden.
"""

import os

from tfllm.native_stderr import debug_enabled, native_stderr_hidden

# TensorFlow reads this once, when it loads: warnings and errors only, once started.
_TF_LOG_LEVEL = "2"

_imported = False


def import_tensorflow():
    """Imports TensorFlow and tf-text quietly (once per process) and returns `tensorflow`.

    Call it first in every command that needs TensorFlow, after the checks that do not.
    """
    global _imported
    if not debug_enabled():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", _TF_LOG_LEVEL)
    if not _imported:
        with native_stderr_hidden():
            import tensorflow as tf
            import tensorflow_text  # noqa: F401  (registers the tf-text ops tokenizers use)

            tf.config.list_physical_devices()  # the first device query logs the cuInit error
        _imported = True
    import tensorflow as tf

    return tf
