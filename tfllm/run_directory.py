"""The life of a run directory: what an existing one holds, who may use it, what becomes of it.

`inspect_run_dir(path)` reads a run directory without changing it and names its state:

    new         absent, or empty
    foreign     files but no config.json: not a run directory tfllm wrote; refused
    resumable   a checkpoint of an unfinished run: the same config resumes it, another is refused
    trained     training finished and its checkpoint is kept until the model is saved: the same
                config goes straight to the final evaluation and the save
    completed   the model was saved (or `train()` finished): the next run sets it aside
    unfinished  a run with no checkpoint (it stopped before its first one, or an older tfllm
                left it): the next run sets it aside

`RunDirectory` follows one run through it. `open` checks the state and takes the lock (one job
per run directory: `tfllm.pid_lock`; only the chief of a multi-worker job takes it). Nothing is
written before `start`, which is called once the corpus, the tokenizer and the model are ready:
it sets a completed or unfinished previous run aside (moved to `RUN.previous-<time>`, or, when
it holds only the set-up files, removed), then writes `config.json` and `status.json`.
`mark_trained` records that training ended, `complete` that the model is saved: it removes the
checkpoints. `release` drops the lock, and removes the directory if this run created it and
never started.

`interruption_note(path)` says what an interrupted run left, for the message printed on Ctrl-C.

Plain Python: the CLI calls `check_run_dir` before importing TensorFlow.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> run_dir = Path(tempfile.mkdtemp()) / "run"
>>> inspect_run_dir(run_dir).state
'new'
>>> directory = RunDirectory(run_dir, print_fn=None).open({"name": "demo"})
>>> directory.start()
>>> inspect_run_dir(run_dir).state  # started, no checkpoint yet
'unfinished'
>>> directory.complete()
>>> directory.release()
>>> inspect_run_dir(run_dir).state, sorted(p.name for p in run_dir.iterdir())
('completed', ['config.json', 'status.json'])
"""

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

from tfllm.atomic_files import write_text_atomically
from tfllm.errors import ConfigError, TrainingError
from tfllm.pid_lock import PidLock

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
LOCK_FILE = "lock.json"
BACKUP_DIR = "backup"  # loop=fit: keras.callbacks.BackupAndRestore
CHECKPOINT_DIR = "checkpoints"  # loop=custom: tfllm.training.TrainingCheckpoint
# What `start` writes before training: a run dir holding only these never trained.
_SET_UP_FILES = {CONFIG_FILE, STATUS_FILE, "tokenizer"}


def default_run_dir(name):
    """The run directory of a run named `name` when none is given: runs/NAME."""
    return Path("runs") / name


@dataclasses.dataclass(frozen=True)
class RunState:
    """What `inspect_run_dir` found (see the module docstring for each `state`)."""

    path: Path
    state: str
    config: dict = None  # the config.json it holds
    checkpoint: Path = None  # backup/ or checkpoints/, when it holds a checkpoint
    epoch: int = None  # epochs done at the fit loop's checkpoint, when known
    model_dir: str = None  # where a completed run saved its model, when known

    @property
    def resumable(self):
        return self.state in ("resumable", "trained")

    @property
    def epochs(self):
        """The run's planned number of epochs (evaluation intervals), from its config."""
        train = (self.config or {}).get("train", {})
        try:
            return int(train["steps"]) // int(train["eval_interval"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None


def _read_json(path):
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _checkpoint(path):
    """(directory, epochs done or None) of the checkpoint in run directory `path`, or
    (None, None) when it holds none."""
    backup = path / BACKUP_DIR
    if (backup / "latest.weights.h5").is_file() or (backup / "latest.weights.h5.bkp").is_file():
        metadata = _read_json(backup / "training_metadata.json") or {}
        epoch = metadata.get("epoch")
        return backup, epoch if isinstance(epoch, int) else None
    checkpoints = path / CHECKPOINT_DIR
    if checkpoints.is_dir() and any(checkpoints.glob("ckpt-*.index")):
        return checkpoints, None
    return None, None


