"""`write_text_atomically`, `write_bytes_atomically`: a file is either the old one or the new one.

A crash, a kill or a full disk in the middle of a write leaves the previous file untouched: the
bytes go to a hidden temporary sibling in the same directory (so the rename cannot cross file
systems), are flushed to disk, and `os.replace` swaps the sibling into place in one step. On any
failure the sibling is removed. Whole directories use `tfllm.export.staged_directory`.

Plain Python: importable anywhere.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "config.json"
>>> _ = write_text_atomically(path, "{}")
>>> path.read_text()
'{}'
"""

import os
from pathlib import Path


def write_bytes_atomically(path, data):
    """Writes `data` (bytes) to `path` through a temporary sibling; returns the `Path`."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def write_text_atomically(path, text, encoding="utf-8"):
    """Writes `text` to `path` through a temporary sibling; returns the `Path`."""
    return write_bytes_atomically(path, text.encode(encoding))
