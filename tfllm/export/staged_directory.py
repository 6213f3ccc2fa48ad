"""`staged_directory(path)`: write a whole directory, then swap it into place.

Everything tfllm leaves for a user (a model directory, a serving export, a vectors directory, a
tokenizer) is written into a hidden sibling `.NAME.tmp-HOST-PID-TIME` first and renamed into
place only when complete, so a crash never leaves a half-written directory. An existing `path`
is moved aside to `.NAME.old-HOST-PID-TIME`, the new one renamed in, and the old one deleted
last; if the swap fails, the old one is moved back.

No sibling outlives the call, on success or failure. A sibling left by a process that was killed
(SIGKILL, a power cut) is swept by the next `staged_directory` for the same path: one whose
name carries this host and the id of a process that is no longer alive. Siblings of live
processes, and of other hosts sharing the file system, are left alone.

An OS error a user can cause (permission denied, not a directory, is a directory, no space
left, a read-only file system) becomes a one-line `OutputPathError` naming the path and the
operation; the previous directory at `path` is left as it was.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "out"
>>> with staged_directory(target) as staging:
...     _ = (staging / "a.txt").write_text("done")
>>> (target / "a.txt").read_text()
'done'
>>> sorted(p.name for p in target.parent.iterdir())
['out']
"""

import contextlib
import errno
import os
import re
import shutil
import socket
import time
from pathlib import Path

from tfllm.errors import TfllmError
from tfllm.export.output_guard import OutputPathError

# errno -> (what it means, what the user can do about it).
USER_ERRORS = {
    errno.ENOSPC: ("no space left on device", "Free space or choose another {flag}."),
    errno.EDQUOT: ("disk quota exceeded", "Free space or choose another {flag}."),
    errno.EACCES: ("permission denied", "Choose another {flag} or fix the permissions."),
    errno.EPERM: ("operation not permitted", "Choose another {flag} or fix the permissions."),
    errno.EROFS: ("read-only file system", "Choose another {flag}."),
    errno.ENOTDIR: ("a part of the path is not a directory", "Choose another {flag}."),
    errno.EISDIR: ("a directory is in the way", "Choose another {flag}."),
    errno.ENAMETOOLONG: ("file name too long", "Choose a shorter {flag}."),
}
# TensorFlow's file system raises its own errors (no errno) with the C library's wording.
_TENSORFLOW_WORDING = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "Permission denied": errno.EACCES,
    "Read-only file system": errno.EROFS,
    "Not a directory": errno.ENOTDIR,
    "Is a directory": errno.EISDIR,
}


def host_label():
    """This host's name as it appears in staging names (letters, digits and dots)."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:40] or "host"


@contextlib.contextmanager
def staged_directory(path, *, create=True, what="directory", flag="--output"):
    """Yields a temporary sibling of `path` to fill; on success it becomes `path`.

    Args:
        path: the destination directory (its parent is created if needed). Whatever is there
            is replaced: callers decide first whether it may be (`check_output_dir`).
        create: create the staging directory (False for writers that insist on creating it,
            like `keras.export.ExportArchive.write_out`).
        what: what is written ("model directory"), for error messages.
        flag: how the user named `path`, for error messages.
    If the block raises, the staging directory is removed and `path` is left as it was.
    """
    path = Path(path)
    stamp = f"{host_label()}-{os.getpid()}-{time.time_ns()}"
    staging = path.with_name(f".{path.name}.tmp-{stamp}")
    retired = path.with_name(f".{path.name}.old-{stamp}")
    with _user_errors(path, what, flag):
        _make_parent(path)
        sweep_stale_siblings(path)
        if create:
            staging.mkdir()
    try:
        with _user_errors(path, what, flag):
            yield staging
            _swap(staging, path, retired)
    finally:
        _remove(staging)
        _remove(retired)


def _make_parent(path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a part of the parent is a file: say which
        ancestor = next(p for p in path.parents if os.path.lexists(p))
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(ancestor)) from None


def _swap(staging, path, retired):
    """Moves `path` (if any) to `retired`, then `staging` to `path`; undoes the first on failure."""
    moved_aside = False
    if os.path.lexists(path):
        os.rename(path, retired)
        moved_aside = True
    try:
        os.rename(staging, path)
    except BaseException:
        if moved_aside:
            os.rename(retired, path)
        raise


def _remove(entry):
    """Deletes a file, link or directory tree if it exists; never raises."""
    try:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif os.path.lexists(entry):
            entry.unlink()
    except OSError:
        pass


def sweep_stale_siblings(path):
    """Removes `.NAME.tmp-*` / `.NAME.old-*` siblings of `path` left by dead processes on this
    host; returns the names removed.

    A process killed between its two renames leaves no `path` but its `.old-` sibling: that one
    is the previous directory, and is moved back to `path` instead of being deleted.
    """
    path = Path(path)
    pattern = re.compile(
        rf"^\.{re.escape(path.name)}\.(?P<role>tmp|old)-(?P<host>.+)-(?P<pid>\d+)-\d+$"
    )
    host, removed = host_label(), []
    try:
        siblings = sorted(os.scandir(path.parent), key=lambda entry: entry.name)
    except OSError:
        return removed
    for sibling in siblings:
        match = pattern.match(sibling.name)
        if not match or match["host"] != host or _is_alive(int(match["pid"])):
            continue
        if match["role"] == "old" and not os.path.lexists(path):
            with contextlib.suppress(OSError):  # kept where it is if it cannot be moved back
                os.rename(sibling.path, path)
            continue
        _remove(Path(sibling.path))
        removed.append(sibling.name)
    return removed


def _is_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or a pid we cannot ask about: leave it
    return True


@contextlib.contextmanager
def _user_errors(path, what, flag):
    try:
        yield
    except Exception as error:
        code = None if isinstance(error, TfllmError) else user_errno(error)
        if code is None:
            raise
        meaning, advice = USER_ERRORS[code]
        name = errno.errorcode.get(code, str(code))
        where = _named_file(error, path)
        raise OutputPathError(
            f"Cannot write the {what} {path}: {meaning} ({name}{where}). "
            f"{advice.format(flag=flag)}"
        ) from error


def _named_file(error, path):
    """`": FILE"` for an error about a file outside tfllm's own siblings of `path`, else ""."""
    filename = getattr(error, "filename", None)
    if not filename or Path(filename) == path:
        return ""
    if any(part.startswith(f".{path.name}.") for part in Path(filename).parts):
        return ""  # the staging or backup sibling: its name means nothing to the user
    return f": {filename}"


def user_errno(error):
    """The errno of a user-fixable OS error in `error` or its causes, else None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in USER_ERRORS:
            return error.errno
        if type(error).__module__.startswith("tensorflow"):
            for wording, code in _TENSORFLOW_WORDING.items():
                if wording in str(error):
                    return code
        error = error.__cause__ or error.__context__
    return None
