"""`require_free_space`: refuse a write that the disk cannot hold, before a byte of it is written.

Some writers cannot fail cleanly on a full disk. h5py, which Keras uses for `.weights.h5`, prints
hundreds of "Exception ignored" lines and can crash the interpreter (a segmentation fault)
when a write meets ENOSPC, and it leaves a truncated file where the last good one was. Asking
the file system first turns that into an ordinary `OSError(ENOSPC)` naming the file, which the
CLI reports in one line, and leaves the existing file whole.

Plain Python: importable anywhere.

Example:

>>> import tempfile
>>> directory = tempfile.mkdtemp()
>>> require_free_space(directory, 1, f"{directory}/weights.h5")
>>> try:
...     require_free_space(directory, 2**62, f"{directory}/weights.h5")
... except OSError as error:
...     print(error.strerror.split(":")[0])
No space left on device
"""

import errno
import os
import shutil
from pathlib import Path


def free_bytes(directory):
    """Bytes an unprivileged writer may still use on the file system holding `directory`.

    `directory` may not exist yet: its nearest existing ancestor is asked instead.
    """
    directory = Path(directory).absolute()
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return shutil.disk_usage(directory).free


def require_free_space(directory, needed, path):
    """Raises `OSError(ENOSPC)` naming `path` when `directory`'s disk has fewer than `needed` bytes.

    Args:
        directory: where the write goes (or an ancestor that exists).
        needed: bytes the write will add to the disk (an upper estimate).
        path: the file about to be written, named in the error.
    """
    free = free_bytes(directory)
    if needed > free:
        raise OSError(
            errno.ENOSPC,
            f"{os.strerror(errno.ENOSPC)}: writing it needs about {_size(needed)}, "
            f"{_size(free)} is free",
            str(path),
        )


def _size(count):
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count} GB"  # unreachable: the loop returns at GB
