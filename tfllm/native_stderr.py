"""Hide what C++ code writes to stderr (file descriptor 2), keep what Python writes.

TensorFlow writes about seven lines to fd 2 when it is imported, and tf-text's SentencePiece
writes `normalizer.cc(51) LOG(INFO) ...` each time it loads a model; neither can be turned off
from Python (`TF_CPP_MIN_LOG_LEVEL` does not hide them). The `tfllm` commands promise that a
mistake is one line on stderr, so the code that triggers such writes runs inside
`native_stderr_hidden()`: fd 2 points at /dev/null for the block, while Python's `sys.stderr`
(warnings, logging, a command's own notes) is swapped for a stream on a copy of the real fd 2,
so it still shows. With `TFLLM_DEBUG=1` (`debug_enabled()`) nothing is hidden.

Plain Python (importable anywhere, like `tfllm.config` and `tfllm.errors`).

Example:

>>> import os
>>> with native_stderr_hidden():
...     _ = os.write(2, b"dropped unless TFLLM_DEBUG=1\\n")
"""

import contextlib
import os
import sys

# (what fd 2 pointed at, a stream on a duplicate of it). Never closed: a logging handler created
# inside a silenced block keeps a reference to the stream and must stay usable afterwards.
_terminal_stderr = None


def debug_enabled():
    """True when TFLLM_DEBUG is set (and not "0"): show tracebacks and native libraries' logs."""
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
    """Within the block, what C++ code writes to fd 2 goes to /dev/null; Python's does not.

    Blocks nest. fd 2 is per process, so keep the block around the native call only: another
    thread's native writes during it are lost too.
    """
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