def inspect_run_dir(path):
    """Reads run directory `path` and returns its `RunState`; changes nothing."""
    path = Path(path)
    entries = set(os.listdir(path)) - {LOCK_FILE} if path.is_dir() else set()
    if not entries:
        return RunState(path, "new")
    if CONFIG_FILE not in entries:
        return RunState(path, "foreign")
    config = _read_json(path / CONFIG_FILE) or {}
    status = _read_json(path / STATUS_FILE) or {}
    checkpoint, epoch = _checkpoint(path)
    if status.get("state") == "completed":
        state = "completed"
    elif checkpoint is not None:
        state = "trained" if status.get("state") == "trained" else "resumable"
    else:
        state = "unfinished"
    return RunState(path, state, config=config, checkpoint=checkpoint, epoch=epoch,
                    model_dir=status.get("model_dir"))


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def changed_keys(previous, config):
    """The dotted keys (`train.steps`, `model.num_layers`) whose values differ between two
    config dicts (a model argument is named as `--set` names it: `model.ARG`)."""
    old, new = _flatten(previous), _flatten(config)
    keys = sorted(key for key in set(old) | set(new) if old.get(key, None) != new.get(key, None))
    return [key.replace("model.config.", "model.", 1) for key in keys]


def check_run_dir(path, config, *, compare_model=True, check_lock=True):
    """Raises unless a run of `config` (a `RunConfig.to_dict()`) may use run directory `path`.

    `compare_model=False` leaves the model section out of the comparison (the CLI checks before
    model arguments given as text are converted; `train` compares everything).
    `check_lock=False` skips the lock (the other workers of a multi-worker job share the
    directory their chief locked).

    Returns:
        the `RunState`.
    Raises:
        ConfigError: `path` holds files tfllm did not write, or a resumable run of another config
            (the message lists the changed keys).
        TrainingError: another running job holds the run directory's lock.
    """
    if os.path.lexists(path) and not Path(path).is_dir():
        raise ConfigError(f"--run-dir must be a directory; {path} is a file. Choose another "
                          f"--run-dir. Received: run_dir={str(path)!r}")
    state = inspect_run_dir(path)
    if state.state == "foreign":
        raise ConfigError(
            f"The run directory {path} holds files but no {CONFIG_FILE}, so tfllm did not write "
            f"it; tfllm leaves it alone. Choose a new or empty --run-dir. "
            f"Received: run_dir={str(path)!r}"
        )
    lock = PidLock(Path(path) / LOCK_FILE, what=f"the run directory {path}", print_fn=None)
    holder = lock.holder() if check_lock else None
    if holder is not None and not lock.is_stale(holder):
        lock.acquire()  # raises the one-line error naming the holder
    if state.resumable:
        previous = dict(state.config)
        config = json.loads(json.dumps(config))  # tuples become lists, as in the file
        if not compare_model:
            previous.pop("model", None)
            config = {key: value for key, value in config.items() if key != "model"}
        changed = changed_keys(previous, config)
        if changed:
            raise ConfigError(
                f"The run directory {path} holds an unfinished run with a different config "
                f"(changed: {', '.join(changed)}). Resume it with the same settings, or choose "
                f"a new --run-dir. Received: run_dir={str(path)!r}"
            )
    return state


def _aside_path(path):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.previous-{stamp}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.previous-{stamp}-{number}")
        number += 1
    return candidate


