"""TensorFlow for the `tfllm` commands, without the native start-up lines on stderr.

Importing TensorFlow writes about seven lines to stderr from C++ before any Python code can react
(absl's "All log messages before absl::InitializeLog() is called are written to STDERR", the
oneDNN note, "Could not find cuda drivers", the CPU-feature note; a `cuInit` error at the first
device query), and `TF_CPP_MIN_LOG_LEVEL` does not hide them. tf-text's SentencePiece logs
`normalizer.cc(51) LOG(INFO) ...` each time a model loads. A command promises that a mistake is
one line on stderr, so:

- `import_tensorflow()` imports `tensorflow` and `tensorflow_text` and lists the devices with
  file descriptor 2 pointed at /dev/null, then restores it. Every command that needs TensorFlow
  calls it first, after the checks that need no TensorFlow (`tfllm.paths`, `tfllm.config`).
- `native_stderr_hidden()` does the same around any block (loading a tokenizer or a model).

Only the native writers are hidden: while fd 2 is silenced, Python's `sys.stderr` (warnings,
logging, the command's own notes) is a stream on a copy of the real fd 2, so it still shows.
With `TFLLM_DEBUG=1` nothing is hidden.
"""

import contextlib
import os
import sys

# TensorFlow reads this once, when it loads: warnings and errors only, once started.
_TF_LOG_LEVEL = "2"

_imported = False
# (what fd 2 pointed at, a stream on a duplicate of it). Never closed: a logging handler created
# inside a silenced block keeps a reference to the stream and must stay usable afterwards.
_terminal_stderr = None


def debug_enabled():
    """True when TFLLM_DEBUG is set (and not "0"): show tracebacks and TensorFlow's own logs."""
    return os.environ.get("TFLLM_DEBUG", "") not in ("", "0")


def _writes_to_fd_2(stream):
    try:
        return stream is not None and stream.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. pytest's capture, io.StringIO
        return False


def _terminal_stream(like):
    """A stream to where fd 2 points now, for Python's writes while fd 2 itself is silenced."""
    global _terminal_stderr
    status = os.fstat(2)
    target = (status.st_dev, status.st_ino)
    if _terminal_stderr is None or _terminal_stderr[0] != target:
        stream = open(  # noqa: SIM115 (kept open for the life of the process)
            os.dup(2), "w", encoding=getattr(like, "encoding", None) or "utf-8",
            errors="backslashreplace", buffering=1,
        )
        _terminal_stderr = (target, stream)
    return _terminal_stderr[1]


@contextlib.contextmanager
def native_stderr_hidden():
    """Within the block, what C++ code writes to fd 2 goes to /dev/null; Python's does not."""
    if debug_enabled():
        yield
        return
    python_stderr = sys.stderr
    if python_stderr is not None:
        python_stderr.flush()
    swap = _writes_to_fd_2(python_stderr)
    terminal = _terminal_stream(python_stderr) if swap else None
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)
    if swap:
        sys.stderr = terminal
    try:
        yield
    finally:
        if swap:
            terminal.flush()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


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
