"""`staged_directory(path)`: write a whole directory, then swap it into place.

Everything tfllm leaves for a user (a model directory, a serving export, a vectors directory) is
written into a hidden sibling first and renamed into place only when complete, so a crash never
leaves a half-written directory, and an existing one is replaced only by a finished one (it is
moved aside first and deleted last).

Example:

>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "out"
>>> with staged_directory(target) as staging:
...     _ = (staging / "a.txt").write_text("done")
>>> (target / "a.txt").read_text()
'done'
"""

import contextlib
import os
import shutil
import time
from pathlib import Path


@contextlib.contextmanager
def staged_directory(path, *, create=True):
    """Yields a temporary sibling of `path` to fill; on success it becomes `path`.

    Args:
        path: the destination directory (its parent is created if needed).
        create: create the staging directory (False for writers that insist on creating it,
            like `keras.export.ExportArchive.write_out`).
    If the block raises, the staging directory is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{os.getpid()}-{time.time_ns()}"
    staging = path.with_name(f".{path.name}.tmp-{stamp}")
    if create:
        staging.mkdir()
    try:
        yield staging
        retired = None
        if path.exists():
            retired = path.with_name(f".{path.name}.old-{stamp}")
            os.rename(path, retired)
        os.rename(staging, path)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful swap
