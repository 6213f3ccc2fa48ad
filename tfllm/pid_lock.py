"""`PidLock`: one process at a time, through a lock file that names its holder.

The lock file is created with `O_CREAT | O_EXCL`, so of two processes that try at once exactly
one succeeds. It holds the holder's pid, host, process start time and the time it was taken. A
lock whose holder has died (a kill, a crash, a lost power supply) is stale: the next process
takes it over and says so. A holder is dead when no process has its pid on this host, or when
the process with that pid started at another time than the one recorded (the pid was reused).
A lock taken on another host cannot be checked from here and counts as held.

Plain Python: importable anywhere, like `tfllm.errors`.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "lock.json"
>>> lock = PidLock(path).acquire()
>>> PidLock(path).holder()["pid"] == os.getpid()
True
>>> lock.release()
>>> path.exists()
False
"""

import json
import os
import socket
import time
from pathlib import Path

from tfllm.errors import TrainingError

# A lock file another process has just created may still be empty for a moment: an unreadable
# one counts as stale only once it is older than this.
UNREADABLE_GRACE_S = 10.0
# The lock files this process holds (resolved paths): a lock file naming this process but not
# listed here was left by an earlier use that never released it.
_HELD_HERE = set()


def process_start_time(pid):
    """The start time of process `pid` in clock ticks since boot (Linux `/proc`), or None."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def holder_is_alive(holder):
    """Whether the process recorded in lock contents `holder` still runs (True when unknown)."""
    if holder.get("host") != socket.gethostname():
        return True  # another machine's process: it cannot be checked from here
    try:
        pid = int(holder["pid"])
        os.kill(pid, 0)
    except (KeyError, TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass  # another user's process: alive
    recorded = holder.get("process_start")
    current = process_start_time(pid)
    return recorded is None or current is None or recorded == current


def describe_holder(holder):
    """'pid 123 on host h since 2025-01-01 12:00:00' (the host only when it is not this one)."""
    text = f"pid {holder.get('pid')}"
    if holder.get("host") and holder.get("host") != socket.gethostname():
        text += f" on host {holder['host']}"
    if holder.get("since"):
        text += f", since {holder['since']}"
    return text


class PidLock:
    """A lock file at `path` held by this process between `acquire` and `release`.

    Args:
        path: the lock file (its directory must exist).
        what: how an error names what is locked (e.g. "the run directory runs/x").
        print_fn: where the note about a stale lock taken over goes (None: nowhere).
    """

    def __init__(self, path, *, what=None, print_fn=print):
        self.path = Path(path)
        self.what = what or str(self.path)
        self.print_fn = print_fn
        self.held = False

    def holder(self):
        """The current lock file's contents as a dict, {} when unreadable, None when absent."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return {}
        try:
            holder = json.loads(text)
        except ValueError:
            return {}
        return holder if isinstance(holder, dict) else {}

    def is_stale(self, holder):
        """Whether lock contents `holder` (from `holder()`) belong to no running process.

        A lock that names this very process is stale unless this process still holds it."""
        this_process = (os.getpid(), socket.gethostname())
        if holder and (holder.get("pid"), holder.get("host")) == this_process:
            return os.path.realpath(self.path) not in _HELD_HERE
        if holder == {}:
            try:
                return time.time() - self.path.stat().st_mtime > UNREADABLE_GRACE_S
            except OSError:
                return True
        return not holder_is_alive(holder)

    def acquire(self):
        """Takes the lock (a stale one is taken over with a note); returns self.

        Raises:
            TrainingError: another running process holds it (the message names its pid).
        """
        for _ in range(5):  # another process may take or drop the lock between two looks
            if self._create():
                return self
            holder = self.holder()
            if holder is None:
                continue  # released in the meantime
            if not self.is_stale(holder):
                raise TrainingError(
                    f"Another tfllm job ({describe_holder(holder)}) is using {self.what}: wait "
                    f"for it to end, stop it, or choose another directory; if no such job runs, "
                    f"delete {self.path}. Received: lock={str(self.path)!r}"
                )
            if self._remove_stale(holder) and self.print_fn is not None:
                previous = describe_holder(holder) if holder else "its lock file unreadable"
                self.print_fn(f"Note: took over the lock of {self.what} from a job that no "
                              f"longer runs ({previous}).")
        raise TrainingError(f"Could not take the lock {self.path}: other processes keep taking "
                            f"and dropping it. Received: lock={str(self.path)!r}")

    def _create(self):
        contents = {"pid": os.getpid(), "host": socket.gethostname(),
                    "process_start": process_start_time(os.getpid()),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except OSError as error:
            raise TrainingError(f"Cannot create the lock file {self.path} ({error.strerror}) "
                                f"for {self.what}. Received: lock={str(self.path)!r}") from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(contents))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            os.remove(self.path)
            raise TrainingError(f"Cannot write the lock file {self.path} ({error.strerror}) "
                                f"for {self.what}. Received: lock={str(self.path)!r}") from None
        self.held = True
        _HELD_HERE.add(os.path.realpath(self.path))
        return True

    def _remove_stale(self, holder):
        """Moves the stale lock file away; False when another process changed it first."""
        aside = self.path.with_name(f".{self.path.name}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        moved = PidLock(aside).holder()
        if moved != holder and moved != {}:
            # A live process took the lock between our look and the rename: give it back.
            try:
                os.link(aside, self.path)
            except OSError:
                pass
            os.remove(aside)
            return False
        os.remove(aside)
        return True

    def release(self):
        """Removes the lock file if this process holds it."""
        if not self.held:
            return
        self.held = False
        _HELD_HERE.discard(os.path.realpath(self.path))
        holder = self.holder()
        if holder and holder.get("pid") == os.getpid():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