class RunDirectory:
    """One run's use of its run directory: check, lock, start, finish, release.

    Args:
        path: the run directory.
        print_fn: where one-line notes go (a previous run set aside, a stale lock taken over);
            None: nowhere.
    """

    def __init__(self, path, *, print_fn=print):
        self.path = Path(path)
        self.print_fn = print_fn or (lambda _: None)
        self.state = None  # the RunState found by `open`
        self.config = None
        self.chief = True
        self.started = False
        self._lock = None
        self._created = []  # directories `open` created, deepest first

    @property
    def resumable(self):
        """Whether the run directory held a checkpoint to resume from when opened."""
        return self.state is not None and self.state.resumable

    def open(self, config, *, chief=True):
        """Checks the directory for `config` (a `RunConfig.to_dict()`) and, on the chief, takes
        its lock. Writes nothing but the lock file. Returns self (see `check_run_dir`)."""
        if self.state is not None:
            return self
        self.config, self.chief = config, chief
        self.state = check_run_dir(self.path, config, check_lock=chief)
        if chief:
            missing = self.path.absolute()
            while not missing.exists():
                self._created.append(missing)
                missing = missing.parent
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise TrainingError(f"Cannot create the run directory {self.path} "
                                    f"({error.strerror}). Received: run_dir={str(self.path)!r}"
                                    ) from None
            self._lock = PidLock(self.path / LOCK_FILE, what=f"the run directory {self.path}",
                                 print_fn=self.print_fn).acquire()
            # Another process may have changed the directory before the lock was ours.
            self.state = check_run_dir(self.path, config, check_lock=False)
        return self

    def start(self):
        """The run begins: sets a previous completed or unfinished run aside and writes
        `config.json` and `status.json` (chief only; a no-op elsewhere)."""
        if self.started:
            return
        self.started = True
        if not self.chief:
            return
        if self.state.state in ("completed", "unfinished"):
            self._set_aside()
        self._write(CONFIG_FILE, json.dumps(self.config, indent=2, sort_keys=True))
        self._write_status("training")

    def _set_aside(self):
        entries = sorted(set(os.listdir(self.path)) - {LOCK_FILE},
                         key=lambda name: (name in (CONFIG_FILE, STATUS_FILE), name))
        what = ("a completed run" + (f" (its model is in {self.state.model_dir})"
                                      if self.state.model_dir else "")
                if self.state.state == "completed"
                else "a run with no checkpoint to resume from")
        try:
            if set(entries) <= _SET_UP_FILES and self.state.state == "unfinished":
                for name in entries:
                    target = self.path / name
                    shutil.rmtree(target) if target.is_dir() else target.unlink()
                listed = ", ".join(sorted(entries))
                self.print_fn(f"The run directory {self.path} held only the set-up files of "
                              f"a run that never trained ({listed}): removed them.")
                return
            aside = _aside_path(self.path)
            aside.mkdir()
            # config.json and status.json move last: a run directory interrupted half-way
            # through still says what it is.
            for name in entries:
                os.rename(self.path / name, aside / name)
        except OSError as error:
            raise TrainingError(
                f"Cannot set aside the previous run in {self.path} ({error.strerror}: "
                f"{error.filename}). Received: run_dir={str(self.path)!r}") from None
        self.print_fn(f"The run directory {self.path} held {what}: moved it to {aside}.")

    def _write_status(self, state, **extra):
        status = {"state": state, "pid": os.getpid(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                  **extra}
        self._write(STATUS_FILE, json.dumps(status, indent=2))

    def _write(self, name, text):
        try:
            write_text_atomically(self.path / name, text)
        except OSError as error:
            raise TrainingError(
                f"Cannot write {self.path / name} ({error.strerror}): free space or fix the "
                f"permissions, then run the same command again. "
                f"Received: run_dir={str(self.path)!r}") from None

    def mark_trained(self):
        """Records that training ended; its checkpoint stays until `complete`."""
        if self.chief and self.started:
            self._write_status("trained")

    def complete(self, model_dir=None):
        """Records that the run is complete (its model saved to `model_dir`, if given) and
        removes its checkpoints: nothing is left to resume."""
        if not (self.chief and self.started):
            return
        extra = {"model_dir": str(model_dir)} if model_dir is not None else {}
        self._write_status("completed", **extra)
        for name in (BACKUP_DIR, CHECKPOINT_DIR):
            shutil.rmtree(self.path / name, ignore_errors=True)

    def release(self):
        """Drops the lock; a directory this run created but never started is removed."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if not self.started:
            for created in self._created:
                try:
                    created.rmdir()  # only when empty: a directory someone else filled stays
                except OSError:
                    break
        self._created = []


def interruption_note(path, *, started=True):
    """One sentence on what an interrupted run left in run directory `path`, read from the disk
    now so that it is true when printed. `started`: whether the interrupted run had reached
    `RunDirectory.start` (before it, the directory is as the previous run left it)."""
    found = inspect_run_dir(path)
    if found.state == "resumable":
        where = (f"the checkpoint after epoch {found.epoch} of {found.epochs}"
                 if found.epoch is not None and found.epochs else "the last checkpoint")
        resume = f"run the same command again to resume from {where} in {found.checkpoint}."
    elif found.state == "trained":
        resume = (f"training had finished and its checkpoint in {found.checkpoint} is kept: run "
                  f"the same command again to evaluate and save the model.")
    else:
        resume = None
    if not started:
        if found.state == "new":
            return f"The run had not started: nothing was written to {path}."
        return f"The run had not started; {resume or f'{path} is as it was.'}"
    if resume:
        return resume[0].upper() + resume[1:]
    if found.state == "completed":
        saved = f" and its model is saved in {found.model_dir}" if found.model_dir else ""
        return f"The run in {path} had completed{saved}."
    if found.state == "unfinished":
        return ("No checkpoint had been written yet (one is written every train.eval_interval "
                "steps), so there is nothing to resume: the same command starts over and moves "
                "this partial run aside.")
    return ""
